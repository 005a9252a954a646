"""PgDumper against a real PostgreSQL 15 server, with real pg_dump and pg_restore."""

from __future__ import annotations

import importlib.util
import os
import secrets
import signal
import subprocess
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest
from psycopg import sql
from pydantic import SecretStr

from adapters.postgres.credentials import Credentials, CredentialsByAuth, PasswordCredentials
from adapters.postgres.dumper import PgDumper, PgDumpTool
from adapters.process import ProcessStream, Stage
from domain.models.redaction import Redactor
from ports.database import ServerInfo, ServerTarget
from ports.errors import DumpError, DumperTooOldError
from tests.support.postgres import PostgresServer
from tests.support.zstd import ZSTD_MAGIC, unzstd

pytestmark = pytest.mark.integration

SERVER_15 = ServerInfo(150018, "15.18")
SERVER_16 = ServerInfo(160002, "16.2")
SMALL_CHUNK = 64 * 1024


def unique(prefix: str = "lts") -> str:
    return f"{prefix}_{secrets.token_hex(4)}"


def make_dumper(
    bin_dir: Path | None,
    compression: str = "gzip:6",
    chunk_size: int = SMALL_CHUNK,
    credentials: Credentials | None = None,
    count_rows: bool = True,
) -> PgDumper:
    return PgDumper(
        credentials=credentials or CredentialsByAuth({"password": PasswordCredentials()}),
        redactor=Redactor(),
        pg_bin_dir=bin_dir,
        compression=compression,
        chunk_size=chunk_size,
        count_rows=count_rows,
    )


@contextmanager
def started(tool: PgDumpTool, target: ServerTarget, database: str) -> Iterator[ProcessStream]:
    """Start a dump; yield its stream; close it (and its snapshot) afterwards."""
    dump = tool.dump(target, database)
    try:
        yield dump.stream
    finally:
        dump.close()


def dump_bytes(tool: PgDumpTool, target: ServerTarget, database: str) -> bytes:
    with started(tool, target, database) as stream:
        return b"".join(stream)


@pytest.fixture
def dumper(postgres_server: PostgresServer) -> PgDumpTool:
    """The pg_dump 15 chosen for the test server (named for what the tests call on it)."""
    return make_dumper(postgres_server.bin_dir).select(SERVER_15)


@pytest.fixture(scope="module")
def backup_target(postgres_server: PostgresServer) -> ServerTarget:
    """A role that may read everything, as a backup login would be."""
    role, password = unique("backup"), "pw-" + secrets.token_urlsafe(18)
    postgres_server.create_role(role, password, "pg_read_all_data")
    return postgres_server.target(role, password)


@pytest.fixture(scope="module")
def big_database(postgres_server: PostgresServer) -> str:
    """A database whose dump is far larger than a pipe buffer, so pg_dump blocks on us."""
    name = unique("big")
    postgres_server.create_database(name)
    postgres_server.execute(
        "CREATE TABLE big AS SELECT g, repeat(md5(g::text), 4) AS s "
        "FROM generate_series(1, 40000) g",
        dbname=name,
    )
    return name


def child_pids(command: str) -> list[int]:
    """Return the pids of our own children running `command`."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name is in parentheses and may hold spaces; the parent pid follows it.
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        if ppid == os.getpid() and name == command:
            pids.append(int(entry.name))
    return pids


def only_child(command: str) -> int:
    pids = child_pids(command)
    assert len(pids) == 1, pids
    return pids[0]


def restore_list(dump: bytes, bin_dir: Path) -> str:
    result = subprocess.run(
        [str(bin_dir / "pg_restore"), "--list"], input=dump, capture_output=True, check=True
    )
    return result.stdout.decode()


def pgserver_bin_dir() -> Path:
    """Return the pgserver package's PostgreSQL 16 binaries."""
    spec = importlib.util.find_spec("pgserver")
    assert spec is not None
    assert spec.origin is not None
    return Path(spec.origin).parent / "pginstall" / "bin"


