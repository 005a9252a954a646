"""End points: run a machine and turn its results into stdout lines and an exit code (SPEC 4)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from domain.framework.machine import Machine, describe
from domain.framework.results import failures
from domain.models.redaction import Redactor
from ports.console import Console
from ports.exit import Exit

logger = logging.getLogger("lts.endpoint")

MAX_EXIT_CODE = 100
"""Exit codes wrap at 256; capping keeps 256 failures from reading as success."""


class EndPoint:
    """Run a machine; print one `Failure: <node> <message>` line per failure and a summary.

    Exits with the number of failures capped at 100 (0 only when nothing failed). Any exception
    that escapes the machine is logged with its traceback, printed as `Critical failure: <text>`,
    and exits 1. Every printed line passes through the redactor.
    """

    def __init__(
        self,
        *,
        machine: Callable[[], Machine],
        console: Console,
        exit: Exit,
        redactor: Redactor | None = None,
    ) -> None:
        self._machine = machine
        self._console = console
        self._exit = exit
        self._redactor = redactor or Redactor()

    def execute(self) -> None:
        """Run the machine and exit with its status."""
        code = self._run()
        self._exit.exit(code)

    def _run(self) -> int:
        redact = self._redactor.redact
        machine: Machine | None = None
        try:
            machine = self._machine()
            results = machine.execute()
        except Exception as exc:
            logger.exception("critical failure")
            self._console.print(redact(f"Critical failure: {describe(exc)}"))
            return 1
        finally:
            if machine is not None:
                self._after(machine)
        found = failures(results)
        for failure in found:
            logger.error("Failure: %s %s", failure.node, failure.message)
            self._console.print(redact(f"Failure: {failure.node} {failure.message}"))
        summary = machine.summary(results)
        if summary:
            self._console.print(redact(summary))
        return min(len(found), MAX_EXIT_CODE)

    def _after(self, machine: Machine) -> None:
        """Run after the machine, whatever happened; end points that hold resources override it."""
