"""The SignatureChecker port: check detached signatures against the trusted keys (SPEC 14)."""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class SignatureStatus(StrEnum):
    """What a signature says about the data it was checked against."""

    GOOD = "good"
    """Made by a trusted key over exactly these bytes."""
    BAD = "bad"
    """Made by a trusted key, but over other bytes: the data was changed after signing."""
    UNTRUSTED = "untrusted"
    """Made by a key that is not among the trusted keys (it cannot be checked)."""
    INVALID = "invalid"
    """Not a usable signature: damaged, not a signature, or made by a revoked key."""


@dataclass(frozen=True, slots=True)
class SignatureCheck:
    """The verdict on one signature: its status, who made it and a one-line detail.

    `signer` is the signing key's primary fingerprint for a good signature, the key id (or
    fingerprint) the signature names otherwise, or "" when the signature names none.
    """

    status: SignatureStatus
    signer: str = ""
    detail: str = ""

    @property
    def good(self) -> bool:
        """Tell whether the signature is good."""
        return self.status is SignatureStatus.GOOD


class TrustedKeys(Protocol):
    """The loaded trusted public keys: check signatures with them until `close`.

    `check` may be called from several threads at once; `close` is safe to call twice.
    """

    @property
    @abstractmethod
    def fingerprints(self) -> tuple[str, ...]:
        """Return the primary fingerprints of the trusted keys."""

    @abstractmethod
    def check(self, data: bytes, signature: bytes) -> SignatureCheck:
        """Check the detached signature `signature` of `data`.

        A signature that does not verify is a verdict, not an error; SigningError is raised
        only when gpg itself cannot run.
        """

    @abstractmethod
    def close(self) -> None:
        """Remove the throw-away keyring holding the trusted keys."""


class SignatureChecker(Protocol):
    """Load the trusted public keys (the master config's `[signing] trusted_keys`)."""

    @abstractmethod
    def load(self) -> TrustedKeys:
        """Import every trusted key file into a throw-away keyring (never the user's).

        Raises SigningError with a one-line reason when a file is missing or holds no usable
        public key (or holds secret key material); nothing is left behind when it raises.
        """

    @abstractmethod
    def close_all(self) -> None:
        """Close every TrustedKeys this checker loaded that is still open (a last guard)."""
