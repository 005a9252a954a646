"""Archive one local file onto the client's share, encrypted (SPEC section 5, `archive`).

The file is streamed from the local disk through the Encryptor straight onto
`archive/<folder>/<name>.gpg` (written as a partial file and renamed, like every share write):
no plaintext copy is made anywhere. An existing archive of the same name is refused and never
replaced. Each archived file is recorded as one JSON line in `archive/<folder>/ARCHIVE.jsonl`:
name, stored file, plaintext and stored bytes, the stored file's sha256, time and key
fingerprints. Appending a line is atomic enough for a log and needs no rewrite of earlier
entries; when it fails, the stored file is removed again so a re-run is not blocked. The keyring
is disposed at the end whatever happened. Failure prefix: `<client> <file name>`.

When runs are signed (`[signing] key_file`), so is every archived file (SPEC 14): the stored file
is read back from the share (its sha256 checked against what was written) through the signing
key, and the detached, armoured signature is stored beside it as `<name>.gpg.asc`, before the
ARCHIVE.jsonl line (which names the signature and the signing key) is appended. A file whose
signature cannot be made is removed again, like one that cannot be recorded. Check it with
`gpg --verify "<name>.gpg.asc" "<name>.gpg"`.

No lock is taken: the archive folder is outside the tiers, so backups and retention never touch
it, and an archive run never blocks a scheduled backup.
"""

from __future__ import annotations

import logging
from contextlib import closing
from pathlib import PurePosixPath

from domain.framework.definition import node
from domain.framework.machine import Machine, Step
from domain.framework.results import Result, failures
from domain.framework.slot import Slot
from domain.machines.mount import ClientContext
from domain.models.operations import ArchiveRequest
from domain.rules.naming import archive_name_problem
from domain.services.audit_log import AuditLog
from domain.services.streams import CountingReader, HashingReader
from ports.clock import Clock
from ports.encryptor import Encryptor, Recipients
from ports.file_share import WriteReceipt
from ports.local_files import LocalFiles
from ports.signer import Signer, SigningKey

logger = logging.getLogger("lts.archive")

ARCHIVE_ROOT = PurePosixPath("archive")
ARCHIVE_MANIFEST = "ARCHIVE.jsonl"
ENCRYPTED_SUFFIX = ".gpg"
SIGNATURE_SUFFIX = ".asc"


