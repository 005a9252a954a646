"""InMemorySigner and InMemorySignatureChecker: a transparent stand-in for OpenPGP signatures.

A signature is one armoured-looking block naming the signer's fingerprint and the sha256 of the
data, so a changed byte, another signer or a damaged block read as a real checker reads them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime

from ports.errors import SigningError
from ports.signature_checker import SignatureCheck, SignatureChecker, SignatureStatus, TrustedKeys
from ports.signer import Signer, SigningKey, SigningKeyInfo

SIGNING_FINGERPRINT = "5" * 40
_BEGIN = b"-----BEGIN PGP SIGNATURE-----\n"
_END = b"-----END PGP SIGNATURE-----\n"


def signature_of(fingerprint: str, data: bytes) -> bytes:
    """Return the in-memory signature `fingerprint` makes of `data`."""
    digest = hashlib.sha256(data).hexdigest()
    return _BEGIN + f"{fingerprint}:{digest}\n".encode() + _END


class InMemorySigningKey(SigningKey):
    """A loaded 'signing key' until closed."""

    def __init__(self, signer: InMemorySigner) -> None:
        self._signer = signer
        self.closed = False

    @property
    def info(self) -> SigningKeyInfo:
        """Return the made-up key facts."""
        return SigningKeyInfo(self._signer.fingerprint, ("lts signing",), self._signer.expires)

    def sign(self, data: Iterable[bytes]) -> bytes:
        """Return the signature of the joined chunks, or raise the signer's `sign_error`."""
        if self.closed:
            raise SigningError("the signing key was closed")
        content = b"".join(data)
        if self._signer.sign_error is not None:
            raise self._signer.sign_error
        self._signer.signed.append(content)
        return signature_of(self._signer.fingerprint, content)

    def close(self) -> None:
        """Forget the key."""
        if not self.closed:
            self.closed = True
            self._signer.open.remove(self)


class InMemorySigner(Signer):
    """Hands out a signing key of `fingerprint`; `error` makes loading fail.

    `sign_error` makes signing fail; `expires` is the key's expiry; `signed` lists what was
    signed; `open` the keys not closed yet.
    """

    def __init__(
        self,
        *,
        fingerprint: str = SIGNING_FINGERPRINT,
        expires: datetime | None = None,
        error: SigningError | None = None,
        sign_error: SigningError | None = None,
    ) -> None:
        self.fingerprint = fingerprint
        self.expires = expires
        self.error = error
        self.sign_error = sign_error
        self.signed: list[bytes] = []
        self.open: list[InMemorySigningKey] = []
        self.loads = 0

    def load(self) -> InMemorySigningKey:
        """Return a signing key, or raise `error`."""
        if self.error is not None:
            raise self.error
        self.loads += 1
        key = InMemorySigningKey(self)
        self.open.append(key)
        return key

    def close_all(self) -> None:
        """Close every key still open."""
        for key in list(self.open):
            key.close()


class InMemoryTrustedKeys(TrustedKeys):
    """Checks in-memory signatures against the trusted fingerprints until closed."""

    def __init__(self, checker: InMemorySignatureChecker) -> None:
        self._checker = checker
        self.closed = False

    @property
    def fingerprints(self) -> tuple[str, ...]:
        """Return the trusted fingerprints."""
        return self._checker.trusted

    def check(self, data: bytes, signature: bytes) -> SignatureCheck:
        """Judge `signature` as gpg would: damaged, untrusted, bad or good."""
        if self.closed:
            raise SigningError("the trusted keys were closed")
        body = signature.removeprefix(_BEGIN).removesuffix(_END).decode(errors="replace")
        fingerprint, _, digest = body.strip().partition(":")
        if not signature.startswith(_BEGIN) or not digest:
            return SignatureCheck(SignatureStatus.INVALID, detail="not an OpenPGP signature")
        if fingerprint not in self._checker.trusted:
            return SignatureCheck(SignatureStatus.UNTRUSTED, fingerprint, "not a trusted key")
        if digest != hashlib.sha256(data).hexdigest():
            return SignatureCheck(SignatureStatus.BAD, fingerprint, "the signed data was changed")
        return SignatureCheck(SignatureStatus.GOOD, fingerprint)

    def close(self) -> None:
        """Forget the keys."""
        if not self.closed:
            self.closed = True
            self._checker.open.remove(self)


class InMemorySignatureChecker(SignatureChecker):
    """Trusts the signatures of `trusted` fingerprints; `error` makes loading fail."""

    def __init__(
        self,
        *,
        trusted: Iterable[str] = (SIGNING_FINGERPRINT,),
        error: SigningError | None = None,
    ) -> None:
        self.trusted = tuple(trusted)
        self.error = error
        self.open: list[InMemoryTrustedKeys] = []

    def load(self) -> InMemoryTrustedKeys:
        """Return the trusted keys, or raise `error`."""
        if self.error is not None:
            raise self.error
        keys = InMemoryTrustedKeys(self)
        self.open.append(keys)
        return keys

    def close_all(self) -> None:
        """Close every set of keys still open."""
        for keys in list(self.open):
            keys.close()
