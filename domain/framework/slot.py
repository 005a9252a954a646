"""Slot: machine state that one node sets and later nodes read, declared on the class.

A machine passes values from node to node (the run id `start_run` chose, the keys `load_key`
loaded). Declaring each as `Slot[T]("node that sets it")` on the machine class makes that state
explicit and typed: nodes read and assign it as a plain attribute, and reading it before it is
set raises a MachineRuntimeError naming the node that should have set it, instead of an `X |
None` field and a hand-written "has not run" guard in every machine.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar, overload

T = TypeVar("T")


class SlotUnsetError(RuntimeError):
    """A node read a slot before the node that sets it ran (a programming error)."""


class Slot(Generic[T]):
    """A per-instance value of a machine, set by one node and read by the next ones."""

    def __init__(self, set_by: str) -> None:
        self.set_by = set_by
        self._name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    @overload
    def __get__(self, instance: None, owner: type) -> Slot[T]: ...

    @overload
    def __get__(self, instance: object, owner: type) -> T: ...

    def __get__(self, instance: object | None, owner: type) -> Slot[T] | T:
        if instance is None:
            return self
        values: dict[str, Any] = vars(instance)
        if self._name not in values:
            raise SlotUnsetError(
                f"{type(instance).__name__}.{self._name} is read before {self.set_by} set it"
            )
        value: T = values[self._name]
        return value

    def __set__(self, instance: object, value: T) -> None:
        vars(instance)[self._name] = value

    def get(self, instance: object) -> T | None:
        """Return the value, or None when it is not set yet (for summaries and clean-up)."""
        value: T | None = vars(instance).get(self._name)
        return value