def write_fake_pg_dump(bin_dir: Path, version: str, body: str) -> None:
    bin_dir.mkdir(exist_ok=True)
    # The real pg_restore reads the table of contents of whatever the fake writes.
    (bin_dir / "pg_restore").symlink_to(Path("/usr/lib/postgresql/15/bin/pg_restore"))
    script = bin_dir / "pg_dump"
    script.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = "--version" ]; then echo "pg_dump (PostgreSQL) {version}"; exit 0; fi\n'
        f"{body}\n"
    )
    script.chmod(0o755)


def test_select_reports_the_pg_dump_version_and_compression(postgres_server):
    info = make_dumper(postgres_server.bin_dir).select(SERVER_15).info

    assert info.version.startswith("15.")
    assert info.archive_format == "custom"
    assert info.compression == "gzip:6"


def test_select_without_pg_bin_dir_finds_an_installed_pg_dump_new_enough():
    info = make_dumper(None).select(SERVER_15).info

    assert int(info.version.split(".")[0]) >= 15


def test_each_selected_tool_holds_its_own_choice(postgres_server):
    dumper = make_dumper(None)

    for_15 = dumper.select(SERVER_15)
    for_16 = dumper.select(SERVER_16)
    name = unique("choice")
    postgres_server.create_database(name)
    dump = dump_bytes(for_15, postgres_server.target(), name)

    assert for_15.info.version.startswith("15.")
    assert for_16.info.version.startswith("16.")
    assert dump.startswith(b"PGDMP")
    assert "TABLE" not in restore_list(dump, postgres_server.bin_dir)


def test_the_password_is_fetched_afresh_for_every_dump(postgres_server):
    class Counting(Credentials):
        def __init__(self) -> None:
            self.calls = 0

        def password(self, target: ServerTarget) -> SecretStr:
            self.calls += 1
            return target.secret

    credentials = Counting()
    tool = make_dumper(postgres_server.bin_dir, credentials=credentials).select(SERVER_15)

    for _ in range(2):
        assert dump_bytes(tool, postgres_server.target(), "postgres").startswith(b"PGDMP")
    b"".join(tool.dump_globals(postgres_server.target()))

    # Each dump: once for its snapshot's connection, once for pg_dump.
    assert credentials.calls == 5


def test_nothing_runs_until_the_dump_stream_is_read(postgres_server, dumper):
    with started(dumper, postgres_server.target(), "postgres") as stream:
        assert child_pids("pg_dump") == []
        assert next(iter(stream)).startswith(b"PGDMP")
    assert child_pids("pg_dump") == []


def test_dump_streams_a_custom_format_archive_that_pg_restore_lists(
    postgres_server, dumper, backup_target
):
    name = f'sales "eu" = données {secrets.token_hex(3)}'
    postgres_server.create_database(name)
    postgres_server.execute(
        "CREATE TABLE orders AS SELECT g AS id FROM generate_series(1, 1000) g", dbname=name
    )

    with started(dumper, backup_target, name) as stream:
        chunks = list(stream)

    dump = b"".join(chunks)
    assert dump.startswith(b"PGDMP")
    assert all(len(chunk) <= SMALL_CHUNK for chunk in chunks)
    assert "TABLE DATA public orders" in restore_list(dump, postgres_server.bin_dir)


def test_dump_with_pg_dump_16_and_its_method_compression_syntax_restores(postgres_server):
    bin_dir = pgserver_bin_dir()
    name = unique("pg16")
    postgres_server.create_database(name)
    postgres_server.execute("CREATE TABLE t (id int)", dbname=name)
    tool = make_dumper(bin_dir, compression="gzip:level=5").select(SERVER_15)

    info = tool.info
    dump = dump_bytes(tool, postgres_server.target(), name)

    assert info.version.startswith("16.")
    assert info.compression == "gzip:level=5"
    assert "TABLE public t" in restore_list(dump, bin_dir)


def test_select_refuses_lz4_with_a_pg_dump_older_than_16(postgres_server):
    with pytest.raises(DumpError, match="compression 'lz4' needs pg_dump 16 or newer"):
        make_dumper(postgres_server.bin_dir, compression="lz4").select(SERVER_15)


