"""GpgSignatureChecker: check detached OpenPGP signatures with the `gpg` binary (SPEC 14).

The trusted public keys (`[signing] trusted_keys`, and the public half of the host's own
`[signing] key_file`) are imported into a throw-away GNUPGHOME under the work root holding
nothing else, so a signature by any other key reads as untrusted; `check` runs `gpg --verify` on
a detached signature and reads gpg's machine-readable status lines (GnuPG's doc/DETAILS). Tested
against the real gpg in tests/integration/test_signing.py and tests/contract/test_signing.py.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from adapters.gpg.decryptor import SecretKeyring
from adapters.gpg.handles import (
    KeyringHandle,
    OpenHandles,
    disposed_on_failure,
    new_keyring,
    read_key_file,
)
from adapters.gpg.keyring import ThrowAwayKeyring, imported_fingerprints
from adapters.process.leftovers import Leftovers
from domain.models.redaction import Redactor
from ports.errors import EncryptionError, SigningError
from ports.signature_checker import SignatureCheck, SignatureChecker, SignatureStatus, TrustedKeys

_MISSING_KEY = "9"
"""ERRSIG's return code for "no public key" (doc/DETAILS)."""


class GpgTrustedKeys(KeyringHandle[ThrowAwayKeyring], TrustedKeys):
    """The trusted public keys, alone in a throw-away keyring: check signatures until `close`."""

    def __init__(
        self,
        keyring: ThrowAwayKeyring,
        fingerprints: tuple[str, ...],
        on_close: Callable[[GpgTrustedKeys], None] = lambda _: None,
    ) -> None:
        super().__init__(keyring, on_close)
        self._fingerprints = fingerprints

    @property
    def fingerprints(self) -> tuple[str, ...]:
        """Return the primary fingerprints of the trusted keys."""
        return self._fingerprints

    def check(self, data: bytes, signature: bytes) -> SignatureCheck:
        """Check a detached signature of `data` with `gpg --verify`, read from its status lines.

        Raises:
            SigningError: the keys were closed, or gpg cannot run.
        """
        if self._closed:
            raise SigningError("the trusted keys were closed")
        # gpg reads a detached signature from a file and the data from stdin; the signature is
        # public, so a file in the private keyring directory is fine.
        fd, name = tempfile.mkstemp(prefix="signature-", suffix=".asc", dir=self.homedir)
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(signature)
            try:
                result = self._keyring.run(
                    "--status-fd", "1", "--trust-model", "always", "--verify", name, "-", stdin=data
                )
            except EncryptionError as exc:
                raise SigningError(str(exc)) from None
        finally:
            Path(name).unlink(missing_ok=True)
        status = result.stdout.decode("utf-8", errors="replace")
        return verdict(status, result.stderr.decode("utf-8", errors="replace"))


