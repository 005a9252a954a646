"""Choose the runs and dumps an operator asked for (`--run RUN_ID|latest|all`, `--database`).

Runs are found through RunCatalog (SPEC section 7 layout); `latest` for one database is the newest
published run that holds an `ok` dump of it, so a run where that database failed is passed over.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from domain.models.manifest import DumpRecord, DumpStatus, Manifest
from domain.models.restore_request import RunChoice, RunChoiceKind
from domain.models.run import StoredRun
from domain.services.catalog import RunCatalog
from ports.errors import LtsError, ShareUnavailableError

logger = logging.getLogger("lts.restore")


class RunNotFoundError(LtsError):
    """No run (or no usable dump in it) matches what the operator asked for."""


@dataclass(frozen=True, slots=True)
class ChosenDump:
    """A database's dump in a run: where the run is, its manifest and the dump's record."""

    run: StoredRun
    manifest: Manifest
    record: DumpRecord

    @property
    def label(self) -> str:
        """Return `RUN_ID (tier/period)` for messages and summaries."""
        return f"{self.run.run_id} ({self.run.tier}/{self.run.period})"


def find_runs(catalog: RunCatalog, choice: RunChoice) -> list[StoredRun]:
    """Return the published runs `choice` names, oldest first; raise RunNotFoundError if none."""
    runs = catalog.all_runs()
    if not runs:
        raise RunNotFoundError("there is no published run on the share")
    if choice.kind is RunChoiceKind.ALL:
        return runs
    if choice.kind is RunChoiceKind.LATEST:
        return [runs[-1]]
    found = [run for run in runs if run.run_id == choice.run_id]
    if not found:
        raise RunNotFoundError(
            f"run {choice.run_id} is not on the share (newest runs: {_newest(runs)})"
        )
    return found


def choose_dump(catalog: RunCatalog, choice: RunChoice, database: str) -> ChosenDump:
    """Return the dump of `database` in the chosen run; raise RunNotFoundError when unusable."""
    if choice.kind is RunChoiceKind.ONE:
        run = find_runs(catalog, choice)[-1]
        manifest = catalog.manifest(run)
        record = _record(manifest, database)
        if record is None:
            held = ", ".join(r.name for r in manifest.databases) or "no database"
            raise RunNotFoundError(f"run {run.run_id} holds no database {database!r} ({held})")
        if record.status is not DumpStatus.OK:
            raise RunNotFoundError(
                f"the dump of {database!r} in run {run.run_id} failed: {record.error or 'unknown'}"
            )
        return ChosenDump(run, manifest, record)
    runs = catalog.all_runs()
    for run in reversed(runs):
        try:
            manifest = catalog.manifest(run)
        except ShareUnavailableError as exc:
            logger.warning("skipping run %s: %s", run.run_id, exc)
            continue
        record = _record(manifest, database)
        if record is not None and record.status is DumpStatus.OK:
            if run != runs[-1]:
                logger.info("the newest run with an ok dump of %s is %s", database, run.run_id)
            return ChosenDump(run, manifest, record)
    if not runs:
        raise RunNotFoundError("there is no published run on the share")
    raise RunNotFoundError(f"no published run holds an ok dump of database {database!r}")


def _record(manifest: Manifest, database: str) -> DumpRecord | None:
    return next((r for r in manifest.databases if r.name == database), None)


def _newest(runs: list[StoredRun], count: int = 3) -> str:
    return ", ".join(str(run.run_id) for run in reversed(runs[-count:]))