def test_dump_of_a_database_the_role_cannot_connect_to_raises_dump_error(
    postgres_server, dumper, backup_target
):
    name = unique("forbidden")
    postgres_server.create_database(name)
    postgres_server.execute(
        sql.SQL("REVOKE CONNECT ON DATABASE {} FROM PUBLIC").format(sql.Identifier(name))
    )

    # The snapshot's connection finds out first, before pg_dump starts.
    with pytest.raises(DumpError, match=r"^cannot connect to .*permission denied") as caught:
        dumper.dump(backup_target, name)
    uncounted = make_dumper(postgres_server.bin_dir, count_rows=False).select(SERVER_15)
    with pytest.raises(DumpError, match=r"^pg_dump exited with 1: .*permission denied") as piped:
        dump_bytes(uncounted, backup_target, name)

    for message in (str(caught.value), str(piped.value)):
        assert "\n" not in message
        assert backup_target.secret.get_secret_value() not in message
    assert child_pids("pg_dump") == []


def test_dump_with_a_wrong_password_raises_dump_error_without_the_password(postgres_server, dumper):
    wrong = "wrong-" + secrets.token_urlsafe(16)

    with pytest.raises(DumpError, match="password authentication failed") as caught:
        dump_bytes(dumper, postgres_server.target(password=wrong), "postgres")

    assert wrong not in str(caught.value)


def test_killing_pg_dump_mid_stream_raises_dump_error_naming_the_signal(
    postgres_server, big_database
):
    tool = make_dumper(postgres_server.bin_dir, compression="none").select(SERVER_15)
    with started(tool, postgres_server.target(), big_database) as stream:
        next(stream)

        os.kill(only_child("pg_dump"), signal.SIGKILL)

        with pytest.raises(DumpError, match=r"^pg_dump was killed by signal SIGKILL"):
            for _ in stream:
                pass
    assert child_pids("pg_dump") == child_pids("tee") == child_pids("pg_restore") == []


def test_pg_dump_gets_the_password_only_through_its_own_environment(
    postgres_server, dumper, big_database, backup_target
):
    password = backup_target.secret.get_secret_value()
    with started(dumper, backup_target, big_database) as stream:
        next(stream)
        pid = only_child("pg_dump")

        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode()
        environ = Path(f"/proc/{pid}/environ").read_bytes().decode().split("\0")

    assert password not in cmdline
    assert big_database in cmdline
    assert f"PGPASSWORD={password}" in environ
    assert "PGPASSWORD" not in os.environ
    assert all(password not in value for value in os.environ.values())


def test_closing_the_dump_early_kills_and_reaps_pg_dump(postgres_server, dumper, big_database):
    dump = dumper.dump(postgres_server.target(), big_database)
    next(dump.stream)
    pid = only_child("pg_dump")

    dump.close()

    # Reaped: not even a zombie entry remains.
    assert not Path(f"/proc/{pid}").exists()
    assert child_pids("tee") == child_pids("pg_restore") == []


def test_an_old_pg_dump_in_pg_bin_dir_is_refused_as_too_old(tmp_path):
    write_fake_pg_dump(tmp_path / "bin", "9.6.24", "exit 1")

    with pytest.raises(DumperTooOldError) as caught:
        make_dumper(tmp_path / "bin").select(SERVER_15)

    assert str(caught.value) == (
        f"pg_dump 9.6.24 at {tmp_path / 'bin' / 'pg_dump'} is older than the server 15.18; "
        "install a newer PostgreSQL client or set [backup] pg_bin_dir"
    )


def test_a_pg_bin_dir_without_pg_dump_is_a_dump_error(tmp_path):
    with pytest.raises(DumpError, match=r"^no pg_dump in \[backup\] pg_bin_dir "):
        make_dumper(tmp_path).select(SERVER_15)


def test_output_that_is_not_a_custom_format_archive_is_a_dump_error(postgres_server, tmp_path):
    write_fake_pg_dump(tmp_path / "bin", "15.18", "echo 'this is not a dump'")
    tool = make_dumper(tmp_path / "bin").select(SERVER_15)

    with pytest.raises(DumpError, match=r"^pg_dump output does not start with PGDMP: not a dump$"):
        dump_bytes(tool, postgres_server.target(), "postgres")


