"""An end point for machines that hold a mount or keyrings themselves (check, create_client)."""

from __future__ import annotations

import logging
from typing import Protocol, runtime_checkable

from domain.framework.endpoints import EndPoint
from domain.framework.machine import Machine

logger = logging.getLogger("lts.endpoint")


@runtime_checkable
class Releasable(Protocol):
    """A machine that can let go of whatever it still holds after it broke."""

    def release_all(self) -> None:
        """Unmount and dispose of whatever is still held; safe to call twice."""


class ReleasingEndPoint(EndPoint):
    """An end point that, as a last guard, releases what its machine still holds."""

    def _after(self, machine: Machine) -> None:
        if isinstance(machine, Releasable):
            try:
                machine.release_all()
            except Exception:
                logger.exception("releasing what the machine held failed")
