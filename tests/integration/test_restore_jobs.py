"""The restore, decrypt and verify jobs end to end, as the scheduler runs them.

Backups are made by the real backup job (real PostgreSQL 15 with scram passwords, real gpg, a
local directory share, file:// configs); then the three jobs read them back with a file://
restore config holding the passphrase-protected private key.
"""

from __future__ import annotations

import json
import secrets
import shutil
import stat
import time
from pathlib import Path

import pytest
from psycopg import sql

from tests.support.gpg import KeyPair, decrypt, generate_key_pair
from tests.support.jobs import Site, b64
from tests.support.postgres import PostgresServer
from tests.support.zstd import unzstd

pytestmark = pytest.mark.integration

PASSPHRASE = "restore-pass-" + secrets.token_urlsafe(8)
QUERY = "SELECT count(*), sum(price), md5(string_agg(label, ',' ORDER BY id)) FROM items"


@pytest.fixture(scope="module")
def key_pair(tmp_path_factory: pytest.TempPathFactory) -> KeyPair:
    return generate_key_pair(
        tmp_path_factory.mktemp("keys"), "acme", "acme@backup.test", PASSPHRASE
    )


def spy_bin_dir(root: Path, server: PostgresServer, *, failing_restore: bool = False) -> Path:
    """pg_bin_dir whose pg_restore records its argv and the job's environment (or fails)."""
    spy = root / ("failing-bin" if failing_restore else "spy-bin")
    spy.mkdir()
    real = server.bin_dir
    for tool in ("pg_dump", "pg_dumpall", "psql"):
        (spy / tool).symlink_to(real / tool)
    # The failing one still reads archives (--list, --use-list): only the restore itself fails.
    body = (
        f'case " $* " in *" --list "*|*--use-list=*) exec "{real}/pg_restore" "$@";; esac\n'
        'echo "pg_restore: error: could not execute query: simulated failure" >&2\nexit 1\n'
        if failing_restore
        else f'exec "{real}/pg_restore" "$@"\n'
    )
    (spy / "pg_restore").write_text(
        "#!/bin/sh\n"
        f'printf "%s\\n" "$@" >> "{root}/pg_restore.argv"\n'
        f'cat /proc/$PPID/environ >> "{root}/job.environ" 2>/dev/null\n' + body
    )
    (spy / "pg_restore").chmod(0o755)
    return spy


def client_values(server, role, password, key, share, exclude) -> dict[str, str]:
    return {
        "client-name": "acme",
        "postgresql-host": server.host,
        "postgresql-port": str(server.port),
        "postgresql-auth": "password",
        "postgresql-user": role,
        "postgresql-secret": password,
        "postgresql-sslmode": "disable",
        "key-name": "acme",
        "public-key": b64(key.public_armored),
        "exclude-databases": exclude,
        "storage-unc": f"file://{share}",
        "end-of-month-retention": "400",
        "end-of-year-retention": "3650",
    }


class World:
    """One site with two published runs of two databases, and the configs to read them."""

    def __init__(self, root: Path, server: PostgresServer, key: KeyPair) -> None:
        self.server = server
        self.key = key
        self.tag = secrets.token_hex(3)
        self.role, self.password = f"restorer_{self.tag}", "pw-" + secrets.token_urlsafe(20)
        server.create_role(self.role, self.password, "pg_read_all_data")
        server.execute(sql.SQL("ALTER ROLE {} CREATEDB").format(sql.Identifier(self.role)))
        self.shop, self.hr = f"shop {self.tag}", f"hr_{self.tag}"
        for name in (self.shop, self.hr):
            server.create_database(name)
            server.execute(
                "CREATE TABLE items (id int PRIMARY KEY, label text, price numeric);"
                "CREATE TABLE notes (id int, body text);"
                "INSERT INTO items SELECT g, 'item ' || g || ' é', g * 1.5 "
                "FROM generate_series(1, 3000) g;",
                dbname=name,
            )
        self.site = Site(root)
        self.site.settings = {"backup": {"pg_bin_dir": str(spy_bin_dir(root, server))}}
        self.site.write_master_config()
        with server.connect() as conn:
            rows = conn.execute(
                "SELECT datname FROM pg_database WHERE NOT datistemplate"
            ).fetchall()
        exclude = ",".join(str(r[0]) for r in rows if r[0] not in (self.shop, self.hr))
        self.url = self.site.write_client_config(
            "acme", client_values(server, self.role, self.password, key, self.site.share, exclude)
        )
        self.restore_url = self.write_restore_config("restore", PASSPHRASE)
        self.first = self.backup()
        self.first_count = self.query(self.shop)
        server.execute(
            "INSERT INTO items SELECT g, 'later ' || g, g FROM generate_series(3001, 3500) g",
            dbname=self.shop,
        )
        time.sleep(1.1)  # run ids have a one-second resolution
        self.second = self.backup()

    def write_restore_config(self, name: str, passphrase: str) -> str:
        return self.site.write_client_config(
            name,
            {
                "private-key": b64(self.key.secret_armored),
                "private-key-passphrase": passphrase,
                "backup-config-host": self.url,
            },
        )

    def backup(self) -> str:
        result = self.site.run("backup", "acme", "6", self.url, "-", "-")
        assert result.code == 0, result.stdout + result.stderr
        runs = sorted(p for p in self.site.share.glob("end-*/*/*") if p.is_dir())
        return runs[-1].name

    def query(self, database: str) -> tuple[object, ...]:
        with self.server.connect(database) as conn:
            row = conn.execute(QUERY).fetchone()
        assert row is not None
        return tuple(row)

    def run(self, job: str, *args: str, url: str | None = None):
        return self.site.run(
            job, "acme", url or self.url, "-", "-", "--restore-vault", self.restore_url, *args
        )

    def scratch_files(self) -> list[Path]:
        return [p for p in (self.site.root / "work").rglob("*") if p.is_file()]