def test_empty_output_from_a_successful_pg_dump_is_a_dump_error(postgres_server, tmp_path):
    write_fake_pg_dump(tmp_path / "bin", "15.18", "exit 0")
    tool = make_dumper(tmp_path / "bin").select(SERVER_15)

    with pytest.raises(DumpError, match=r"^pg_dump produced no output$"):
        dump_bytes(tool, postgres_server.target(), "postgres")


def test_globals_dump_holds_the_roles_without_their_passwords(
    postgres_server, dumper, backup_target
):
    role = unique("app")
    role_password = "role-pw-" + secrets.token_urlsafe(12)
    postgres_server.create_role(role, role_password)

    text = b"".join(dumper.dump_globals(backup_target)).decode()

    assert f"CREATE ROLE {role};" in text
    assert "SCRAM-SHA-256$" not in text
    assert role_password not in text
    assert backup_target.secret.get_secret_value() not in text


def test_dump_chunks_are_streamed_before_pg_dump_ends(postgres_server, dumper, big_database):
    with started(dumper, postgres_server.target(), big_database) as stream:
        first = next(stream)

        assert first.startswith(b"PGDMP")
        # pg_dump is still running: the first chunk came while it was writing the rest.
        assert child_pids("pg_dump") != []
        assert sum(len(chunk) for chunk in stream) > 0


def test_a_pg_dumpall_missing_beside_pg_dump_is_a_dump_error(postgres_server, tmp_path):
    write_fake_pg_dump(tmp_path / "bin", "15.18", "exit 0")
    tool = make_dumper(tmp_path / "bin").select(SERVER_15)

    with pytest.raises(DumpError, match=r"^no pg_dumpall beside "):
        tool.dump_globals(postgres_server.target())


def test_a_dump_piped_into_another_child_reaches_it_directly_and_is_checked(
    postgres_server, dumper, backup_target
):
    name = unique("piped")
    postgres_server.create_database(name)
    postgres_server.execute("CREATE TABLE t AS SELECT 1 AS id", dbname=name)
    cat = Stage(("cat",), {"PATH": "/usr/bin:/bin"}, "cat", lambda failure: DumpError("cat"))

    with started(dumper, backup_target, name) as stream:
        dump = b"".join(stream.then(cat))

    assert dump.startswith(b"PGDMP")
    assert "TABLE DATA public t" in restore_list(dump, postgres_server.bin_dir)
    postgres_server.execute(
        sql.SQL("REVOKE CONNECT ON DATABASE {} FROM PUBLIC").format(sql.Identifier(name))
    )
    uncounted = make_dumper(postgres_server.bin_dir, count_rows=False).select(SERVER_15)
    with (
        pytest.raises(DumpError, match=r"^pg_dump exited with 1: .*permission denied"),
        started(uncounted, backup_target, name) as stream,
    ):
        b"".join(stream.then(cat))
    assert child_pids("pg_dump") == child_pids("cat") == []


def test_the_rows_are_counted_in_the_dumps_own_snapshot(postgres_server, dumper):
    name = unique("snapshot")
    postgres_server.create_database(name)
    postgres_server.execute(
        "CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 1000) g", dbname=name
    )
    dump = dumper.dump(postgres_server.target(), name)
    try:
        # Written after the snapshot was exported, before pg_dump even started: in neither.
        postgres_server.execute("INSERT INTO t SELECT g FROM generate_series(1, 500) g", name)
        data = b"".join(dump.stream)
        facts = dump.facts()
    finally:
        dump.close()

    assert facts.tables is not None
    assert {table.qualified: table.rows for table in facts.tables} == {"public.t": 1000}
    sql_text = subprocess.run(
        [str(postgres_server.bin_dir / "pg_restore"), "--data-only", "--file=-"],
        input=data,
        capture_output=True,
        check=True,
    ).stdout.decode()
    copied = sql_text.split("FROM stdin;\n", 1)[1].split("\\.\n", 1)[0]
    assert len(copied.splitlines()) == 1000


