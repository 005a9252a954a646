"""Decide whether an OpenPGP key belongs to a configured `key-name` (SPEC section 9)."""

from __future__ import annotations

import re

_USER_ID = re.compile(
    r"^(?P<name>[^(<]*?)\s*(?:\((?P<comment>[^)]*)\))?\s*(?:<(?P<email>[^>]*)>)?$"
)
_HEX = re.compile(r"^[0-9A-F]+$")
LONG_KEY_ID_LENGTH = 16


def user_id_names(user_id: str) -> set[str]:
    """Return the names a user id answers to, case-folded.

    For `Acme Corp (backup) <backup@acme.example>` these are the whole user id, `acme corp`,
    `backup@acme.example` and `backup`. A bare e-mail address as user id counts as the e-mail.
    """
    user_id = user_id.strip()
    names = {user_id}
    match = _USER_ID.match(user_id)
    name = match.group("name") if match else ""
    email = match.group("email") if match else None
    if email is None and "@" in user_id and " " not in user_id:
        name, email = "", user_id
    names.add(name.strip())
    if email:
        names.add(email.strip())
        names.add(email.strip().partition("@")[0])
    return {value.casefold() for value in names if value}


def normalize_fingerprint(text: str) -> str:
    """Return `text` as an upper-case hex string without spaces or `0x`, or "" if it is not hex."""
    value = re.sub(r"\s+", "", text).upper().removeprefix("0X")
    return value if _HEX.match(value) else ""


def key_matches(key_name: str, fingerprint: str, user_ids: tuple[str, ...]) -> bool:
    """Tell whether `key_name` names the key: a user id part, its fingerprint or long key id."""
    wanted = key_name.strip().casefold()
    if not wanted:
        return False
    if any(wanted in user_id_names(user_id) for user_id in user_ids):
        return True
    hex_name = normalize_fingerprint(key_name)
    if not hex_name:
        return False
    fingerprint = fingerprint.upper()
    if hex_name == fingerprint:
        return True
    # A long key id (the fingerprint's last 16 digits) is unambiguous enough; short ids are not.
    return len(hex_name) == LONG_KEY_ID_LENGTH and fingerprint.endswith(hex_name)