@pytest.fixture(scope="module")
def world(tmp_path_factory, postgres_server, key_pair) -> World:
    return World(tmp_path_factory.mktemp("restore-site"), postgres_server, key_pair)


def copied_restore_config(world: World, site: Site, url: str) -> str:
    """Write the restore config of a copy of the site: it names the copy's KEY_VAULT."""
    return site.write_client_config(
        "restore",
        {
            "private-key": b64(world.key.secret_armored),
            "private-key-passphrase": PASSPHRASE,
            "backup-config-host": url,
        },
    )


def new_name(world: World, what: str) -> str:
    return f"{what}_{world.tag}_{secrets.token_hex(3)}"


def test_verify_of_every_run_with_the_key_is_clean(world):
    result = world.run("verify", "--run", "all")
    assert (result.code, result.failures) == (0, []), result.stdout + result.stderr
    assert result.stdout.splitlines()[-1] == (
        "verify acme: 2 runs, 6 files checked, 6 decrypted, 0 problems"
    )
    assert world.scratch_files() == []


def test_verify_without_the_restore_vault_checks_sizes_and_sums(world):
    result = world.site.run("verify", "acme", world.url, "-", "-")
    assert (result.code, result.failures) == (0, []), result.stdout
    assert result.stdout.splitlines()[-1].endswith("3 files checked, 0 decrypted, 0 problems")


def test_restore_of_latest_with_two_jobs_gives_the_source_data_back(world):
    target = new_name(world, "copy")
    result = world.run(
        "restore", "--database", world.shop, "--target-database", target, "--jobs", "2"
    )
    assert (result.code, result.failures) == (0, []), result.stdout + result.stderr
    assert world.query(target) == world.query(world.shop)
    summary = result.stdout.splitlines()[-1]
    assert summary.startswith(f"restore acme: {world.shop} from run {world.second} (")
    assert f"into {target} on 127.0.0.1:{world.server.port}: 2 tables restored in " in summary
    argv = (world.site.root / "pg_restore.argv").read_text()
    assert "--jobs=2" in argv
    assert "--no-owner" in argv
    assert world.scratch_files() == []


def test_restore_of_a_named_run_gives_that_runs_data(world):
    target = new_name(world, "old")
    result = world.run(
        "restore", "--database", world.shop, "--run", world.first, "--target-database", target
    )
    assert result.code == 0, result.stdout + result.stderr
    assert world.query(target) == world.first_count
    assert world.query(target) != world.query(world.shop)


def test_a_non_empty_target_without_clean_is_refused_and_unchanged(world):
    target = new_name(world, "busy")
    world.server.create_database(target, owner=world.role)
    world.server.execute("CREATE TABLE keep_me (x int); INSERT INTO keep_me VALUES (7)", target)
    result = world.run("restore", "--database", world.hr, "--target-database", target)
    assert result.code == 1
    assert len(result.failures) == 1
    assert result.failures[0].startswith(
        f"Failure: check_target acme {world.hr} target database {target} on 127.0.0.1:"
    )
    assert "pass --clean" in result.failures[0]
    with world.server.connect(target) as conn:
        tables = conn.execute(
            "SELECT string_agg(relname, ',') FROM pg_class WHERE relkind = 'r' "
            "AND relnamespace = 'public'::regnamespace"
        ).fetchone()
        assert tables == ("keep_me",)
    clean = world.run("restore", "--database", world.hr, "--target-database", target, "--clean")
    assert clean.code == 0, clean.stdout
    assert world.query(target) == world.query(world.hr)


def test_a_wrong_passphrase_is_one_line_and_leaves_no_keyring(world):
    url = world.write_restore_config("wrong", "not-the-passphrase")
    result = world.site.run(
        "restore",
        "acme",
        world.url,
        "-",
        "-",
        "--restore-vault",
        url,
        "--database",
        world.hr,
        "--target-database",
        new_name(world, "never"),
    )
    assert result.code == 1
    assert result.failures == [
        f"Failure: load_key acme {world.hr} private-key-passphrase does not unlock the private "
        f"key (fingerprint {world.key.fingerprint})"
    ]
    assert result.stderr == ""
    assert world.scratch_files() == []
    assert not any((world.site.root / "work").iterdir())


