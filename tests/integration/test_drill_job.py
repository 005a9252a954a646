"""The drill job end to end, as the scheduler runs it (SPEC 13, issue 13's held-out scenarios).

A run of two databases is made by the real backup job; the real drill job restores it into
scratch databases on the same server (as the operator's login, password in PGPASSWORD), compares
the row counts with the manifest, drops the scratch databases and records itself in drills.jsonl;
`list` then shows the run as proven restorable. A run whose dump was replaced by another
database's dump, re-encrypted with the manifest and SHA256SUMS made consistent, fails the drill
on the row counts, and still leaves no scratch database behind. A drill drops the scratch
databases that killed drills left, and none that a running drill claims or that is not a
drill's.
"""

from __future__ import annotations

import json
import secrets
import shutil
from pathlib import Path

import pytest

from adapters.postgres.scratch import SCRATCH_LOCK_CLASS
from domain.rules.audit_chain import first_break
from domain.services.scratch_databases import SCRATCH_NOTE
from tests.support.gpg import KeyPair, generate_key_pair
from tests.support.jobs import JobResult, Site, b64
from tests.support.postgres import PostgresServer
from tests.support.tamper import replace_dump, stored_plaintext

pytestmark = pytest.mark.integration

PASSPHRASE = "drill-" + secrets.token_urlsafe(8)


class Drilled:
    """One site with one published run of `shop_<tag>` and `crm_<tag>`."""

    def __init__(self, root: Path, server: PostgresServer, key: KeyPair) -> None:
        self.server, self.key = server, key
        self.tag = secrets.token_hex(3)
        self.shop, self.crm = f"shop_{self.tag}", f"crm_{self.tag}"
        self.role, self.password = f"drillbk_{self.tag}", "pw-" + secrets.token_urlsafe(16)
        server.create_role(self.role, self.password, "pg_read_all_data")
        server.create_database(self.shop)
        server.execute(
            "CREATE TABLE orders AS SELECT g AS id FROM generate_series(1, 1234) g;"
            "CREATE TABLE customers AS SELECT g AS id FROM generate_series(1, 56) g;"
            "CREATE TABLE empty_one (id int)",
            dbname=self.shop,
        )
        server.create_database(self.crm)
        server.execute(
            "CREATE TABLE contacts AS SELECT g AS id FROM generate_series(1, 77) g",
            dbname=self.crm,
        )
        self.site = Site(root / "site")
        self.url, self.restore_url = self.configs(self.site)
        result = self.site.run("backup", "acme", "6", self.url, "-", "-")
        assert result.code == 0, result.stdout + result.stderr
        self.run_dir = next(p for p in self.site.share.glob("end-*/*/*") if p.is_dir())

    def configs(self, site: Site) -> tuple[str, str]:
        with self.server.connect() as conn:
            names = [str(r[0]) for r in conn.execute("SELECT datname FROM pg_database").fetchall()]
        url = site.write_client_config(
            "acme",
            {
                "client-name": "acme",
                "postgresql-host": self.server.host,
                "postgresql-port": str(self.server.port),
                "postgresql-auth": "password",
                "postgresql-user": self.role,
                "postgresql-secret": self.password,
                "postgresql-sslmode": "disable",
                "key-name": "acme",
                "public-key": b64(self.key.public_armored),
                "exclude-databases": ",".join(
                    n for n in names if n not in (self.shop, self.crm) and "," not in n
                ),
                "storage-unc": f"file://{site.share}",
                "end-of-month-retention": "400",
                "end-of-year-retention": "3650",
            },
        )
        restore_url = site.write_client_config(
            "restore",
            {
                "private-key": b64(self.key.secret_armored),
                "private-key-passphrase": PASSPHRASE,
                "backup-config-host": url,
            },
        )
        return url, restore_url

    def drill(self, site: Site, url: str, restore_url: str, *args: str) -> JobResult:
        return site.run(
            "drill", "acme", url, "-", "-", "--restore-vault", restore_url,
            "--target-host", self.server.host, "--target-port", str(self.server.port),
            "--target-user", self.server.superuser, *args,
            env={"PGPASSWORD": self.server.password},
        )  # fmt: skip

    def scratch_databases(self) -> list[str]:
        with self.server.connect() as conn:
            rows = conn.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE 'lts\\_drill\\_%'"
            ).fetchall()
        return [str(row[0]) for row in rows]


@pytest.fixture(scope="module")
def drilled(tmp_path_factory, postgres_server) -> Drilled:
    key = generate_key_pair(tmp_path_factory.mktemp("keys"), "acme", "acme@test", PASSPHRASE)
    return Drilled(tmp_path_factory.mktemp("drill"), postgres_server, key)


def drill_lines(site: Site) -> list[dict[str, object]]:
    return [json.loads(line) for line in (site.share / "drills.jsonl").read_text().splitlines()]


