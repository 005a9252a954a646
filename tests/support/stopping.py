"""Make a stop request arrive while a chosen node of a machine runs (in-memory tests).

A signal lands between two bytecodes of whatever the job does; the node that runs then goes on
to its end (its children were killed, so it may fail) and the machine runs only clean-up nodes
from there. `stop_during` wraps the node's method so that the stop is requested as it starts.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator

import pytest

from domain.framework.machine import Machine
from domain.framework.stop import STOP, StopReason

SIGTERM = StopReason("SIGTERM", 143)


def stop_during(
    monkeypatch: pytest.MonkeyPatch,
    machine: type[Machine],
    node: str,
    reason: StopReason = SIGTERM,
) -> None:
    """Request a stop as soon as `machine.node` starts (the node itself still runs)."""
    original = getattr(machine, node)
    assert node in machine.nodes, f"{machine.__name__} has no node {node}"

    @functools.wraps(original)
    def stopping(self: Machine) -> object:
        STOP.request(reason)
        return original(self)

    monkeypatch.setattr(machine, node, stopping)


@pytest.fixture
def no_stop() -> Iterator[None]:
    """Start with no stop request and forget any the test made."""
    STOP.clear()
    yield
    STOP.clear()