def test_every_table_data_entry_of_the_archive_has_its_row_count(postgres_server, dumper):
    from tests.support.fidelity import build_rich_database

    rich = build_rich_database(postgres_server, secrets.token_hex(3))
    postgres_server.execute(
        "CREATE TABLE parent (id int); CREATE TABLE child () INHERITS (parent);"
        "INSERT INTO parent VALUES (1); INSERT INTO child VALUES (2), (3);"
        "CREATE UNLOGGED TABLE scratchpad AS SELECT 1 AS id",
        dbname=rich.name,
    )
    dump = dumper.dump(postgres_server.target(), rich.name)
    try:
        data = b"".join(dump.stream)
        facts = dump.facts()
    finally:
        dump.close()

    listed = restore_list(data, postgres_server.bin_dir)
    table_data = sorted(
        ".".join(line.split()[5:7]) for line in listed.splitlines() if " TABLE DATA " in line
    )
    assert facts.tables is not None
    counts = {table.qualified: table.rows for table in facts.tables}
    assert sorted(counts) == table_data
    assert facts.table_data_entries == len(table_data)
    assert counts["public.parent"] == 1
    assert counts["public.child"] == 2
    assert counts["public.parted_2025"] + counts["public.parted_2026"] == 400
    assert "public.parted" not in counts
    assert "public.counts" not in counts
    assert counts["public.secrets"] == 90
    assert facts.large_objects == 3


def test_without_counting_no_snapshot_is_exported_and_no_rows_recorded(postgres_server):
    tool = make_dumper(postgres_server.bin_dir, count_rows=False).select(SERVER_15)
    dump = tool.dump(postgres_server.target(), "postgres")
    try:
        b"".join(dump.stream)
        facts = dump.facts()
    finally:
        dump.close()
    assert facts.tables is None
    assert facts.toc_entries >= 3


def test_closing_a_dump_ends_its_snapshot_transaction(postgres_server, dumper):
    dump = dumper.dump(postgres_server.target(), "postgres")
    b"".join(dump.stream)
    dump.close()
    with postgres_server.connect() as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s "
            "AND state LIKE 'idle in transaction%%'",
            ("long-term-storage",),
        ).fetchone()
    assert row == (0,)


def test_many_tables_are_counted_in_batches_each_with_its_own_rows(postgres_server, dumper):
    name = unique("many")
    postgres_server.create_database(name)
    postgres_server.execute(
        "DO $$ BEGIN FOR i IN 1..450 LOOP "
        "EXECUTE format('CREATE TABLE t%s AS SELECT g FROM generate_series(1, %s) g', i, i % 7);"
        "END LOOP; END $$",
        dbname=name,
    )
    dump = dumper.dump(postgres_server.target(), name)
    try:
        b"".join(dump.stream)
        facts = dump.facts()
    finally:
        dump.close()

    assert facts.tables is not None
    counts = {table.table: table.rows for table in facts.tables}
    assert len(counts) == facts.table_data_entries == 450
    assert all(counts[f"t{i}"] == i % 7 for i in range(1, 451))


# ---------------------------------------------------------------------- zstd


def test_zstd_runs_pg_dump_uncompressed_into_a_zstd_child(postgres_server, backup_target):
    tool = make_dumper(postgres_server.bin_dir, compression="zstd:3").select(SERVER_15)
    tool_threads = make_dumper(postgres_server.bin_dir, compression="zstd:1")
    tool_threads.cpus = 3
    name = unique("zstd")
    postgres_server.create_database(name)
    postgres_server.execute(
        "CREATE TABLE orders AS SELECT g AS id, md5(g::text) AS note "
        "FROM generate_series(1, 5000) g",
        dbname=name,
    )

    with closing(tool.dump(backup_target, name)) as dump:
        stream = dump.stream
        stages = stream.stages
        data = b"".join(stream)
        facts = dump.facts()

    assert tool.info.compression == "zstd:3"
    assert "--compress=0" in stages[0].argv
    assert list(stages[1].argv) == ["zstd", "-3", "-T1", "-q", "-c", "--no-progress"]
    with closing(tool_threads.select(SERVER_15).dump(backup_target, name)) as threaded:
        assert "-T3" in threaded.stream.stages[1].argv
    # A full pool of two on two CPUs: one zstd thread each; a run of one database: both CPUs.
    tool_threads.cpus, tool_threads.pool = 2, 2
    pooled = tool_threads.select(SERVER_15)
    for in_run, threads in ((5, "-T1"), (2, "-T1"), (1, "-T2")):
        with closing(pooled.dump(backup_target, name, databases_in_run=in_run)) as shared:
            assert threads in shared.stream.stages[1].argv
    assert data.startswith(ZSTD_MAGIC)
    archive = unzstd(data)
    assert archive.startswith(b"PGDMP")
    assert "TABLE DATA public orders" in restore_list(archive, postgres_server.bin_dir)
    # The tap read the archive pg_dump wrote, before zstd: its counts are the archive's own.
    assert facts.table_data_entries == 1
    assert facts.tables is not None
    assert [(t.qualified, t.rows) for t in facts.tables] == [("public.orders", 5000)]


