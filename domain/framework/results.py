"""Results a machine run produces: one Success or Failure per node that ran."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Success:
    """A node that did its action."""

    node: str

    @property
    def ok(self) -> bool:
        """Tell whether this result is a success."""
        return True


@dataclass(frozen=True, slots=True)
class Failure:
    """A node whose action failed; `message` starts with the machine's prefix."""

    node: str
    message: str

    @property
    def ok(self) -> bool:
        """Tell whether this result is a success."""
        return False


Result = Success | Failure


def failures(results: list[Result]) -> list[Failure]:
    """Return the failures among `results`, in order."""
    return [result for result in results if isinstance(result, Failure)]