class ArchiveFileMachine(Machine):
    """Encrypt one local file onto the share's archive folder and record it."""

    recipients = Slot[Recipients]("load_key")
    signing = Slot[SigningKey]("load_signing_key")
    receipt = Slot[WriteReceipt]("store_file")

    def __init__(
        self,
        context: ClientContext,
        *,
        request: ArchiveRequest,
        encryptor: Encryptor,
        files: LocalFiles,
        clock: Clock,
        signer: Signer | None = None,
    ) -> None:
        super().__init__()
        self._config = context.config
        self._share = context.share
        self._request = request
        self._encryptor = encryptor
        self._files = files
        self._clock = clock
        self._signer = signer
        self._folder = PurePosixPath()
        self._plain_bytes = 0
        self.recorded = False

    @property
    def prefix(self) -> str:
        """Return `<client> <file name>`."""
        return f"{self._config.client_name} {self._request.file.name}"

    @property
    def target(self) -> PurePosixPath:
        """Return where the encrypted file goes on the share."""
        return self._folder / f"{self._request.file.name}{ENCRYPTED_SUFFIX}"

    @property
    def signature(self) -> PurePosixPath:
        """Return where the encrypted file's signature goes, when archives are signed."""
        return self.target.with_name(f"{self.target.name}{SIGNATURE_SUFFIX}")

    @node(
        entry=True, happy=("load_key",), unhappy=("report_results",), on_exception="report_results"
    )
    def check_file(self) -> Step:
        """Check the local file and refuse an archive name that is already taken."""
        folder = self._request.folder or self._clock.now().strftime("%Y-%m")
        self._folder = ARCHIVE_ROOT / folder
        problem = archive_name_problem(self._request.file.name)
        if problem is not None:
            return self.failure(self.report_results, f"{self._request.file} {problem}")
        # Before anything is made on the share or in the work root: a directory or a FIFO
        # (which would block the read forever) is refused here, not half-way through.
        not_a_file = self._files.regular_file_problem(self._request.file)
        if not_a_file is not None:
            return self.failure(self.report_results, f"{self._request.file} {not_a_file}")
        taken = [path for path in (self.target, self.signature) if self._share.exists(path)]
        if taken:
            return self.failure(
                self.report_results,
                f"{taken[0]} is already archived; refusing to replace it, nothing was changed",
            )
        return self.success(self.load_key)

    @node(happy=("load_signing_key",), unhappy=("dispose_key",), on_exception="dispose_key")
    def load_key(self) -> Step:
        """Import the client's public key (and escrow key) into a throw-away keyring."""
        self.recipients = self._encryptor.load(
            self._config.public_key, self._config.key_name, self._config.escrow_public_key
        )
        return self.success(self.load_signing_key)

    @node(happy=("store_file",), unhappy=("dispose_key",), on_exception="dispose_key")
    def load_signing_key(self) -> Step:
        """Load the operator's signing key, when archives are signed ([signing] key_file)."""
        if self._signer is not None:
            self.signing = self._signer.load()
        return self.success(self.store_file)

    @node(happy=("sign_file",), unhappy=("dispose_key",), on_exception="dispose_key")
    def store_file(self) -> Step:
        """Stream the file through gpg onto the share, atomically."""
        self._share.make_dirs(self._folder)
        reader = CountingReader(self._files.read_chunks(self._request.file))
        with closing(self.recipients.encrypt(reader)) as cipher:
            self.receipt = self._share.write_stream(self.target, cipher)
        self._plain_bytes = reader.bytes
        logger.info("stored %s: %d bytes", self.target, self.receipt.bytes)
        return self.success(self.sign_file)

    @node(happy=("record_archive",), unhappy=("remove_archived",), on_exception="remove_archived")
    def sign_file(self) -> Step:
        """Read the stored file back through the signing key; store its detached signature."""
        signing = ArchiveFileMachine.signing.get(self)
        if signing is None:
            return self.success(self.record_archive)
        reader = HashingReader(self._share.read_stream(self.target))
        signature = signing.sign(reader)
        if reader.sha256 != self.receipt.sha256 or reader.bytes != self.receipt.bytes:
            return self.failure(
                self.remove_archived, f"{self.target} reads back other bytes than were written"
            )
        self._share.write_stream(self.signature, [signature])
        return self.success(self.record_archive)

    @node(happy=("dispose_key",), unhappy=("remove_archived",), on_exception="remove_archived")
    def record_archive(self) -> Step:
        """Append the archived file's line to the folder's ARCHIVE.jsonl."""
        receipt, recipients = self.receipt, self.recipients.info
        entry = {
            "name": self._request.file.name,
            "file": self.target.name,
            "bytes": self._plain_bytes,
            "stored_bytes": receipt.bytes,
            "sha256": receipt.sha256,
            "archived": self._clock.now().isoformat(),
            "client": self._config.client_name,
            "key_name": recipients.key_name,
            "key_fingerprint": recipients.fingerprint,
            "escrow_fingerprint": recipients.escrow_fingerprint,
        }
        signing = ArchiveFileMachine.signing.get(self)
        if signing is not None:
            entry["signature"] = self.signature.name
            entry["signing_fingerprint"] = signing.info.fingerprint
        AuditLog(self._share, self._folder / ARCHIVE_MANIFEST).append(entry)
        self.recorded = True
        return self.success(self.dispose_key)

    @node(
        happy=("dispose_key",), unhappy=("dispose_key",), on_exception="dispose_key", cleanup=True
    )
    def remove_archived(self) -> Step:
        """Remove the stored file (and signature) not recorded, so a re-run is not blocked."""
        for path in (self.signature, self.target):
            if self._share.exists(path):
                self._share.delete_file(path)
        return self.success(self.dispose_key)

    @node(
        happy=("report_results",),
        unhappy=("report_results",),
        on_exception="report_results",
        cleanup=True,
    )
    def dispose_key(self) -> Step:
        """Remove the throw-away keyrings (the public keys, the signing key)."""
        signing = ArchiveFileMachine.signing.get(self)
        if signing is not None:
            signing.close()
        recipients = ArchiveFileMachine.recipients.get(self)
        if recipients is not None:
            recipients.close()
        return self.success(self.report_results)

    def summary(self, results: list[Result]) -> str:
        """Return one line: where the file went and its sha256, or that it was not archived."""
        head = f"archive {self._config.client_name}: {self._request.file.name}"
        problems = len(failures(results))
        receipt = ArchiveFileMachine.receipt.get(self)
        if not self.recorded or receipt is None:
            return f"{head} not archived, {problems} failures"
        return (
            f"{head} ({self._plain_bytes:,} bytes) stored as {self.target} "
            f"({receipt.bytes:,} bytes, sha256 {receipt.sha256}), "
            f"{problems} failures"
        )
