"""The nodes that end every job that writes to a share: retention of both tiers, then unlock.

Shared by the backup job (retention runs after every backup, SPEC section 8) and the retention
job. A subclass sets `pruning` (what to prune, with which options) and `share_lock` before the
machine runs; its own nodes lead into `end_of_month_retention`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from domain.framework.definition import node
from domain.framework.machine import Step
from domain.machines.retention import ApplyRetentionMachine, RetentionOptions, RetentionPorts
from domain.machines.share_locked import ShareLockedMachine
from domain.models.run import Tier
from ports.file_share import FileShare


@dataclass(frozen=True, slots=True)
class Pruning:
    """Whose share to prune and how."""

    client: str
    end_of_month_days: int
    end_of_year_days: int
    share: FileShare
    ports: RetentionPorts
    options: RetentionOptions


class PruneAndUnlockMachine(ShareLockedMachine, abstract=True):
    """Apply retention to both tiers, then remove the share's lock marker."""

    pruning: Pruning

    def __init__(self) -> None:
        super().__init__()
        self.retention_machines: list[ApplyRetentionMachine] = []

    @node(
        happy=("end_of_year_retention",),
        unhappy=("end_of_year_retention",),
        on_exception="end_of_year_retention",
    )
    def end_of_month_retention(self) -> Step:
        """Prune expired end-of-month runs; also after failed dumps (SPEC section 8)."""
        self.add_results(self._tier(Tier.END_OF_MONTH).execute())
        return self.success(self.end_of_year_retention)

    @node(
        happy=("release_share_lock",),
        unhappy=("release_share_lock",),
        on_exception="release_share_lock",
    )
    def end_of_year_retention(self) -> Step:
        """Prune expired end-of-year runs."""
        self.add_results(self._tier(Tier.END_OF_YEAR).execute())
        return self.success(self.release_share_lock)

    @property
    def runs_deleted(self) -> int:
        """Return how many runs retention deleted in this run."""
        return sum(len(tier.deleted) for tier in self.retention_machines)

    def _tier(self, tier: Tier) -> ApplyRetentionMachine:
        pruning = self.pruning
        options = pruning.options
        if self.share_lock.took_over_dead:
            # The run whose marker was taken over is dead: its partial run is debris now, however
            # young (a quick rerun reaches retention within a second of it). This run's own
            # partial run is published or removed before retention.
            options = replace(options, partials_abandoned=True)
        machine = ApplyRetentionMachine(
            client=pruning.client,
            tier=tier,
            end_of_month_days=pruning.end_of_month_days,
            end_of_year_days=pruning.end_of_year_days,
            share=pruning.share,
            ports=pruning.ports,
            options=options,
        )
        self.retention_machines.append(machine)
        return machine
