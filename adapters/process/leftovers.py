"""What a job makes that must not outlive it, written down before it is made (SPEC 15).

A job makes things on its host that hold secrets for a while: throw-away GnuPG homes (with the
private key, and a gpg-agent), decrypted scratch dumps, the partial file of a decrypt's output;
and it starts children, which a job killed with SIGKILL leaves running (a pg_restore reading a
scratch file goes on for hours, holding the target database).
Its clean-up removes them; a job killed with SIGKILL cannot. So before making one, an adapter
*claims* it: a small 0600 file `claim-<random>.json` in the work root names the owner (host, boot,
pid, start time: `identity.py`), the kind of thing and its path. Once the thing is gone the claim
is released (its file removed). Every job, at its start, sweeps: for each claim whose owner is
gone it disposes of the thing (the disposer of its kind: a keyring's agent is stopped before its
home is removed) and then removes the claim. A claim of a live owner, a concurrent job of this
host, is never touched. One claim per file means no file is ever shared between two writers.

Things of the kinds swept that no claim names were made by a version without claims: they are
removed once older than a day, as before. When the job ends, whatever it still claims is
disposed of as a last guard. Tested in tests/unit/test_leftovers.py and, with killed jobs, in
tests/reliability/test_leftovers.py.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import shutil
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from adapters.process.claim_records import (
    UNCLAIMED_MAX_AGE_SECONDS,
    ClaimRecord,
    age,
    filesystem_now,
    identity_of,
    kill_if_running,
    read_claim,
)
from adapters.process.identity import ProcessIdentity, ProcessState, current_identity, state_of
from adapters.process.private_dirs import make_private_dirs

logger = logging.getLogger("lts.leftovers")

KEYRING = "keyring"
"""A throw-away GnuPG home directory, maybe with a gpg-agent bound to it."""
FILE = "file"
"""A file holding plaintext: a scratch dump, the partial file of a decrypt's output."""
PROCESS = "process"
"""A child process (pg_dump, gpg, pg_restore...): a dead job's is killed if it still runs."""
CLAIM_PREFIX = "claim-"
CLAIM_SUFFIX = ".json"
UNCLAIMED_PATTERNS = {KEYRING: "gnupg-*", FILE: "scratch-*"}
"""What earlier versions left in the work root without a claim."""

Disposer = Callable[[Path], None]
"""Remove one leftover of a kind for good; raise OSError (or another error) when it cannot."""


