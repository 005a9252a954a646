"""Re-encrypt one stored file of a run to the new keys, beside the old one (SPEC 14, `rekey`).

The old file streams from the share through the private key's decryption into the new keys'
encryption and back onto the share under its new name (`domain.rules.rekeying.rekeyed_name`):
the two gpg processes are connected through the job's memory, chunk by chunk, and no plaintext
ever touches a disk. On the way, the old file's size and sha256 are checked against the
manifest and the plaintext's sha256 is computed; the new file is then decrypted again and must
give the same plaintext, byte for byte. The old file is never touched; a new file that fails
any check is removed. Failure prefix: `<client> <run path>/<file>`.
"""

from __future__ import annotations

import logging
from contextlib import closing
from dataclasses import dataclass
from pathlib import PurePosixPath

from domain.framework.definition import node
from domain.framework.machine import Machine, Step
from domain.framework.slot import Slot
from domain.models.manifest import DumpRecord
from domain.rules.rekeying import StoredFile
from domain.services.streams import HashingReader
from ports.decryptor import DecryptionKeys
from ports.encryptor import Recipients
from ports.file_share import FileShare

logger = logging.getLogger("lts.rekey")


@dataclass(frozen=True, slots=True)
class Plaintext:
    """What a stored file decrypts to: its size and sha256, measured in the stream."""

    bytes: int
    sha256: str


class RekeyFileMachine(Machine):
    """Re-encrypt one file to the new keys under a new name and prove it decrypts the same."""

    stored = Slot[StoredFile]("reencrypt_file")
    plaintext = Slot[Plaintext]("reencrypt_file")

    def __init__(
        self,
        *,
        client: str,
        run_dir: PurePosixPath,
        record: DumpRecord,
        new_name: str,
        share: FileShare,
        keys: DecryptionKeys,
        recipients: Recipients,
    ) -> None:
        super().__init__()
        self._client = client
        self._old = run_dir / record.file
        self._new = run_dir / new_name
        self._record = record
        self._share = share
        self._keys = keys
        self._recipients = recipients
        self.done = False

    @property
    def record(self) -> DumpRecord:
        """Return the manifest record of the file this machine re-encrypts."""
        return self._record

    @property
    def prefix(self) -> str:
        """Return `<client> <run path>/<file>`."""
        return f"{self._client} {self._old}"

    @node(
        entry=True,
        happy=("check_new_file",),
        unhappy=("remove_new_file",),
        on_exception="remove_new_file",
    )
    def reencrypt_file(self) -> Step:
        """Stream the old file through decryption and encryption into its new name."""
        cipher = HashingReader(self._share.read_stream(self._old))
        plain = HashingReader(self._keys.decrypt(cipher))
        with closing(self._recipients.encrypt(plain)) as encrypted:
            receipt = self._share.write_stream(self._new, encrypted)
        problem = cipher.mismatch(self._record)
        if problem is not None:
            return self.failure(self.remove_new_file, f"{problem}: not re-encrypted")
        self.plaintext = Plaintext(plain.bytes, plain.sha256)
        self.stored = StoredFile(self._new.name, receipt.bytes, receipt.sha256)
        logger.info("re-encrypted %s as %s (%d bytes)", self._old, self._new.name, receipt.bytes)
        return self.success(self.check_new_file)

    @node(happy=("report_results",), unhappy=("remove_new_file",), on_exception="remove_new_file")
    def check_new_file(self) -> Step:
        """Decrypt the new file again: it must give the same plaintext, byte for byte."""
        with closing(self._keys.decrypt(self._share.read_stream(self._new))) as stream:
            again = HashingReader(stream)
            again.drain()
        before = self.plaintext
        if (again.bytes, again.sha256) != (before.bytes, before.sha256):
            return self.failure(
                self.remove_new_file,
                f"{self._new.name} decrypts to {again.bytes} bytes (sha256 {again.sha256}), "
                f"not the {before.bytes} bytes (sha256 {before.sha256}) of {self._old.name}",
            )
        self.done = True
        return self.success(self.report_results)

    @node(
        happy=("report_results",),
        unhappy=("report_results",),
        on_exception="report_results",
        cleanup=True,
    )
    def remove_new_file(self) -> Step:
        """Remove the new file that failed, so only the old, complete one stays."""
        if self._share.exists(self._new):
            self._share.delete_file(self._new)
        return self.success(self.report_results)
