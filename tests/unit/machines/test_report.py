"""ReportFleetMachine, ReportClientMachine and SurveyClientMachine with in-memory adapters."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import PurePosixPath

from adapters.memory.clock import FixedClock
from adapters.memory.config_opener import InMemoryConfigOpener
from adapters.memory.config_source import InMemoryConfigSource
from adapters.memory.encryptor import InMemoryEncryptor
from adapters.memory.file_share import InMemoryFileShare
from adapters.memory.report_writer import InMemoryReportWriter
from adapters.memory.task_runner import SerialTaskRunner
from domain.framework.results import Failure
from domain.machines.mount import MountShareMachine
from domain.machines.report import ReportClientMachine, ReportFleetMachine
from domain.machines.retention import RetentionOptions
from domain.machines.survey import SurveyClientMachine, parse_drill
from domain.models.fleet import ClientStore, FleetClient
from domain.models.redaction import Redactor
from domain.models.report import CellStatus, ReportPolicy
from ports.errors import ReportError, ShareUnavailableError
from ports.file_share import FileShare, ShareOpener, ShareTarget
from tests.support.memory_world import client_values
from tests.support.seeding import at, seed_run

NOW = datetime(2026, 11, 15, 12, 0, tzinfo=UTC)
CLIENT = ["survey_client", "judge_client"]
SURVEY = ["survey_runs", "read_drills", "plan_retention", "load_public_key", "dispose_public_key"]


class ShareByUnc(ShareOpener):
    """A share per storage-unc; an unknown one cannot be opened."""

    def __init__(self, shares: dict[str, FileShare]) -> None:
        self.shares = shares

    def open(self, target: ShareTarget) -> FileShare:
        if target.unc not in self.shares:
            raise ShareUnavailableError(f"{target.unc} cannot be mounted")
        return self.shares[target.unc]


class Fleet:
    def __init__(self, names=("acme", "beta"), *, encryptor=None, writer=None) -> None:
        self.clock = FixedClock(NOW)
        self.shares = {name: InMemoryFileShare() for name in names}
        self.sources = {
            f"file:///{name}.toml": InMemoryConfigSource(
                client_values(
                    **{"client-name": name, "key-name": "acme", "storage-unc": f"file:///s/{name}"}
                )
            )
            for name in names
        }
        self.opener = ShareByUnc(
            {f"file:///s/{name}": share for name, share in self.shares.items()}
        )
        self.encryptor = encryptor or InMemoryEncryptor()
        self.writer = writer or InMemoryReportWriter()
        self.clients = [
            FleetClient(name, 6, ClientStore(f"file:///{name}.toml", "-", "-")) for name in names
        ]

    def machine(self, clients=None) -> ReportFleetMachine:
        policy = ReportPolicy()
        redactor = Redactor()

        def mount(inner, *, client, source):
            return MountShareMachine(
                inner,
                job="report",
                client=client,
                source=source,
                opener=self.opener,
                redactor=redactor,
            )

        def survey(context):
            return SurveyClientMachine(
                context, encryptor=self.encryptor, clock=self.clock, retention=RetentionOptions()
            )

        children = [
            ReportClientMachine(
                client,
                sources=InMemoryConfigOpener(self.sources),
                mount=mount,
                survey=survey,
                clock=self.clock,
                policy=policy,
            )
            for client in (clients or self.clients)
        ]
        return ReportFleetMachine(
            clients=children,
            writer=self.writer,
            runner=SerialTaskRunner(),
            clock=self.clock,
            policy=policy,
        )


def monthly(share, months):
    for year, month in months:
        seed_run(share, at(year, month))


def test_a_fleet_of_fresh_clients_reports_no_problem_and_writes_one_row_each():
    fleet = Fleet()
    for share in fleet.shares.values():
        monthly(share, [(2026, 9), (2026, 10)])
    machine = fleet.machine()
    results = machine.execute()
    # Each client is its own two results; the share lifecycle's are summed up in them.
    assert [r.node for r in results] == [*CLIENT, *CLIENT, "survey_clients", "write_report"]
    assert all(r.ok for r in results)
    (report,) = fleet.writer.reports
    assert [row.name for row in report.clients] == ["acme", "beta"]
    assert len(report.periods) == 24
    assert report.periods[-1] == "2026-11"
    cells = {cell.period: cell.status for cell in report.clients[0].cells}
    assert cells["2026-09"] == cells["2026-10"] == CellStatus.COMPLETE
    assert cells["2026-11"] == CellStatus.OPEN
    assert cells["2026-08"] == CellStatus.NONE
    assert (
        machine.summary(results)
        == "report: 2 clients, 0 with problems, written to memory, 0 failures"
    )


def test_the_report_reads_the_shares_and_writes_nothing_to_them():
    fleet = Fleet()
    for share in fleet.shares.values():
        monthly(share, [(2026, 9), (2026, 10)])
    before = {name: dict(share.files) for name, share in fleet.shares.items()}
    fleet.machine().execute()
    assert {name: share.files for name, share in fleet.shares.items()} == before
    assert all(share.deleted == [] for share in fleet.shares.values())


def test_an_unreachable_client_is_a_row_that_says_why_and_one_failure():
    fleet = Fleet()
    monthly(fleet.shares["acme"], [(2026, 10)])
    gone = FleetClient("gone", 6, ClientStore("file:///gone.toml", "-", "-"))
    results = fleet.machine([*fleet.clients, gone]).execute()
    failures = [r for r in results if isinstance(r, Failure)]
    assert [(f.node, f.message) for f in failures] == [
        ("survey_client", "gone no config at file:///gone.toml")
    ]
    row = fleet.writer.reports[0].clients[2]
    assert (row.name, row.reachable) == ("gone", False)
    assert row.error == "unreachable: no config at file:///gone.toml"


def test_a_share_that_cannot_be_mounted_makes_the_client_unreachable():
    fleet = Fleet()
    fleet.opener.shares.pop("file:///s/beta")
    results = fleet.machine().execute()
    failures = [r for r in results if isinstance(r, Failure)]
    assert [f.node for f in failures] == ["survey_client"]
    assert failures[-1].message == "beta unreachable: file:///s/beta cannot be mounted"
    assert fleet.writer.reports[0].clients[1].reachable is False


def test_a_missing_month_an_incomplete_newest_run_and_a_held_run_are_reported():
    fleet = Fleet(["acme"])
    share = fleet.shares["acme"]
    seed_run(share, at(2026, 7))
    seed_run(share, at(2026, 8), held=True)
    seed_run(share, at(2026, 10), statuses={"sales": "ok", "hr": "failed"})
    results = fleet.machine().execute()
    (failure,) = [r for r in results if isinstance(r, Failure)]
    assert failure.node == "judge_client"
    assert "no complete run for 2026-09 (no run), 2026-10 (incomplete)" in failure.message
    assert "the newest run end-of-month/2026-10/20261028T220000Z has failed databases: hr" in (
        failure.message
    )
    row = fleet.writer.reports[0].clients[0]
    cells = {cell.period: cell for cell in row.cells}
    assert cells["2026-09"].status is CellStatus.MISSING
    assert cells["2026-10"].status is CellStatus.PARTIAL
    assert cells["2026-08"].held is True
    assert row.holds[0].reason == "legal hold: case 42"
    assert row.holds[0].who == ""
    assert row.failures[0] == "end-of-month/2026-10/20261028T220000Z: hr failed"


def test_an_expiring_key_is_a_problem_and_a_key_that_cannot_load_too():
    fleet = Fleet(["acme"], encryptor=InMemoryEncryptor(expires=NOW + timedelta(days=30)))
    monthly(fleet.shares["acme"], [(2026, 10)])
    results = fleet.machine().execute()
    (failure,) = [r for r in results if isinstance(r, Failure)]
    assert (
        "the encryption key " + "F" * 40 + " expires on 2026-12-15 (in 30 days)" in failure.message
    )
    key = fleet.writer.reports[0].clients[0].keys[0]
    assert (key.expiring, key.days_left) == (True, 30)

    broken = Fleet(["acme"], encryptor=InMemoryEncryptor(key_names=("other",)))
    monthly(broken.shares["acme"], [(2026, 10)])
    failures = [r for r in broken.machine().execute() if isinstance(r, Failure)]
    assert [f.node for f in failures] == ["judge_client"]
    assert "does not match key-name" in failures[-1].message
    assert broken.writer.reports[0].clients[0].reachable is True


def test_a_retention_alert_and_a_failed_drill_are_problems():
    fleet = Fleet(["acme"])
    share = fleet.shares["acme"]
    fleet.clock.moment = datetime(2028, 3, 15, tzinfo=UTC)
    seed_run(share, at(2026, 9), statuses={"sales": "ok", "legacy": "ok"})
    seed_run(share, at(2028, 2), statuses={"sales": "ok", "legacy": "failed"})
    line = json.dumps({"run": "20280228T220000Z", "ok": False, "error": "row counts differ"})
    share.append_line(PurePosixPath("drills.jsonl"), line)
    (failure,) = [r for r in fleet.machine().execute() if isinstance(r, Failure)]
    assert "legacy" in failure.message
    assert "the last drill of run 20280228T220000Z failed: row counts differ" in failure.message
    cells = {cell.period: cell for cell in fleet.writer.reports[0].clients[0].cells}
    assert cells["2028-02"].drilled == "failed"


def test_a_report_that_cannot_be_written_is_one_failure():
    fleet = Fleet(writer=InMemoryReportWriter(error=ReportError("cannot write /out/index.html")))
    results = fleet.machine().execute()
    (failure,) = [r for r in results if isinstance(r, Failure)]
    assert (failure.node, failure.message) == (
        "write_report",
        "report cannot write /out/index.html",
    )


def drill(line):
    record = parse_drill(line)
    assert record is not None
    return record


def test_drill_lines_are_read_leniently():
    passed = drill('{"run": "end-of-month/2026-10/20261028T220000Z", "status": "passed"}')
    assert (passed.run_id, passed.ok) == ("20261028T220000Z", True)
    assert drill('{"run_id": "20261028T220000Z", "result": "failed"}').ok is False
    assert drill('{"run_id": "20261028T220000Z", "status": "weird"}').ok is None
    assert parse_drill("not json") is None
    assert parse_drill('{"ok": true}') is None
    assert drill('{"run": "x", "time": "yesterday"}').time is None


def test_the_survey_runs_its_nodes_in_order_and_closes_the_keyring():
    from domain.machines.mount import ClientContext
    from domain.services.configs import read_client_config

    share = InMemoryFileShare()
    seed_run(share, at(2026, 10))
    encryptor = InMemoryEncryptor()
    config = read_client_config(InMemoryConfigSource(client_values()), "acme", Redactor())
    survey = SurveyClientMachine(
        ClientContext(config, share),
        encryptor=encryptor,
        clock=FixedClock(NOW),
        retention=RetentionOptions(),
    )
    assert [r.node for r in survey.execute()] == SURVEY
    assert encryptor.disposed
    assert survey.surveyed
    assert len(survey.survey.runs) == 1


def test_a_share_that_breaks_while_runs_are_read_stops_the_survey():
    share = InMemoryFileShare(broken={"list_dir": ShareUnavailableError("share went away")})
    fleet = Fleet(["acme"])
    fleet.opener.shares["file:///s/acme"] = share
    (failure,) = [r for r in fleet.machine().execute() if isinstance(r, Failure)]
    assert failure.message == "acme unreachable: share went away"
