"""Prove that loaded private keys open what loaded public keys encrypt (check, rekey).

A sample is encrypted to the public key(s) and decrypted with the private key(s): the one test
that says two configs hold one key pair, before anything depends on it.
"""

from __future__ import annotations

from contextlib import closing

from ports.decryptor import DecryptionKeys
from ports.encryptor import Recipients
from ports.errors import DecryptionError

SAMPLE = b"long-term-storage check: the private key opens what the public key encrypts\n"


def sample_problem(recipients: Recipients, keys: DecryptionKeys) -> str | None:
    """Return why `keys` do not open a sample encrypted to `recipients`, or None when they do.

    Raises:
        EncryptionError: the sample cannot be encrypted.
    """
    with closing(recipients.encrypt([SAMPLE])) as cipher:
        message = b"".join(cipher)
    try:
        with closing(keys.decrypt([message])) as plain:
            opened = b"".join(plain)
    except DecryptionError as exc:
        return (
            "the restore config's private key cannot decrypt what the public key encrypts "
            f"(are they one key pair?): {exc}"
        )
    if opened != SAMPLE:
        return "the private key decrypts the sample to something else"
    return None