def test_a_drill_of_a_clean_run_exits_zero_records_itself_and_leaves_nothing(drilled):
    result = drilled.drill(drilled.site, drilled.url, drilled.restore_url)

    assert (result.code, result.failures) == (0, []), result.stdout + result.stderr
    run_id = drilled.run_dir.name
    assert result.stdout.splitlines() == [
        f"drill acme: run {run_id} (end-of-month/{drilled.run_dir.parent.name}) on "
        f"{drilled.server.host}:{drilled.server.port}: 2 of 2 databases restored and matched, "
        "4 tables compared, 0 mismatches, 0 failures"
    ]
    lines = drill_lines(drilled.site)
    assert sorted((line["database"], line["result"]) for line in lines) == [
        (drilled.crm, "ok"),
        (drilled.shop, "ok"),
    ]
    assert all(line["run"] == run_id for line in lines)
    assert all(str(line["pg_restore_version"]).startswith("15.") for line in lines)
    assert all(str(line["server_version"]).startswith("15.") for line in lines)
    raw = (drilled.site.share / "drills.jsonl").read_text().splitlines()
    assert first_break(raw) is None
    assert drilled.scratch_databases() == []
    assert [p for p in (drilled.site.root / "work").rglob("*") if p.is_file()] == []
    assert drilled.server.password not in result.stdout + drilled.site.logs()


def test_list_shows_when_the_run_was_last_proven_restorable(drilled):
    table = drilled.site.run("list", "acme", drilled.url, "-", "-")
    listed = drilled.site.run("list", "acme", drilled.url, "-", "-", "--json")

    assert table.code == 0, table.stdout
    assert "PROVEN RESTORABLE" in table.stdout.splitlines()[0]
    [row] = json.loads(listed.stdout)["runs"]
    assert row["last_drill_result"] == "ok"
    assert row["last_proven"] is not None
    assert row["last_proven"][:10] in table.stdout


def test_check_demands_a_drill_of_the_newest_run_when_told(drilled, tmp_path):
    site = Site(tmp_path)
    site.settings = {"check": {"drill_max_age_days": 0}}
    site.write_master_config()
    shutil.copytree(drilled.site.share, site.share, dirs_exist_ok=True)
    url, restore_url = drilled.configs(site)
    (site.share / "drills.jsonl").unlink(missing_ok=True)

    before = site.run("check", "acme", url, "-", "-")
    drill = drilled.drill(site, url, restore_url)
    after = site.run("check", "acme", url, "-", "-")

    assert [line.split(" acme ")[0] for line in before.failures] == ["Failure: check_drills"]
    assert "it has never been drilled" in before.failures[0]
    assert drill.code == 0, drill.stdout
    assert (after.code, after.failures) == (0, []), after.stdout


def test_a_dump_replaced_by_another_databases_dump_fails_the_drill_on_the_row_counts(
    drilled, tmp_path
):
    site = Site(tmp_path)
    shutil.copytree(drilled.site.share, site.share, dirs_exist_ok=True)
    url, restore_url = drilled.configs(site)
    (site.share / "drills.jsonl").unlink(missing_ok=True)
    run_dir = site.share / drilled.run_dir.relative_to(drilled.site.share)
    other = stored_plaintext(run_dir, drilled.crm, drilled.key)
    replace_dump(run_dir, drilled.shop, other, drilled.key)
    sums = (run_dir / "SHA256SUMS").read_text()
    assert sums.count("\n") == 3

    result = drilled.drill(site, url, restore_url, "--database", drilled.shop)

    assert result.code == 4, result.stdout + result.stderr
    assert result.failures == [
        f"Failure: compare_rows acme {drilled.shop} public.contacts holds 77 rows after the "
        "restore; the dump held no such table",
        f"Failure: compare_rows acme {drilled.shop} public.customers is missing after the "
        "restore; the dump held 56 rows",
        f"Failure: compare_rows acme {drilled.shop} public.empty_one is missing after the "
        "restore; the dump held 0 rows",
        f"Failure: compare_rows acme {drilled.shop} public.orders is missing after the "
        "restore; the dump held 1234 rows",
    ]
    [line] = drill_lines(site)
    assert (line["result"], line["mismatches"]) == ("failed", 4)
    assert drilled.scratch_databases() == []


def test_a_drill_drops_what_ended_drills_left_and_nothing_a_live_drill_or_anyone_else_holds(
    drilled, tmp_path
):
    killed_while_restoring = "lts_drill_19990101000000_1"  # marked, holds a table
    killed_before_marking = "lts_drill_19990101000000_2"  # unmarked and empty
    someone_elses = "lts_drill_19990101000000_3"  # holds data, not the drill's comment
    live_drills = "lts_drill_19990101000000_4"  # marked, its drill still runs
    names = (killed_while_restoring, killed_before_marking, someone_elses, live_drills)
    for name in names:
        drilled.server.create_database(name)
    for name in (killed_while_restoring, someone_elses):
        drilled.server.execute("CREATE TABLE rows AS SELECT 1 AS id", dbname=name)
    for name in (killed_while_restoring, live_drills):
        drilled.server.execute(f"COMMENT ON DATABASE {name} IS '{SCRATCH_NOTE}'")
    site = Site(tmp_path)
    shutil.copytree(drilled.site.share, site.share, dirs_exist_ok=True)
    url, restore_url = drilled.configs(site)
    try:
        with drilled.server.connect() as live:
            live.execute(
                "SELECT pg_advisory_lock(%s, hashtext(%s))", (SCRATCH_LOCK_CLASS, live_drills)
            )
            result = drilled.drill(site, url, restore_url, "--database", drilled.crm)
            left = drilled.scratch_databases()
    finally:
        for name in names:
            drilled.server.execute(f"DROP DATABASE IF EXISTS {name}")

    assert (result.code, result.failures) == (0, []), result.stdout + result.stderr
    assert sorted(left) == [someone_elses, live_drills]
    log = site.logs()
    for name in (killed_while_restoring, killed_before_marking):
        assert f"dropped the scratch database {name} that a drill no longer running left" in log
