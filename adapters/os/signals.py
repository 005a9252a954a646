"""Stop a job in order on SIGTERM, SIGINT and SIGHUP (SPEC 15).

`SignalStop` handles the three signals for the length of one job (installed by the container's
`job_guard` resource, adapters/os/job_guard.py). The first signal records the domain's stop
request (`domain.framework.stop.STOP`: the signal's name, exit status 128 + its number, as a
shell reports a command a signal ended) and kills every live child at once (the registry of
`adapters.process`, refusing new pipeline children), so the worker threads waiting on pg_dump
or gpg finish at once;
the machines then run only their clean-up nodes, which may still run short commands (gpgconf
stopping an agent, umount). Later signals are ignored: nothing interrupts the clean-up (a
scheduler that cannot wait sends SIGKILL, and the next job sweeps what is left).

The handler runs in the main thread between two bytecodes of whatever it was doing, so it only
sets an attribute and sends signals: no lock, no logging, no allocation-heavy work. The
previous handlers are restored when the job ends. Tested with real processes in
tests/reliability/test_signals.py and in-process in tests/unit/test_job_guard.py.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import ClassVar

from adapters.process.registry import CHILDREN
from domain.framework.stop import STOP, StopReason, StopRequest

logger = logging.getLogger("lts.signals")

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
SIGNAL_EXIT_BASE = 128
"""A shell (and Kubernetes, and most schedulers) reports a process ended by signal N as 128 + N."""

Handler = Callable[[int, FrameType | None], object] | int | None


def hold_stop_signals() -> None:
    """Handle the stop signals from the very start of a job's process.

    A job spends most of a second importing its modules (the container, pydantic, the Azure
    SDK) before its guard is set up; a SIGTERM then would kill it without its one line. The
    entry points call this first when run as a program (never in-process, where the host owns
    the signals); the job's guard adopts the handler (`SignalStop.for_job`).
    """
    if SignalStop.early is None:
        handler = SignalStop(program=True)
        if handler.install():
            SignalStop.early = handler


def stop_reason(signum: int) -> StopReason:
    """Return the stop request a signal makes: its name and exit status 128 + its number."""
    return StopReason(signal.Signals(signum).name, SIGNAL_EXIT_BASE + signum)


class SignalStop:
    """The handler of the stop signals; `install` and `uninstall` bracket one job."""

    early: ClassVar[SignalStop | None] = None
    """The handler a job's process installed first thing (`hold_stop_signals`), if any."""

    def __init__(self, stop: StopRequest = STOP, *, program: bool = False) -> None:
        self._stop = stop
        self._previous: dict[int, Handler] = {}
        # Installed by the program itself (`hold_stop_signals`): it keeps the signals to its end.
        self._program = program

    @classmethod
    def for_job(cls, stop: StopRequest = STOP) -> SignalStop:
        """Return the handler installed at the process's start, else install a new one.

        The early one keeps a stop that arrived while the job was still importing its modules.
        """
        early, cls.early = cls.early, None
        if early is not None:
            return early
        handler = cls(stop)
        handler.install()
        return handler

    def install(self) -> bool:
        """Handle the stop signals from now on; return False when this is not the main thread.

        A new job starts with no stop request and accepting new children again.
        """
        self._stop.clear()
        CHILDREN.accept_new()
        if threading.current_thread() is not threading.main_thread():
            # signal.signal works only there; a host running jobs in threads handles signals.
            logger.warning("not the main thread: stop signals are left to the host")
            return False
        for signum in STOP_SIGNALS:
            self._previous[signum] = signal.signal(signum, self.handle)
        return True

    def uninstall(self, *, ending: bool = False) -> None:
        """Give the stop signals back to the handlers they had before `install`.

        With `ending` (the job is done and its lines printed), a program, or a job that was
        stopped, ignores them from now on: a late signal (a scheduler sending a burst, or one
        that comes as the job exits) must not kill it before it exits with the status it
        printed. Ignoring, not handling: Python puts a handled signal back to its default action
        while the interpreter shuts down, and the default action of SIGTERM kills. An in-process
        host gets its own handlers back.
        """
        previous, self._previous = self._previous, {}
        keep_ignoring = ending and (self._program or self._stop.reason is not None)
        for signum, handler in previous.items():
            signal.signal(signum, signal.SIG_IGN if keep_ignoring else handler)

    def handle(self, signum: int, _frame: FrameType | None = None) -> None:
        """Record the stop and kill every child; a later signal changes nothing."""
        if self._stop.request(stop_reason(signum)):
            CHILDREN.kill_all(signal.SIGKILL, refuse_new=True)