def remove_file(path: Path) -> None:
    """Dispose of a file leftover: unlink it (a symlink itself, never its target)."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def remove_directory(path: Path) -> None:
    """Dispose of a directory leftover and everything in it, never following a symlink."""
    if path.is_symlink():
        path.unlink()
    elif path.exists():
        shutil.rmtree(path)


@dataclass(frozen=True, slots=True)
class Swept:
    """One leftover a sweep disposed of, for the log."""

    kind: str
    path: Path
    owner: str


class Claim:
    """A leftover this job has written down; `release` once the thing is gone."""

    def __init__(
        self,
        leftovers: Leftovers,
        kind: str,
        path: Path,
        record: Path,
        process: ProcessIdentity | None = None,
    ) -> None:
        self.kind = kind
        self.path = path
        self.process = process
        self._leftovers = leftovers
        self._record = record
        self.released = False

    def release(self) -> None:
        """Forget the claim: the thing it names is gone. Safe to call twice."""
        if self.released:
            return
        self.released = True
        self._leftovers.forget(self)
        with contextlib.suppress(FileNotFoundError):
            self._record.unlink()


class Leftovers:
    """The claims of one job in `work_root`, and the sweep of the claims of dead jobs.

    Args:
        work_root: `[paths] work_root`.
        disposers: how each kind is disposed of (the container gives the keyring's, from the
            gpg adapter); files and directories have their own defaults.
        identity: whose claims these are (this process; tests give another).
    """

    def __init__(
        self,
        work_root: Path,
        disposers: Mapping[str, Disposer] | None = None,
        identity: Callable[[], ProcessIdentity] = current_identity,
    ) -> None:
        self.work_root = work_root
        self._disposers: dict[str, Disposer] = {
            KEYRING: remove_directory,
            FILE: remove_file,
            **(disposers or {}),
        }
        self._identity = identity
        self._open: dict[int, Claim] = {}
        self._lock = threading.Lock()

    def claim(self, kind: str, path: Path, process: ProcessIdentity | None = None) -> Claim:
        """Write down that this job is about to make `path`; call it before making it.

        Raises:
            OSError: the claim cannot be written (then the thing must not be made).
        """
        owner = self._identity()
        record: dict[str, object] = {
            "owner": owner.to_json(),
            "recorded": time.time(),
            "kind": kind,
            "path": str(path),
        }
        if process is not None:
            record["process"] = process.to_json()
        make_private_dirs(self.work_root)
        name = self.work_root / f"{CLAIM_PREFIX}{secrets.token_hex(8)}{CLAIM_SUFFIX}"
        fd = os.open(
            name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600
        )
        try:
            os.write(fd, json.dumps(record).encode() + b"\n")
        except BaseException:
            os.close(fd)
            with contextlib.suppress(OSError):
                name.unlink()
            raise
        os.close(fd)
        claim = Claim(self, kind, path, name, process)
        with self._lock:
            self._open[id(claim)] = claim
        return claim

    def started(self, pid: int) -> Callable[[], None]:
        """Write down a child that has just started (the child registry's watcher)."""
        child = identity_of(pid)
        if child is None:
            return _nothing  # it has ended already
        try:
            claim = self.claim(PROCESS, Path(f"/proc/{pid}"), process=child)
        except OSError as exc:
            # The child runs anyway; only a SIGKILL of this job could then leave it behind.
            logger.warning("cannot note child %d in the work root: %s", pid, exc.strerror)
            return _nothing
        return claim.release

    def forget(self, claim: Claim) -> None:
        """Drop a released claim from the ones this job still holds (`Claim.release` calls it)."""
        with self._lock:
            self._open.pop(id(claim), None)

    def dispose_own(self) -> list[Swept]:
        """Dispose of whatever this job still claims: the last guard when the job ends."""
        with self._lock:
            held = list(self._open.values())
        done: list[Swept] = []
        for claim in held:
            if self._dispose(claim.kind, claim.path, "this job", claim.process):
                claim.release()
                done.append(Swept(claim.kind, claim.path, "this job"))
        return done

    def sweep(self) -> list[Swept]:
        """Dispose of what dead jobs claimed, and of old unclaimed leftovers; return them."""
        if not self.work_root.is_dir():
            return []
        now = filesystem_now(self.work_root)
        records = [
            read
            for path in sorted(self.work_root.glob(f"{CLAIM_PREFIX}*{CLAIM_SUFFIX}"))
            if (read := read_claim(path, now)) is not None
        ]
        claimed = {record.path for record in records}
        # A dead job's children first: nothing of theirs may still use what goes next.
        records.sort(key=lambda record: record.kind != PROCESS)
        swept = [swept for record in records if (swept := self._sweep_claim(record)) is not None]
        swept.extend(self._sweep_unclaimed(claimed, now))
        return swept

    def _sweep_claim(self, record: ClaimRecord) -> Swept | None:
        owner = record.owner
        if owner is None or state_of(owner, recorded_at=record.recorded) is not ProcessState.GONE:
            return None
        who = f"host {owner.host} pid {owner.pid}"
        if record.kind == PROCESS and not (
            record.process and state_of(record.process) is ProcessState.RUNNING
        ):
            record.file.unlink(missing_ok=True)  # the child ended with its job
            return None
        if not self._dispose(record.kind, record.path, who, record.process):
            return None
        record.file.unlink(missing_ok=True)
        return Swept(record.kind, record.path, who)

    def _sweep_unclaimed(self, claimed: set[Path], now: float) -> list[Swept]:
        swept: list[Swept] = []
        for kind, pattern in UNCLAIMED_PATTERNS.items():
            for path in sorted(self.work_root.glob(pattern)):
                if path in claimed or age(path, now) <= UNCLAIMED_MAX_AGE_SECONDS:
                    continue
                if self._dispose(kind, path, "an unknown job"):
                    swept.append(Swept(kind, path, "an unknown job"))
        return swept

    def _dispose(
        self, kind: str, path: Path, owner: str, process: ProcessIdentity | None = None
    ) -> bool:
        if kind == PROCESS:
            if process is not None:
                kill_if_running(process)
            return True
        disposer = self._disposers.get(kind)
        if disposer is None:
            logger.error("cannot dispose of %s %s left by %s: unknown kind", kind, path, owner)
            return False
        try:
            disposer(path)
        except Exception:
            logger.exception("cannot dispose of the %s %s left by %s", kind, path, owner)
            return False
        return True


def _nothing() -> None:
    """Forget nothing: the child was not written down."""
