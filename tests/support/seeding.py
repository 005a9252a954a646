"""Seed a share with runs: published (with manifests), partial, held, damaged."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import PurePosixPath

from domain.models.manifest import DumpRecord, DumpStatus, Manifest
from domain.models.run import PARTIAL_SUFFIX, RunId, Tier
from domain.rules.tiering import classify
from ports.file_share import FileShare


def seed_run(
    share: FileShare,
    started: datetime,
    *,
    eoy_month: int = 6,
    statuses: dict[str, str] | None = None,
    held: bool = False,
    partial: bool = False,
    manifest: bool = True,
) -> PurePosixPath:
    """Write a run as the backup job would leave it; return its directory."""
    period = classify(started, eoy_month=eoy_month, timezone="UTC", offset_months=0)
    run_id = RunId.at(started)
    name = f"{run_id}{PARTIAL_SUFFIX}" if partial else str(run_id)
    directory = PurePosixPath(period.folder, name)
    share.make_dirs(directory)
    statuses = statuses if statuses is not None else {"sales": "ok"}
    records = []
    for db, status in statuses.items():
        if status == "ok":
            share.write_stream(directory / f"{db}.dump.gpg", [b"x" * 100])
        records.append(
            DumpRecord(
                name=db,
                file=f"{db}.dump.gpg",
                bytes=100 if status == "ok" else 0,
                status=DumpStatus(status),
                started=started,
                finished=started,
            )
        )
    if manifest and not partial:
        document = Manifest(
            client="acme",
            run_id=str(run_id),
            tier=Tier(period.tier),
            period=period.label,
            eoy_month=eoy_month,
            started=started,
            finished=started,
            tool_version="test",
            server_version="15",
            pg_dump_version="15",
            archive_format="custom",
            compression="gzip:6",
            key_name="acme",
            key_fingerprint="F" * 40,
            databases=records,
        )
        share.write_stream(directory / "manifest.json", [document.to_json()])
    if held:
        share.write_stream(directory / "HOLD", [b"legal hold: case 42\n"])
    return directory


def at(year: int, month: int, day: int = 28) -> datetime:
    """Return 22:00 UTC on a day: the usual time of a monthly run."""
    return datetime(year, month, day, 22, 0, tzinfo=UTC)
