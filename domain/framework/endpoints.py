"""End points: run a machine and turn its results into stdout lines and an exit code (SPEC 4).

`EndPoint` runs any machine; a `JobObserver` (the metrics recorder, SPEC 16) hears how every
run ended, whatever ended it: results, a critical failure, a stop request, or an exception that
is not an Exception at all. `DynamicMountingEndPoint` runs a job's machine inside the machine
that prepares the client and its share (config, lock, mount) and always lets go of what that
machine holds, also when it breaks.

A job asked to stop (SPEC 15, `domain.framework.stop`) prints exactly one line,
`Critical failure: terminated by signal <NAME>`, and exits with the stop's status (128 + the
signal's number): its machine ran only its clean-up nodes, and the failures that caused (a killed
pg_dump, nodes not run) are consequences of the stop, so they go to the log, not to the
scheduler. Its observer hears a critical end (the metrics say the run failed).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Generic, Protocol, TypeVar, runtime_checkable

from domain.framework.machine import Machine, describe
from domain.framework.results import failures
from domain.framework.stop import STOP
from domain.models.redaction import Redactor
from domain.models.text import printable
from ports.console import Console
from ports.exit import Exit

logger = logging.getLogger("lts.endpoint")

MAX_EXIT_CODE = 100
"""Exit codes wrap at 256; capping keeps 256 failures from reading as success."""

C = TypeVar("C")


@runtime_checkable
class Releasable(Protocol):
    """A machine that holds something (a mount, a lock) it can let go of after it broke."""

    def release_all(self) -> None:
        """Let go of whatever is still held; safe to call twice."""


class JobObserver(Protocol):
    """Hears when a job starts and how it ended (the metrics recorder)."""

    def job_started(self) -> None:
        """Note that the job starts now."""

    def job_ended(self, machine: Machine | None, failures: int, critical: bool) -> str | None:
        """Record how the job ended; return a failure message when recording it failed.

        `machine` is None when it could not even be built; `critical` is true after a critical
        failure or an exception that stopped the job (then `failures` is 1).
        """


class EndPoint:
    """Run a machine; print one `Failure: <node> <message>` line per failure and a summary.

    Exits with the number of failures capped at 100 (0 only when nothing failed). Any exception
    that escapes the machine is logged with its traceback, printed as `Critical failure: <text>`,
    and exits 1. Every printed line passes through the redactor. Whatever happened, a machine
    that is Releasable lets go of what it still holds, then every one of `guards` runs (for
    example closing every keyring an adapter still has open): the last guard against a machine
    that broke half-way.
    """

    def __init__(
        self,
        *,
        machine: Callable[[], Machine],
        console: Console,
        exit: Exit,
        redactor: Redactor | None = None,
        guards: Sequence[Callable[[], None]] = (),
        observer: JobObserver | None = None,
    ) -> None:
        self._machine = machine
        self._console = console
        self._exit = exit
        self._redactor = redactor or Redactor()
        self._guards = tuple(guards)
        self._observer = observer
        self._ran: Machine | None = None
        self._outcome: tuple[int, bool] | None = None

    def execute(self) -> None:
        """Run the machine and exit with its status."""
        code = self._observed_run()
        self._exit.exit(code)

    def _observed_run(self) -> int:
        """Run, then tell the observer how the run ended, also when an exception stops it."""
        observer = self._observer
        if observer is None:
            return self._run()
        _guard(observer.job_started)
        problem: str | None = None
        try:
            code = self._run()
        finally:
            # No recorded outcome means the run was stopped (a signal): a critical failure.
            failures, critical = self._outcome or (1, True)
            problem = _observe(observer, self._ran, failures, critical)
        if problem is None:
            return code
        logger.error("Failure: write_metrics %s", problem)
        if self._outcome is not None and not critical:
            # After a critical end (a stop's one line) stdout stays as it is; the log says it.
            self._console.print(
                printable(self._redactor.redact(f"Failure: write_metrics {problem}"))
            )
            code = min(failures + 1, MAX_EXIT_CODE)
        return code

    def _run(self) -> int:
        def redact(line: str) -> str:
            # One physical line whatever a name or value held, secrets masked.
            return printable(self._redactor.redact(line))

        machine: Machine | None = None
        try:
            machine = self._ran = self._machine()
            results = machine.execute()
        except Exception as exc:
            logger.exception("critical failure")
            self._outcome = (1, True)
            return self._stopped() or self._critical(redact(f"Critical failure: {describe(exc)}"))
        finally:
            if isinstance(machine, Releasable):
                _guard(machine.release_all)
            for guard in self._guards:
                _guard(guard)
        found = failures(results)
        stopping = STOP.reason is not None
        for failure in found:
            logger.error("Failure: %s %s", failure.node, failure.message)
            if not stopping:
                self._console.print(redact(f"Failure: {failure.node} {failure.message}"))
        summary = machine.summary(results)
        if stopping:
            logger.info("summary: %s", summary)
            # A stopped run did not do its work: a critical end, with at least one failure.
            self._outcome = (max(len(found), 1), True)
            return self._stopped()
        if summary:
            self._console.print(redact(summary))
        self._outcome = (len(found), False)
        return min(len(found), MAX_EXIT_CODE)

    def _critical(self, line: str) -> int:
        self._console.print(line)
        return 1

    def _stopped(self) -> int:
        """Print the one line of a stopped job and return its status; 0 when not stopping."""
        reason = STOP.reason
        if reason is None:
            return 0
        logger.error("job stopped: %s", reason.message)
        self._console.print(f"Critical failure: {reason.message}")
        return reason.exit_code


class DynamicMountingEndPoint(EndPoint, Generic[C]):
    """Run a job's machine inside the machine that mounts the client's share (SPEC 4).

    `mount` builds the mounting machine around `job`, the factory of the job's own machine,
    which it calls with what it prepared (the client's config and mounted share). The mounting
    machine always unmounts and unlocks, also after failures; as the last guard, this end point
    has it let go of a mount or lock it still holds when it broke.
    """

    def __init__(
        self,
        *,
        mount: Callable[[Callable[[C], Machine]], Machine],
        job: Callable[[C], Machine],
        console: Console,
        exit: Exit,
        redactor: Redactor | None = None,
        guards: Sequence[Callable[[], None]] = (),
        observer: JobObserver | None = None,
    ) -> None:
        super().__init__(
            machine=lambda: mount(job),
            console=console,
            exit=exit,
            redactor=redactor,
            guards=guards,
            observer=observer,
        )


def _observe(
    observer: JobObserver, machine: Machine | None, failures: int, critical: bool
) -> str | None:
    try:
        return observer.job_ended(machine, failures, critical)
    except Exception as exc:
        # Recording must never hide how the job ended; it is reported like any failure.
        logger.exception("the job observer failed")
        return f"unrecognized exception: {describe(exc)}"


def _guard(release: Callable[[], None]) -> None:
    try:
        release()
    except Exception:
        logger.exception("a last guard failed")