class GpgSignatureChecker(SignatureChecker):
    """Import the trusted public key files into a throw-away keyring of their own.

    With `signing_key_file` (the host's own `[signing] key_file`), the public half of the host's
    signing key is trusted too, so a host checks what it signed without listing its own key.
    """

    def __init__(
        self,
        trusted_keys: Sequence[Path],
        work_root: Path,
        redactor: Redactor,
        gpg_binary: str = "gpg",
        signing_key_file: Path | None = None,
        leftovers: Leftovers | None = None,
    ) -> None:
        self._signing_key_file = signing_key_file
        self._leftovers = leftovers
        self._files = tuple(trusted_keys)
        self._work_root = work_root
        self._redactor = redactor
        self._gpg_binary = gpg_binary
        self._open: OpenHandles[GpgTrustedKeys] = OpenHandles()

    def load(self) -> GpgTrustedKeys:
        """Import every trusted key file; refuse one that holds no public key, or a secret.

        Raises:
            SigningError: a file cannot be read or holds no usable public key.
        """
        keyring = new_keyring(
            ThrowAwayKeyring,
            self._work_root,
            self._redactor,
            self._gpg_binary,
            "the trusted keys",
            self._leftovers,
        )
        with disposed_on_failure(keyring, SigningError):
            own = self._own_public_key()
            fingerprints = tuple(
                fingerprint
                for path, data in [*own, *((path, _read_public(path)) for path in self._files)]
                for fingerprint in self._import(keyring, path, data)
            )
        return self._open.add(GpgTrustedKeys(keyring, fingerprints, self._open.forget))

    def close_all(self) -> None:
        """Close every loaded set of trusted keys still open (a last guard)."""
        self._open.close_all()

    def _own_public_key(self) -> list[tuple[Path, bytes]]:
        """Return the public half of the host's signing key (none without a key file)."""
        path = self._signing_key_file
        if path is None:
            return []
        data = read_key_file(path)
        keyring = new_keyring(
            SecretKeyring,
            self._work_root,
            self._redactor,
            self._gpg_binary,
            "the signing key",
            self._leftovers,
        )
        try:
            imported = keyring.run("--status-fd", "1", "--import", stdin=data)
            fingerprints = imported_fingerprints(imported.stdout)
            exported = keyring.run("--armor", "--export", *fingerprints[:1])
        finally:
            keyring.dispose()
        if not fingerprints or exported.returncode != 0 or not exported.stdout:
            raise SigningError(f"[signing] key_file {path} is not an OpenPGP key")
        return [(path, exported.stdout)]

    def _import(self, keyring: ThrowAwayKeyring, path: Path, data: bytes) -> list[str]:
        what = f"[signing] trusted key {path}"
        keys = keyring.show_keys(
            data, lambda reason: SigningError(f"{what} is not an OpenPGP public key: {reason}")
        )
        if any(key.holds_secret for key in keys):
            raise SigningError(
                f"{what} holds secret key material; give the public key only "
                "(gpg --export --armor KEY)"
            )
        keyring.import_keys(
            data, lambda reason: SigningError(f"gpg could not import {what}: {reason}")
        )
        return [key.fingerprint for key in keys]


def verdict(status: str, stderr: str = "") -> SignatureCheck:
    """Judge `gpg --status-fd 1 --verify` output: every signature in it must be good.

    A detached signature file may hold several signatures; one that is bad, unknown or made
    by a revoked key decides, so a good signature cannot hide a bad one beside it.
    """
    records = [
        line.split()[1:]
        for line in status.splitlines()
        if line.startswith("[GNUPG:] ") and len(line.split()) > 1
    ]
    kinds = [fields[0] for fields in records]
    if "NEWSIG" not in kinds:
        return SignatureCheck(SignatureStatus.INVALID, detail="not an OpenPGP signature")
    for fields in records:
        kind, rest = fields[0], fields[1:]
        if kind == "BADSIG":
            return SignatureCheck(SignatureStatus.BAD, _first(rest), "the signed data was changed")
        if kind == "REVKEYSIG":
            return SignatureCheck(
                SignatureStatus.INVALID, _first(rest), "made by a key that has been revoked"
            )
        if kind == "ERRSIG":
            signer = rest[6] if len(rest) > 6 and rest[6] != "-" else _first(rest)
            if len(rest) > 5 and rest[5] == _MISSING_KEY:
                return SignatureCheck(SignatureStatus.UNTRUSTED, signer, "not a trusted key")
            return SignatureCheck(SignatureStatus.INVALID, signer, "gpg cannot check it")
    valid = [fields for fields in records if fields[0] == "VALIDSIG"]
    if len(valid) != kinds.count("NEWSIG"):
        return SignatureCheck(SignatureStatus.INVALID, detail=_tail(stderr) or "not checked")
    primaries = {fields[-1].upper() for fields in valid}
    if len(primaries) != 1:
        return SignatureCheck(
            SignatureStatus.INVALID, detail="signed by more than one key: " + ", ".join(primaries)
        )
    expired = "the signing key has expired since" if "EXPKEYSIG" in kinds else ""
    return SignatureCheck(SignatureStatus.GOOD, primaries.pop(), expired)


def _read_public(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise SigningError(
            f"[signing] trusted key {path} cannot be read: {exc.strerror or exc}"
        ) from None


def _first(fields: list[str]) -> str:
    return fields[0].upper() if fields else ""


def _tail(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:200] if lines else ""
