"""Value types of retention (SPEC section 8): the policy, the facts of a run, and the plan.

The planner in `domain.rules.retention` takes `RunFacts` and a `RetentionPolicy` and returns a
`RetentionPlan`; a machine gathers the facts from the share and carries the plan out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum

from domain.models.manifest import DumpStatus, Manifest, ManifestDigest
from domain.models.run import PARTIAL_SUFFIX, RunId, Tier

DEFAULT_PARTIAL_MAX_AGE = timedelta(hours=24)


class RetentionConfigError(ValueError):
    """The retention policy is invalid; nothing may be planned or deleted with it."""


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """How long runs of each tier are kept, and the limits that guard deletion.

    Raises:
        RetentionConfigError: when a retention is below one day, `minimum_keep` is negative or
            `partial_max_age` is not positive (SPEC section 8: nothing is deleted then).
    """

    end_of_month_days: int
    end_of_year_days: int
    minimum_keep: int = 1
    partial_max_age: timedelta = DEFAULT_PARTIAL_MAX_AGE
    partials_abandoned: bool = False
    """Every `.partial` run is debris whatever its age: the run that was making it is known dead
    (its share lock was taken over) and this one holds the lock, so no other run makes one."""

    def __post_init__(self) -> None:
        for name, days in (
            ("end-of-month", self.end_of_month_days),
            ("end-of-year", self.end_of_year_days),
        ):
            if days < 1:
                raise RetentionConfigError(
                    f"{name} retention must be at least 1 day, not {days}: nothing is deleted"
                )
        if self.minimum_keep < 0:
            raise RetentionConfigError(
                f"retention minimum_keep must be 0 or more, not {self.minimum_keep}"
            )
        # A zero age would delete the `.partial` directory of the backup that is running now.
        if self.partial_max_age <= timedelta(0):
            raise RetentionConfigError(
                f"partial_max_age must be positive, not {self.partial_max_age}"
            )

    def days(self, tier: Tier) -> int:
        """Return the retention in days of a tier."""
        return self.end_of_year_days if tier is Tier.END_OF_YEAR else self.end_of_month_days


@dataclass(frozen=True, slots=True)
class RunFacts:
    """What retention needs to know about one run directory on the share.

    `databases` maps each database of the manifest to its dump status; it is None when the
    manifest is missing or unreadable (such a run is never complete and holds no ok dump).
    `held` is true when the run holds a `HOLD` file; `partial` when the directory is
    `<RUN_ID>.partial` debris of an unfinished run. Runs are equal when every field is; they hash
    by place (tier, period, run id, partial) so they can key sets and dicts.
    """

    tier: Tier
    period: str
    run_id: RunId
    databases: Mapping[str, DumpStatus] | None = field(hash=False)
    held: bool = False
    partial: bool = False

    @property
    def path(self) -> str:
        """Return the run's directory relative to the share root, as used in messages."""
        suffix = PARTIAL_SUFFIX if self.partial else ""
        return f"{self.tier}/{self.period}/{self.run_id}{suffix}"

    @property
    def complete(self) -> bool:
        """Tell whether the manifest was read and every database in it is ok (SPEC section 8)."""
        if self.partial or self.databases is None:
            return False
        return all(status is DumpStatus.OK for status in self.databases.values())


def database_statuses(
    manifest: Manifest | ManifestDigest | None,
) -> dict[str, DumpStatus] | None:
    """Return the per-database statuses of a manifest, for `RunFacts.databases`.

    A database listed twice counts as ok only when every entry is ok. None stays None.
    """
    if manifest is None:
        return None
    statuses: dict[str, DumpStatus] = {}
    for record in manifest.databases:
        if statuses.get(record.name) is not DumpStatus.FAILED:
            statuses[record.name] = record.status
    return statuses


class DeletionRule(StrEnum):
    """Why a run is deleted, as written to the audit log."""

    EXPIRED = "expired"
    PARTIAL_DEBRIS = "partial debris"


class KeepRail(StrEnum):
    """The safety rail that keeps a run the rules would otherwise delete."""

    LEGAL_HOLD = "legal hold"
    MINIMUM_KEEP = "minimum keep"
    LAST_GOOD_COPY = "last good copy"


@dataclass(frozen=True, slots=True)
class Deletion:
    """A run to delete whole, the rule that deletes it, and a one-line reason for the log."""

    run: RunFacts
    rule: DeletionRule
    reason: str


@dataclass(frozen=True, slots=True)
class Kept:
    """A run past its retention (or old partial debris) that safety rails keep.

    `last_good_of` names the databases whose last good copy the run holds (sorted; empty unless
    `KeepRail.LAST_GOOD_COPY` is among `rails`).
    """

    run: RunFacts
    rails: tuple[KeepRail, ...]
    reason: str
    last_good_of: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RetentionAlert:
    """A run past its retention that holds the last good copy of some databases.

    Raised whether or not another rail (a hold, `minimum_keep`) also keeps the run: either way no
    good dump of those databases is younger than the retention. The machine reports each alert as
    a Failure so that someone looks at the failing databases.
    """

    run: RunFacts
    databases: tuple[str, ...]
    message: str


@dataclass(frozen=True, slots=True)
class RetentionPlan:
    """What retention would do: deletions and kept runs oldest first, plus the alerts."""

    deletions: tuple[Deletion, ...] = ()
    kept: tuple[Kept, ...] = ()
    alerts: tuple[RetentionAlert, ...] = ()