def test_a_failing_pg_restore_leaves_no_plaintext_and_no_created_database(
    world, tmp_path, postgres_server
):
    site = Site(tmp_path)
    site.settings = {
        "backup": {"pg_bin_dir": str(spy_bin_dir(tmp_path, postgres_server, failing_restore=True))}
    }
    site.write_master_config()
    shutil.copytree(world.site.share, site.share, dirs_exist_ok=True)
    config = (world.site.root / "configs" / "acme.toml").read_text()
    url = site.write_client_config("acme", {})
    Path(url.removeprefix("file://")).write_text(
        config.replace(str(world.site.share), str(site.share))
    )
    target = new_name(world, "failed")
    result = site.run(
        "restore",
        "acme",
        url,
        "-",
        "-",
        "--restore-vault",
        copied_restore_config(world, site, url),
        "--database",
        world.hr,
        "--target-database",
        target,
    )
    assert result.code == 1, result.stdout
    assert [line.split(" acme ")[0] for line in result.failures] == ["Failure: restore_database"]
    assert "simulated failure" in result.failures[0]
    assert [p for p in (tmp_path / "work").rglob("*") if p.is_file()] == []
    with postgres_server.connect() as conn:
        assert (
            conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (target,)).fetchone()
            is None
        )


def test_a_flipped_byte_makes_verify_fail_naming_the_file(world, tmp_path):
    site = Site(tmp_path)
    shutil.copytree(world.site.share, site.share, dirs_exist_ok=True)
    config = (world.site.root / "configs" / "acme.toml").read_text()
    url = site.write_client_config("acme", {})
    Path(url.removeprefix("file://")).write_text(
        config.replace(str(world.site.share), str(site.share))
    )
    run_dir = next(p for p in site.share.glob("end-*/*/*") if p.name == world.second)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    file = next(d["file"] for d in manifest["databases"] if d["name"] == world.hr)
    damaged = run_dir / file
    data = bytearray(damaged.read_bytes())
    data[len(data) // 2] ^= 0x01
    damaged.write_bytes(bytes(data))
    restore_url = copied_restore_config(world, site, url)
    result = site.run("verify", "acme", url, "-", "-", "--restore-vault", restore_url)
    assert result.code == 1, result.stdout
    relative = damaged.relative_to(site.share)
    assert len(result.failures) == 1
    assert result.failures[0].startswith(f"Failure: check_file acme {relative} has sha256 ")


def test_decrypt_writes_a_private_dump_that_plain_gpg_agrees_with(world, tmp_path):
    output = tmp_path / "out" / "hr.dump"
    output.parent.mkdir()
    result = world.run("decrypt", "--database", world.hr, "--output", str(output))
    assert result.code == 0, result.stdout + result.stderr
    assert stat.S_IMODE(output.stat().st_mode) == 0o600
    run_dir = next(p for p in world.site.share.glob("end-*/*/*") if p.name == world.second)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    file = next(d["file"] for d in manifest["databases"] if d["name"] == world.hr)
    assert output.read_bytes() == unzstd(decrypt(world.key, run_dir / file))
    assert sorted(p.name for p in output.parent.iterdir()) == ["hr.dump"]
    again = world.run("decrypt", "--database", world.hr, "--output", str(output))
    assert again.code == 1
    assert again.failures[0].startswith(f"Failure: check_output acme {world.hr} {output} already")


def test_decrypt_to_sql_writes_plain_sql(world, tmp_path):
    output = tmp_path / "hr.sql"
    result = world.run("decrypt", "--database", world.hr, "--output", str(output), "--sql")
    assert result.code == 0, result.stdout + result.stderr
    text = output.read_text()
    assert "CREATE TABLE public.items" in text
    assert stat.S_IMODE(output.stat().st_mode) == 0o600


def test_no_passphrase_or_password_in_logs_stdout_argv_or_the_jobs_environment(world):
    argv = (world.site.root / "pg_restore.argv").read_text()
    environ = (world.site.root / "job.environ").read_bytes()
    logs = world.site.logs()
    assert "RestoreDatabaseMachine.restore_database" in logs
    secret_key_line = world.key.secret_armored.decode().splitlines()[3]
    for secret in (PASSPHRASE, world.password, secret_key_line):
        assert secret not in logs
        assert secret not in argv
        assert secret.encode() not in environ
    assert b"PGPASSWORD" not in environ


def test_another_target_login_takes_its_password_from_the_operators_pgpassword(world):
    # Last in the file: the job's environment then legitimately holds the operator's PGPASSWORD.
    target = new_name(world, "operator")
    result = world.site.run(
        "restore", "acme", world.url, "-", "-", "--restore-vault", world.restore_url,
        "--database", world.hr, "--target-database", target,
        "--target-host", world.server.host, "--target-user", world.server.superuser,
        env={"PGPASSWORD": world.server.password},
    )  # fmt: skip
    assert result.code == 0, result.stdout + result.stderr
    assert world.query(target) == world.query(world.hr)
    with world.server.connect() as conn:
        owner = conn.execute(
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s", (target,)
        ).fetchone()
    assert owner == (world.server.superuser,)
    argv = (world.site.root / "pg_restore.argv").read_text()
    for text in (world.site.logs(), result.stdout, argv):
        assert world.server.password not in text
