"""Node declarations and the checks made when a machine class is defined.

A node is a method decorated with `@node(...)`. Its declaration names the happy exits, the unhappy
exits and where an exception goes (`on_exception`), or says it lets exceptions through
(`on_exception=LET_THROUGH`). `terminal=True` marks the end node, which has no exits.
`cleanup=True` marks a clean-up node: one that lets go of what the run holds (a keyring, a lock, a
mount, a partial run, a plaintext file). Once a job is asked to stop (SPEC 15) only clean-up nodes
run; see `domain.framework.stop`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, TypeVar

LET_THROUGH: Final = "<let exceptions through>"
"""`on_exception` value for a node whose exceptions propagate out of the machine."""

REPORT_RESULTS: Final = "report_results"
"""The terminal node every machine ends in."""


class MachineDefinitionError(TypeError):
    """A machine class declares an impossible graph; raised when the class is defined."""


@dataclass(frozen=True, slots=True)
class NodeSpec:
    """The declaration of one node."""

    name: str
    entry: bool
    happy: tuple[str, ...]
    unhappy: tuple[str, ...]
    on_exception: str | None
    terminal: bool
    cleanup: bool = False

    @property
    def exits(self) -> tuple[str, ...]:
        """Return every exit, happy first, without repeats."""
        return tuple(dict.fromkeys(self.happy + self.unhappy))


F = TypeVar("F", bound=Callable[..., Any])


def node(
    *,
    entry: bool = False,
    happy: Iterable[str] = (),
    unhappy: Iterable[str] = (),
    on_exception: str | None = None,
    terminal: bool = False,
    cleanup: bool = False,
) -> Callable[[F], F]:
    """Declare a method as a machine node.

    Args:
        entry: the node the machine starts at (exactly one per machine).
        happy: nodes a Success may go to.
        unhappy: nodes a Failure may go to.
        on_exception: the unhappy exit an exception goes to, or LET_THROUGH.
        terminal: the end node; it has no exits and no exception target.
        cleanup: a clean-up node, which still runs after the job was asked to stop.
    """

    def decorate(method: F) -> F:
        method.__lts_node__ = NodeSpec(  # type: ignore[attr-defined]
            name=method.__name__,
            entry=entry,
            happy=tuple(happy),
            unhappy=tuple(unhappy),
            on_exception=on_exception,
            terminal=terminal,
            cleanup=cleanup,
        )
        return method

    return decorate


def collect_nodes(namespace: Mapping[str, object]) -> dict[str, NodeSpec]:
    """Return the node declarations found among a class's attributes, in definition order."""
    found: dict[str, NodeSpec] = {}
    for value in namespace.values():
        spec = getattr(value, "__lts_node__", None)
        if isinstance(spec, NodeSpec):
            found[spec.name] = spec
    return found


def check_definition(machine: str, nodes: Mapping[str, NodeSpec]) -> str:
    """Check a machine's graph and return its entry node; raise MachineDefinitionError if wrong."""
    if not nodes:
        raise MachineDefinitionError(f"{machine} declares no nodes")
    entries = [spec.name for spec in nodes.values() if spec.entry]
    if not entries:
        raise MachineDefinitionError(f"{machine} declares no entry node")
    if len(entries) > 1:
        raise MachineDefinitionError(
            f"{machine} declares several entry nodes: {', '.join(entries)}"
        )
    if REPORT_RESULTS not in nodes or not nodes[REPORT_RESULTS].terminal:
        raise MachineDefinitionError(f"{machine} has no terminal node {REPORT_RESULTS!r}")
    for spec in nodes.values():
        _check_node(machine, spec, nodes)
    _check_reachable(machine, entries[0], nodes)
    return entries[0]


def _check_node(machine: str, spec: NodeSpec, nodes: Mapping[str, NodeSpec]) -> None:
    where = f"{machine}.{spec.name}"
    if spec.terminal:
        if spec.exits:
            raise MachineDefinitionError(f"terminal node {where} declares exits")
        if spec.on_exception is not None:
            raise MachineDefinitionError(f"terminal node {where} declares an exception target")
        if spec.entry:
            raise MachineDefinitionError(f"terminal node {where} cannot be the entry")
        if spec.cleanup:
            raise MachineDefinitionError(f"terminal node {where} cannot be a clean-up node")
        return
    if not spec.exits:
        raise MachineDefinitionError(f"node {where} has no exits and is not terminal")
    for target in spec.exits:
        if target not in nodes:
            raise MachineDefinitionError(f"node {where} exits to unknown node {target!r}")
        if target == spec.name:
            raise MachineDefinitionError(f"node {where} exits to itself")
    if spec.on_exception is None:
        raise MachineDefinitionError(
            f"node {where} must declare on_exception (an unhappy exit or LET_THROUGH)"
        )
    if spec.on_exception != LET_THROUGH and spec.on_exception not in spec.unhappy:
        raise MachineDefinitionError(
            f"node {where} sends exceptions to {spec.on_exception!r}, which is not an unhappy exit"
        )


def _check_reachable(machine: str, entry: str, nodes: Mapping[str, NodeSpec]) -> None:
    seen = {entry}
    pending = [entry]
    while pending:
        for target in nodes[pending.pop()].exits:
            if target not in seen:
                seen.add(target)
                pending.append(target)
    unreachable = [name for name in nodes if name not in seen]
    if unreachable:
        raise MachineDefinitionError(
            f"{machine} has nodes unreachable from {entry!r}: {', '.join(unreachable)}"
        )


def walk(entry: str, nodes: Mapping[str, NodeSpec]) -> list[NodeSpec]:
    """Return the nodes in breadth-first order from the entry, happy exits before unhappy ones."""
    order = [entry]
    index = 0
    while index < len(order):
        for target in nodes[order[index]].exits:
            if target not in order:
                order.append(target)
        index += 1
    return [nodes[name] for name in order]
