"""Parse gpg's machine-readable key listings (`--with-colons --fixed-list-mode`).

The format is described in GnuPG's doc/DETAILS. Only the fields this package needs are read:
the record type, the validity, the expiry (field 7, epoch seconds, empty for never), the
capabilities and, for `fpr` and `uid` records, field 10.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

PRIMARY_RECORDS = frozenset({"pub", "sec"})
SUBKEY_RECORDS = frozenset({"sub", "ssb"})
SECRET_RECORDS = frozenset({"sec", "ssb"})
UNUSABLE_VALIDITY = frozenset({"e", "r", "i", "d"})
"""Expired, revoked, invalid, disabled (doc/DETAILS, field 2)."""

_ESCAPE = re.compile(rb"\\x([0-9a-fA-F]{2})")


@dataclass(slots=True)
class SubkeyListing:
    """One subkey of a listed key."""

    validity: str
    capabilities: str
    secret: bool
    fingerprint: str = ""
    expires: int | None = None
    """Epoch seconds; None when the subkey never expires."""


@dataclass(slots=True)
class KeyListing:
    """One primary key with its user ids and subkeys, as gpg lists it."""

    validity: str
    capabilities: str
    secret: bool
    fingerprint: str = ""
    user_ids: list[tuple[str, str]] = field(default_factory=list)
    """(validity, user id) pairs, the user id unescaped."""
    subkeys: list[SubkeyListing] = field(default_factory=list)
    expires: int | None = None
    """Epoch seconds; None when the primary key never expires."""

    @property
    def holds_secret(self) -> bool:
        """Tell whether the primary key or any subkey carries secret material."""
        return self.secret or any(subkey.secret for subkey in self.subkeys)

    @property
    def valid_user_ids(self) -> tuple[str, ...]:
        """Return the user ids that are not revoked, expired or invalid."""
        return tuple(uid for validity, uid in self.user_ids if validity not in UNUSABLE_VALIDITY)

    @property
    def can_encrypt(self) -> bool:
        """Tell whether gpg would encrypt to this key.

        gpg marks the usable capabilities of the whole key, accounting for expired and revoked
        subkeys, with upper-case letters on the primary record; the subkey check is a second guard.
        """
        if self.validity in UNUSABLE_VALIDITY or "E" not in self.capabilities:
            return False
        keys = [(self.validity, self.capabilities)]
        keys += [(subkey.validity, subkey.capabilities) for subkey in self.subkeys]
        return any(v not in UNUSABLE_VALIDITY and "e" in caps.lower() for v, caps in keys)

    @property
    def encryption_expires(self) -> int | None:
        """Return when the key stops encrypting (epoch seconds), or None for never.

        That is the primary key's expiry or, earlier, the expiry of the last usable
        encryption (sub)key.
        """
        return self._expires_for("e")

    @property
    def can_sign(self) -> bool:
        """Tell whether gpg would sign with this key (upper-case `S` on the primary record)."""
        if self.validity in UNUSABLE_VALIDITY or "S" not in self.capabilities:
            return False
        keys = [(self.validity, self.capabilities)]
        keys += [(subkey.validity, subkey.capabilities) for subkey in self.subkeys]
        return any(v not in UNUSABLE_VALIDITY and "s" in caps.lower() for v, caps in keys)

    @property
    def signing_expires(self) -> int | None:
        """Return when the key stops signing (epoch seconds), or None for never."""
        return self._expires_for("s")

    def _expires_for(self, capability: str) -> int | None:
        usable = [
            expires
            for validity, caps, expires in (
                (self.validity, self.capabilities, self.expires),
                *((sub.validity, sub.capabilities, sub.expires) for sub in self.subkeys),
            )
            # The lower-case letters are the (sub)key's own capabilities.
            if validity not in UNUSABLE_VALIDITY and capability in caps
        ]
        if not usable or None in usable:
            return self.expires
        last = max(expires for expires in usable if expires is not None)
        return last if self.expires is None else min(last, self.expires)


def unescape(value: str) -> str:
    r"""Decode gpg's `\xHH` escapes (colons, backslashes, control bytes) in a colon field."""
    raw = _ESCAPE.sub(lambda match: bytes([int(match.group(1), 16)]), value.encode("utf-8"))
    return raw.decode("utf-8", errors="replace")


def parse_listing(text: str) -> list[KeyListing]:
    """Parse a colon listing into its primary keys, in listing order."""
    keys: list[KeyListing] = []
    last: KeyListing | SubkeyListing | None = None
    for line in text.splitlines():
        fields = line.split(":")
        kind = fields[0]
        fields += [""] * (13 - len(fields))
        if kind in PRIMARY_RECORDS:
            key = KeyListing(
                fields[1], fields[11], secret=kind in SECRET_RECORDS, expires=_epoch(fields[6])
            )
            keys.append(key)
            last = key
        elif kind in SUBKEY_RECORDS and keys:
            subkey = SubkeyListing(
                fields[1], fields[11], secret=kind in SECRET_RECORDS, expires=_epoch(fields[6])
            )
            keys[-1].subkeys.append(subkey)
            last = subkey
        elif kind == "fpr" and last is not None and not last.fingerprint:
            last.fingerprint = fields[9].upper()
        elif kind == "uid" and keys:
            keys[-1].user_ids.append((fields[1], unescape(fields[9])))
    return keys


def _epoch(value: str) -> int | None:
    # Field 7 is epoch seconds in --fixed-list-mode; an ISO form (with a 'T') is not expected.
    return int(value) if value.isdigit() else None
