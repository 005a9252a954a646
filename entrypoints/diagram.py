"""Write the machines' Mermaid diagrams: `python -m entrypoints.diagram [--check] [--output DIR]`.

Without `--output` the pages go to `docs/machines` of the checkout the current directory lies
in; an installed package has no docs to write into, so outside a checkout it asks for `--output`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from domain.framework.machine import Machine
from domain.machines.archive import ArchiveFileMachine
from domain.machines.backup import BackupClientMachine
from domain.machines.backup_database import BackupDatabaseMachine
from domain.machines.check import CheckClientMachine
from domain.machines.check_dumpable import (
    CheckReadableMachine,
    ProbeDumpMachine,
    UnreadableObjectMachine,
)
from domain.machines.check_keys import CheckKeysMachine
from domain.machines.create_client import CreateClientMachine
from domain.machines.decrypt import DecryptDumpMachine
from domain.machines.drill import DrillRunMachine
from domain.machines.drill_database import CompareTableMachine, DrillDatabaseMachine
from domain.machines.freshness import CheckFreshnessMachine, MonthFreshnessMachine
from domain.machines.hold import HoldRunMachine, ReleaseRunMachine
from domain.machines.listing import ListRunsMachine
from domain.machines.mount import MountShareMachine
from domain.machines.private_key import LoadPrivateKeyMachine
from domain.machines.rekey import RekeyClientMachine
from domain.machines.rekey_file import RekeyFileMachine
from domain.machines.rekey_run import RekeyRunMachine
from domain.machines.report import ReportClientMachine, ReportFleetMachine
from domain.machines.restore import RestoreDatabaseMachine
from domain.machines.retention import ApplyRetentionMachine, DeleteRunMachine
from domain.machines.retention_job import RetentionClientMachine
from domain.machines.survey import SurveyClientMachine
from domain.machines.verify import VerifyFileMachine, VerifyRunMachine, VerifyRunsMachine
from domain.machines.verify_logs import VerifyLogMachine
from entrypoints.args import OneLineParser
from entrypoints.requests import DiagramJob

MACHINES: tuple[type[Machine], ...] = (
    MountShareMachine,
    BackupClientMachine,
    BackupDatabaseMachine,
    ApplyRetentionMachine,
    DeleteRunMachine,
    RetentionClientMachine,
    ListRunsMachine,
    LoadPrivateKeyMachine,
    RestoreDatabaseMachine,
    DecryptDumpMachine,
    VerifyRunsMachine,
    VerifyRunMachine,
    VerifyFileMachine,
    CheckClientMachine,
    CheckKeysMachine,
    CheckFreshnessMachine,
    MonthFreshnessMachine,
    CreateClientMachine,
    ArchiveFileMachine,
    HoldRunMachine,
    ReleaseRunMachine,
    ReportFleetMachine,
    ReportClientMachine,
    SurveyClientMachine,
    VerifyLogMachine,
    RekeyClientMachine,
    RekeyRunMachine,
    RekeyFileMachine,
    DrillRunMachine,
    DrillDatabaseMachine,
    CompareTableMachine,
    CheckReadableMachine,
    UnreadableObjectMachine,
    ProbeDumpMachine,
)


def main(argv: Sequence[str] | None = None) -> None:
    """Write the diagrams, or with --check exit 1 when any is stale."""
    job_parser = OneLineParser(prog="diagram", description=__doc__)
    job_parser.add_argument(
        "--output", type=Path, default=None, help="default: docs/machines of this checkout"
    )
    job_parser.add_argument("--check", action="store_true", help="only report stale pages")
    args = job_parser.parse_args(argv)
    from entrypoints.container import run_tool

    run_tool(DiagramJob(output=args.output, check=args.check))


if __name__ == "__main__":
    main()