def test_zstd_never_sees_the_password(postgres_server, backup_target, big_database):
    tool = make_dumper(postgres_server.bin_dir, compression="zstd:3").select(SERVER_15)
    password = backup_target.secret.get_secret_value()
    dump = tool.dump(backup_target, big_database)
    next(iter(dump.stream))
    pid = only_child("zstd")

    environ = Path(f"/proc/{pid}/environ").read_bytes().decode()
    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode()
    dump.close()

    assert password not in environ
    assert "PGPASSWORD" not in environ
    assert password not in cmdline
    assert child_pids("zstd") == child_pids("pg_dump") == []


def test_zstd_compresses_the_globals_too(postgres_server, backup_target):
    tool = make_dumper(postgres_server.bin_dir, compression="zstd:3").select(SERVER_15)

    data = b"".join(tool.dump_globals(backup_target))

    assert data.startswith(ZSTD_MAGIC)
    assert b"CREATE ROLE" in unzstd(data)


def test_a_failing_pg_dump_before_zstd_is_the_error_raised(postgres_server, dumper, backup_target):
    # Without row counting: the snapshot's connection would fail first, before pg_dump runs.
    tool = make_dumper(postgres_server.bin_dir, compression="zstd:3", count_rows=False).select(
        SERVER_15
    )

    with (
        closing(tool.dump(backup_target, unique("missing"))) as dump,
        pytest.raises(DumpError, match=r"^pg_dump exited with 1: .*does not exist"),
    ):
        list(dump.stream)
    assert child_pids("zstd") == []


def test_zstd_works_with_pg_dump_16_which_cannot_compress_with_zstd_itself(postgres_server):
    bin_dir = pgserver_bin_dir()
    name = unique("pg16zstd")
    postgres_server.create_database(name)
    postgres_server.execute("CREATE TABLE t (id int)", dbname=name)

    tool = make_dumper(bin_dir, compression="zstd:5").select(SERVER_15)
    with closing(tool.dump(postgres_server.target(), name)) as dump:
        archive = unzstd(b"".join(dump.stream))
        facts = dump.facts()

    assert tool.info.version.startswith("16.")
    assert tool.info.compression == "zstd:5"
    assert "TABLE public t" in restore_list(archive, bin_dir)
    assert facts.table_data_entries == 1


def test_a_zstd_level_out_of_range_is_refused_before_any_dump(postgres_server):
    with pytest.raises(
        DumpError, match=r"^compression 'zstd:20': zstd level 20 is outside 1\.\.19"
    ):
        make_dumper(postgres_server.bin_dir, compression="zstd:20").select(SERVER_15)


def test_zstd_missing_from_the_host_is_refused_before_any_dump(postgres_server, tmp_path):
    dumper = PgDumper(
        credentials=CredentialsByAuth({"password": PasswordCredentials()}),
        redactor=Redactor(),
        pg_bin_dir=postgres_server.bin_dir,
        compression="zstd:3",
        base_env={"PATH": str(tmp_path)},
    )

    with pytest.raises(DumpError) as caught:
        dumper.select(SERVER_15)

    assert str(caught.value) == (
        "compression zstd:3 needs zstd: cannot run zstd: No such file or directory; zstd "
        "compresses and decompresses dumps: install it (Debian package zstd)"
    )
