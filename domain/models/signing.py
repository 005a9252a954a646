"""How signatures are judged and where the operator's signing key lives (SPEC 14)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath


@dataclass(frozen=True, slots=True)
class SigningPolicy:
    """What verify and rekey judge a run's signature by (`[signing] require`).

    With `require`, a run without a signature is a Failure; without it, a warning in the log.
    """

    require: bool = False


UNREQUIRED = SigningPolicy()
"""Signatures checked when present, a missing one only a warning."""


@dataclass(frozen=True, slots=True)
class SigningKeyFiles:
    """Where create_client --signing writes the operator's signing key and its public half.

    `secret` is `[signing] key_file`; `public` sits beside it, for `[signing] trusted_keys` and
    for anyone who checks a signature with plain gpg. None when no key_file is configured.
    """

    secret: PurePath | None = None

    @property
    def public(self) -> PurePath | None:
        """Return `<key_file without its suffix>.pub.asc` beside the key file."""
        if self.secret is None:
            return None
        return self.secret.with_name(f"{self.secret.stem}.pub.asc")
