"""Metrics, report and the page in a real headless browser, for a small fleet (SPEC 16).

Two clients are backed up for real (PostgreSQL 15, gpg) with `[metrics] textfile_dir` set, and
every `.prom` file is parsed with the Prometheus client library's own parser. One run is put on
hold. Then `report` runs over both clients and two unreachable ones (a missing config, a share
that is not there): it changes nothing on any share, says why for each unreachable client, exits
with the number of clients with a problem, and its page loads in Debian's headless Chromium with
no console error and no request but its own.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from domain.rules import metrics as m
from tests.support.browser import chromium, open_page
from tests.support.gpg import KeyPair, generate_key_pair
from tests.support.jobs import JobResult, Site, b64
from tests.support.postgres import PostgresServer

pytestmark = pytest.mark.integration

CLIENTS = ("acme", "beta")
# As root, scripts/setup installs Chromium: then a missing browser fails instead of skipping.
NEEDS_CHROMIUM = pytest.mark.skipif(
    chromium() is None and os.geteuid() != 0,
    reason="chromium is not installed (scripts/setup installs it as root)",
)


def tree(root: Path) -> dict[str, tuple[int, int]]:
    """Every file and directory under `root` with its size and mtime: what 'unchanged' means."""
    return {
        str(p.relative_to(root)): (p.lstat().st_size, p.lstat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
    }


class Fleet:
    """A site with two real clients, each with its own databases, role, key and share."""

    def __init__(self, root: Path, server: PostgresServer) -> None:
        self.root = root
        self.site = Site(root)
        self.metrics = root / "textfile"
        self.metrics.mkdir()
        self.site.settings = {
            "backup": {"pg_bin_dir": str(server.bin_dir)},
            "metrics": {"textfile_dir": str(self.metrics)},
        }
        self.site.write_master_config()
        self.urls: dict[str, str] = {}
        self.shares: dict[str, Path] = {}
        self.passwords: dict[str, str] = {}
        self.keys: dict[str, KeyPair] = {}
        self.databases: dict[str, list[str]] = {}
        tag = secrets.token_hex(3)
        for name in CLIENTS:
            self.databases[name] = [f'{name} "sales" {tag}', f"{name}_hr_{tag}"]
            for database in self.databases[name]:
                server.create_database(database)
                server.execute(
                    "CREATE TABLE t (id int); INSERT INTO t SELECT generate_series(1, 3000);",
                    dbname=database,
                )
        for name in CLIENTS:
            self._client(name, server, tag)

    def _client(self, name: str, server: PostgresServer, tag: str) -> None:
        role, password = f"rep_{name}_{tag}", "pw-" + secrets.token_urlsafe(20)
        server.create_role(role, password, "pg_read_all_data")
        databases = self.databases[name]
        with server.connect() as conn:
            rows = conn.execute(
                "SELECT datname FROM pg_database WHERE NOT datistemplate"
            ).fetchall()
        names = [str(row[0]) for row in rows]
        exclude = ",".join(n for n in names if n not in databases and "," not in n)
        # beta's key stops encrypting in 60 days: the report must name it.
        expire = "60d" if name == "beta" else "0"
        self.keys[name] = generate_key_pair(
            self.root / f"key-{name}", name, f"{name}@x.test", None, expire
        )
        share = self.root / f"share-{name}"
        share.mkdir()
        self.shares[name] = share
        self.passwords[name] = password
        self.urls[name] = self.site.write_client_config(
            name,
            {
                "client-name": name,
                "postgresql-host": server.host,
                "postgresql-port": str(server.port),
                "postgresql-auth": "password",
                "postgresql-user": role,
                "postgresql-secret": password,
                "postgresql-sslmode": "disable",
                "key-name": name,
                "public-key": b64(self.keys[name].public_armored),
                "exclude-databases": exclude,
                "storage-unc": f"file://{share}",
                "end-of-month-retention": "400",
                "end-of-year-retention": "3650",
            },
        )

    def fleet_file(self) -> Path:
        nowhere = self.site.write_client_config(
            "noshare",
            {
                "client-name": "noshare",
                "postgresql-host": "db.invalid",
                "postgresql-auth": "password",
                "postgresql-user": "x",
                "postgresql-secret": "never-shown-secret",
                "key-name": "noshare",
                "public-key": b64(b"unused"),
                "storage-unc": f"file://{self.root}/no-such-share",
                "end-of-month-retention": "400",
                "end-of-year-retention": "3650",
            },
        )
        entries = [(name, self.urls[name]) for name in CLIENTS]
        entries += [("gone", f"file://{self.root}/configs/gone.toml"), ("noshare", nowhere)]
        path = self.root / "fleet.toml"
        path.write_text(
            "".join(
                f'[[client]]\nname = "{name}"\neoy_month = 6\nkey_vault = "{url}"\n'
                'client_id = "-"\nclient_secret = "-"\n\n'
                for name, url in entries
            )
        )
        return path

    def run(self, job: str, *args: str) -> JobResult:
        return self.site.run(job, *args)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory, postgres_server) -> Fleet:
    fleet = Fleet(tmp_path_factory.mktemp("fleet"), postgres_server)
    for name in CLIENTS:
        result = fleet.run("backup", name, "6", fleet.urls[name], "-", "-")
        assert result.code == 0, result.stdout + result.stderr
    return fleet


def families(path: Path) -> dict[str, Any]:
    return {family.name: family for family in text_string_to_metric_families(path.read_text())}


def test_every_backup_leaves_a_prom_file_that_prometheus_parses(fleet):
    files = sorted(p.name for p in fleet.metrics.iterdir())
    assert files == ["lts_acme_backup.prom", "lts_beta_backup.prom"]
    for name in CLIENTS:
        found = families(fleet.metrics / f"lts_{name}_backup.prom")
        for family in (
            m.LAST_RUN,
            m.LAST_SUCCESS,
            m.DURATION,
            m.FAILURES,
            m.DATABASE_BYTES,
            m.DATABASE_DURATION,
            m.DATABASE_OK,
            m.KEY_EXPIRY,
            m.LAST_COMPLETE_PERIOD,
        ):
            assert family in found, (name, family)
            assert found[family].type == "gauge"
            assert found[family].documentation
        failures = found[m.FAILURES].samples[0]
        assert failures.labels == {"client": name, "job": "backup"}
        assert failures.value == 0
        databases = {s.labels["database"]: s.value for s in found[m.DATABASE_OK].samples}
        assert any('"sales"' in database for database in databases)
        assert set(databases.values()) == {1.0}
        sizes = [s.value for s in found[m.DATABASE_BYTES].samples]
        assert all(size > 100 for size in sizes)


def test_a_failed_job_keeps_the_last_success_and_counts_its_failures(fleet):
    before = families(fleet.metrics / "lts_acme_backup.prom")[m.LAST_SUCCESS].samples[0].value
    bad = fleet.run("retention", "acme", fleet.urls["acme"], "-", "-")
    assert bad.code == 0
    checked = fleet.run("list", "acme", "file:///nowhere/acme.toml", "-", "-")
    assert checked.code == 1
    listed = families(fleet.metrics / "lts_acme_list.prom")
    assert listed[m.FAILURES].samples[0].value == 1
    assert m.LAST_SUCCESS not in listed
    assert (
        families(fleet.metrics / "lts_acme_backup.prom")[m.LAST_SUCCESS].samples[0].value == before
    )
    assert families(fleet.metrics / "lts_acme_retention.prom")[m.FAILURES].samples[0].value == 0


@pytest.fixture(scope="module")
def report(fleet) -> tuple[JobResult, Path, dict[str, dict[str, tuple[int, int]]]]:
    run_id = (
        next((fleet.shares["acme"] / "end-of-month").glob("*/*")).name
        if any((fleet.shares["acme"] / "end-of-month").glob("*/*"))
        else next((fleet.shares["acme"] / "end-of-year").glob("*/*")).name
    )
    held = fleet.run(
        "hold", "acme", fleet.urls["acme"], "-", "-", "--run", run_id, "--reason", "case 42 <b>"
    )
    assert held.code == 0, held.stdout
    before = {name: tree(share) for name, share in fleet.shares.items()}
    output = fleet.root / "report"
    result = fleet.run("report", str(fleet.fleet_file()), "--output", str(output))
    return result, output, before


def test_the_report_changes_nothing_on_any_share(fleet, report):
    _, _, before = report
    assert {name: tree(share) for name, share in fleet.shares.items()} == before
    assert not (fleet.root / "no-such-share").exists()


def test_the_report_exits_with_the_number_of_clients_with_a_problem(report):
    result, _, _ = report
    assert result.code == 3, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert [line.split()[2] for line in lines[:-1]] == ["beta", "gone", "noshare"]
    assert "expires on" in lines[0]
    assert lines[1].startswith("Failure: survey_client gone unreachable: ")
    assert "does not exist" in lines[1]
    assert lines[2].startswith("Failure: survey_client noshare unreachable: ")
    assert lines[-1].startswith("report: 4 clients, 3 with problems, written to ")
    assert result.stderr == ""


def test_report_json_has_a_row_per_client_with_months_sizes_keys_and_holds(fleet, report):
    _, output, _ = report
    document = json.loads((output / "report.json").read_text())
    rows = {row["name"]: row for row in document["clients"]}
    assert list(rows) == ["acme", "beta", "gone", "noshare"]
    assert len(document["periods"]) == 24
    assert document["clients_with_problems"] == 3
    acme = rows["acme"]
    assert acme["reachable"] is True
    assert acme["problems"] == []
    assert acme["cells"][-1]["status"] == "complete"
    assert acme["cells"][-1]["held"] is True
    assert len(acme["sizes"]) == 2
    assert all(point["bytes"] > 100 for s in acme["sizes"] for point in s["points"])
    assert acme["holds"][0]["reason"] == "case 42 <b>"
    assert acme["keys"][0]["fingerprint"] == fleet.keys["acme"].fingerprint
    assert acme["keys"][0]["expires"] is None
    beta = rows["beta"]
    assert beta["keys"][0]["expiring"] is True
    assert 58 <= beta["keys"][0]["days_left"] <= 60
    assert rows["gone"]["reachable"] is False
    assert rows["gone"]["error"].startswith("unreachable: ")
    assert rows["noshare"]["reachable"] is False


def test_no_secret_reaches_the_report_or_its_output(fleet, report):
    result, output, _ = report
    texts = [
        result.stdout,
        (output / "report.json").read_text(),
        (output / "index.html").read_text(),
    ]
    for secret in [*fleet.passwords.values(), "never-shown-secret"]:
        assert all(secret not in text for text in texts)


def test_the_report_writes_its_own_metrics(fleet, report):
    found = families(fleet.metrics / "lts_fleet_report.prom")
    assert found[m.FAILURES].samples[0].value == 3
    assert found[m.FAILURES].samples[0].labels == {"client": "fleet", "job": "report"}


@NEEDS_CHROMIUM
def test_the_page_loads_in_headless_chromium_with_no_error_no_request_and_a_row_per_client(
    report,
):
    _, output, _ = report
    page = (output / "index.html").as_uri()
    run = open_page(
        page,
        evaluate={
            "rows": "[...document.querySelectorAll('table.freshness tbody tr')]"
            ".map(r => r.dataset.client)",
            "unreachable": "document.querySelectorAll('td.unreachable').length",
            "charts": "document.querySelectorAll('svg.chart').length",
            "hold": "document.querySelector('table.holds').innerText",
        },
    )
    assert run.errors == []
    assert run.requests == [page]
    assert run.values["rows"] == ["acme", "beta", "gone", "noshare"]
    assert run.values["unreachable"] == 2
    assert run.values["charts"] == 2
    assert "case 42 <b>" in run.values["hold"]


@NEEDS_CHROMIUM
def test_the_browser_check_sees_a_request_and_a_console_error_when_there_are_some(tmp_path):
    # The check above could not fail if the harness saw nothing: show that it sees both.
    page = tmp_path / "bad.html"
    page.write_text("<img src='http://192.0.2.1/x.png'><script>console.error('boom')</script>")
    run = open_page(page.as_uri(), timeout=30)
    assert "http://192.0.2.1/x.png" in run.requests
    assert any("boom" in error for error in run.errors)


def test_a_bad_fleet_file_is_one_line_and_exit_two(fleet, tmp_path):
    bad = tmp_path / "fleet.toml"
    bad.write_text(
        '[[client]]\nname = "acme"\neoy_month = 13\nkey_vault = "file:///x"\n'
        'client_id = "-"\nclient_secret = "-"\n'
    )
    result = fleet.run("report", str(bad), "--output", str(tmp_path / "out"))
    assert result.code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "report: error: FLEET_FILE: client 1 (acme): EOY_MONTH must be a month number 1..12, "
        "not '13'"
    ]
    assert not (tmp_path / "out").exists()
