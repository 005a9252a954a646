"""The Machine base class: runs one-action nodes along their declared exits.

A subclass declares nodes with `@node(...)`; the graph is checked when the class is defined
(`definition.check_definition`). `execute()` starts at the entry node, records one result per node,
and stops at the terminal `report_results` node. Child machines' results are added with
`add_results()` and land before the invoking node's own result. Once the job is asked to stop
(`domain.framework.stop`), a node that is not a clean-up node is not run: it records a Failure
saying so and is left by its exception exit, the path its declaration gives for "this did not
happen".
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from domain.framework.definition import (
    LET_THROUGH,
    REPORT_RESULTS,
    NodeSpec,
    check_definition,
    collect_nodes,
    node,
)
from domain.framework.results import Failure, Result, Success, failures
from domain.framework.stop import STOP
from ports.errors import LtsError

logger = logging.getLogger("lts.machine")

MAX_STEPS = 100_000
"""A guard against a machine that loops forever through a retry cycle."""


class MachineRuntimeError(RuntimeError):
    """A node broke its declaration at run time (a programming error, never swallowed)."""


class JobStoppedError(RuntimeError):
    """A node that lets exceptions through was not run because the job is stopping."""


@dataclass(frozen=True, slots=True)
class Step:
    """What a node returns: where to go next and whether its action succeeded."""

    target: str
    ok: bool
    message: str = ""


def describe(exc: BaseException) -> str:
    """Return the text of an exception as a failure message shows it."""
    text = str(exc).strip()
    return text if text else type(exc).__name__


class Machine:
    """A state machine of one-action nodes; subclass it and declare nodes with `@node`."""

    nodes: ClassVar[dict[str, NodeSpec]] = {}
    entry: ClassVar[str] = ""

    def __init_subclass__(cls, abstract: bool = False, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if abstract:
            return
        found: dict[str, NodeSpec] = {}
        for klass in reversed(cls.__mro__):
            found.update(collect_nodes(vars(klass)))
        cls.entry = check_definition(cls.__name__, found)
        cls.nodes = found

    def __init__(self) -> None:
        self._pending: list[Result] = []

    @property
    def prefix(self) -> str:
        """Return the text every failure message of this machine starts with."""
        return ""

    def success(self, target: Callable[[], Any]) -> Step:
        """Leave the current node by the happy exit `target` (a bound node method)."""
        return Step(target=target.__name__, ok=True)

    def failure(self, target: Callable[[], Any], message: str) -> Step:
        """Leave the current node by the unhappy exit `target`, recording `message`."""
        return Step(target=target.__name__, ok=False, message=self._prefixed(message))

    def add_results(self, results: list[Result]) -> None:
        """Record a child machine's results; they land before the current node's own result."""
        self._pending.extend(results)

    def summary(self, results: list[Result]) -> str:
        """Return the one-line summary an end point prints after the failure lines."""
        failed = len(failures(results))
        return f"{type(self).__name__}: {len(results) - failed} ok, {failed} failed"

    @node(terminal=True)
    def report_results(self) -> None:
        """End the run; the results are returned by `execute()`."""

    def execute(self) -> list[Result]:
        """Run from the entry node to `report_results` and return every result in order."""
        results: list[Result] = []
        self._pending = []
        current = self.entry
        for _ in range(MAX_STEPS):
            spec = self.nodes[current]
            if spec.terminal:
                getattr(self, current)()
                return results
            step = self._skip_node(spec) or self._run_node(spec)
            results.extend(self._pending)
            self._pending = []
            results.append(Success(current) if step.ok else Failure(current, step.message))
            current = step.target
        raise MachineRuntimeError(f"{type(self).__name__} ran {MAX_STEPS} steps without ending")

    def _run_node(self, spec: NodeSpec) -> Step:
        name = f"{type(self).__name__}.{spec.name}"
        logger.info("start %s", name)
        started = time.monotonic()
        try:
            step: object = getattr(self, spec.name)()
        except Exception as exc:
            if spec.on_exception == LET_THROUGH:
                logger.info("end %s: exception let through after %.3fs", name, _since(started))
                raise
            if isinstance(exc, LtsError):
                # An expected, explained error: its message says it all, no traceback needed.
                logger.error("node %s failed: %s", name, describe(exc))
            else:
                logger.exception("node %s raised", name)
            step = Step(spec.on_exception or REPORT_RESULTS, ok=False, message=self._explain(exc))
        checked = self._check_step(spec, step)
        outcome = "ok" if checked.ok else "failed"
        logger.info("end %s: %s -> %s in %.3fs", name, outcome, checked.target, _since(started))
        return checked

    def _skip_node(self, spec: NodeSpec) -> Step | None:
        """Return the exit of a node that must not run because the job is stopping, else None."""
        reason = STOP.reason
        if reason is None or spec.cleanup:
            return None
        name = f"{type(self).__name__}.{spec.name}"
        if spec.on_exception == LET_THROUGH:
            logger.info("node %s not run: %s", name, reason.message)
            raise JobStoppedError(reason.message)
        logger.info("node %s not run: %s -> %s", name, reason.message, spec.on_exception)
        message = self._prefixed(f"not run: the job was {reason.message}")
        return Step(spec.on_exception or REPORT_RESULTS, ok=False, message=message)

    def _explain(self, exc: Exception) -> str:
        # Known operational errors read as themselves; anything else is flagged as unexpected.
        if isinstance(exc, LtsError):
            return self._prefixed(describe(exc))
        return self._prefixed(f"unrecognized exception: {describe(exc)}")

    def _prefixed(self, message: str) -> str:
        return f"{self.prefix} {message}" if self.prefix else message

    def _check_step(self, spec: NodeSpec, step: object) -> Step:
        where = f"{type(self).__name__}.{spec.name}"
        if not isinstance(step, Step):
            raise MachineRuntimeError(f"node {where} returned {step!r} instead of a Step")
        allowed = spec.happy if step.ok else spec.unhappy
        if step.target not in allowed:
            kind = "Success" if step.ok else "Failure"
            raise MachineRuntimeError(
                f"node {where} left by {kind} to {step.target!r}, not one of its "
                f"{'happy' if step.ok else 'unhappy'} exits {list(allowed)}"
            )
        return step


def _since(started: float) -> float:
    return time.monotonic() - started
