"""Guard a job on its host: stop signals, a private work root, no leftovers (SPEC 15).

`guard_job` is the container's `job_guard` resource, set up after the client log and torn down
after the end point has run. At the start it makes the work root a private directory (0700),
handles SIGTERM, SIGINT and SIGHUP (adapters/os/signals.py), has every child written down while
it lives, and sweeps what killed jobs left (children still running, keyrings and their agents,
plaintext scratch files, partial decrypt outputs: adapters/process/leftovers.py). At the end
it disposes of anything the job itself still claims, then gives the signals back. Tested in
tests/unit/test_job_guard.py and, with real processes, in tests/reliability/test_signals.py.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

from adapters.os.paths import PRIVATE_DIR_MODE, make_private_dirs
from adapters.os.signals import SignalStop
from adapters.process.leftovers import PROCESS, Leftovers
from adapters.process.registry import CHILDREN
from domain.framework.stop import STOP, StopRequest
from ports.errors import ConfigError

logger = logging.getLogger("lts.job")

OTHERS_BITS = 0o077


def prepare_work_root(path: Path) -> None:
    """Make `path` a directory only this user can enter (0700), or refuse it in one line.

    A missing directory is made 0700 (its missing parents too). An existing one of this user
    with a wider mode is narrowed to 0700 (a work root made by an earlier version under the
    umask's mode). A directory that is shared on purpose (sticky, like /tmp) or belongs to
    another user is refused: scratch dumps and keyrings must not live where others can list.

    Raises:
        ConfigError: the work root cannot be made, is not a directory, or is shared.
    """
    try:
        make_private_dirs(path)
        status = path.stat()
    except OSError as exc:
        raise ConfigError(f"cannot make the work root {path} ({exc.strerror or exc})") from None
    if not stat.S_ISDIR(status.st_mode):
        raise ConfigError(f"the work root {path} is not a directory")
    mode = stat.S_IMODE(status.st_mode)
    if not mode & OTHERS_BITS:
        return
    if status.st_uid != os.geteuid() or mode & stat.S_ISVTX:
        raise ConfigError(
            f"the work root {path} is shared with other users (mode {mode:04o}); set [paths] "
            "work_root to a path below it that does not exist yet (the job makes it 0700)"
        )
    try:
        path.chmod(PRIVATE_DIR_MODE)
    except OSError as exc:
        raise ConfigError(f"cannot make the work root {path} private ({exc.strerror})") from None
    logger.warning("made the work root %s private (its mode was %04o)", path, mode)


def _sweep(leftovers: Leftovers) -> None:
    """Sweep what dead jobs left, each said in the log; a broken sweep never stops the job."""
    try:
        swept = leftovers.sweep()
    except Exception:
        # Whatever is left stays claimed for the next job; this one's work must not wait on it.
        logger.exception("the sweep of the work root %s failed", leftovers.work_root)
        return
    for item in swept:
        verb = "killed" if item.kind == PROCESS else "removed"
        logger.warning(
            "%s the %s %s that a killed job (%s) left", verb, item.kind, item.path, item.owner
        )


def guard_job(
    work_root: Path,
    leftovers: Leftovers,
    log_file: object = None,
    stop: StopRequest = STOP,
) -> Iterator[SignalStop]:
    """Hold the job's host-side guard for its length (a container Resource); see the module.

    Args:
        work_root: `[paths] work_root`.
        leftovers: the job's claims (the same object the adapters claim through).
        log_file: the client log resource; taken only so the log is set up first.
        stop: the stop request the signals set.

    Raises:
        ConfigError: the work root is unusable (see `prepare_work_root`).
    """
    del log_file
    prepare_work_root(work_root)
    handler = SignalStop.for_job(stop)
    CHILDREN.watch(leftovers)
    try:
        _sweep(leftovers)
        yield handler
    finally:
        try:
            for own in leftovers.dispose_own():
                logger.warning(
                    "removed the %s %s still held when the job ended", own.kind, own.path
                )
        finally:
            CHILDREN.watch(None)
            handler.uninstall(ending=True)
            if stop.reason is not None:
                logger.info("the job stopped in order after %s", stop.reason.signal)
