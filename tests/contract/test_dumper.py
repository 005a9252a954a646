"""The Dumper contract, run against InMemoryDumper and PgDumper (a real PostgreSQL 15 server).

Each adapter comes as a `DumperCase`: the dumper, a server it accepts, a database to dump and one
the login may not dump, a dumper whose only tool is too old, and one whose tool writes nothing.
Both compress with zstd (the real one with the default `zstd:1`): a dump is a custom-format
archive once its compression is undone (`plain`).
"""

from __future__ import annotations

import secrets
import subprocess
import threading
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest
from psycopg import sql
from pydantic import SecretStr

from adapters.memory.decompressor import FRAME
from adapters.memory.postgres import InMemoryDumper
from adapters.postgres.credentials import CredentialsByAuth, PasswordCredentials
from adapters.postgres.dumper import PgDumper
from domain.models.redaction import Redactor
from ports.database import ServerInfo, ServerTarget
from ports.dumper import Dumper, DumpTool
from ports.errors import DumpError, DumperTooOldError
from tests.support.postgres import PostgresServer
from tests.support.zstd import unzstd

SERVER_15 = ServerInfo(150018, "15.18")


@dataclass
class DumperCase:
    dumper: Dumper
    server: ServerInfo
    target: ServerTarget
    database: str
    forbidden: str
    """A database the login may not dump."""
    too_old: Dumper
    """A dumper whose only pg_dump is older than `server`."""
    hollow: DumpTool
    """A tool whose pg_dump succeeds without writing anything."""
    is_archive: Callable[[bytes], bool]
    """Whether plain (uncompressed) bytes are a custom-format archive of `database`."""
    plain: Callable[[bytes], bytes]
    """Undo the compression the dumper's tools report (`info.compression`)."""


def memory_case() -> DumperCase:
    secret = SecretStr(secrets.token_hex(8))
    target = ServerTarget("db.example", 5432, "backup", "password", secret, "require")
    return DumperCase(
        dumper=InMemoryDumper(
            broken={"forbidden": "permission denied for database"},
            probe_errors={"forbidden": "permission denied for database forbidden"},
            compression="zstd:3",
        ),
        server=ServerInfo(150004, "15.4"),
        target=target,
        database="sales",
        forbidden="forbidden",
        too_old=InMemoryDumper(too_old=True),
        hollow=InMemoryDumper(empty={"sales"}, compression="zstd:3").select(
            ServerInfo(150004, "15.4")
        ),
        is_archive=lambda data: data.startswith(b"PGDMP"),
        plain=lambda data: data.removeprefix(FRAME),
    )


def fake_pg_dump(bin_dir: Path, version: str, body: str, real: Path | None = None) -> Path:
    bin_dir.mkdir()
    if real is not None:
        (bin_dir / "pg_restore").symlink_to(real / "pg_restore")
    script = bin_dir / "pg_dump"
    script.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = "--version" ]; then echo "pg_dump (PostgreSQL) {version}"; exit 0; fi\n'
        f"{body}\n"
    )
    script.chmod(0o755)
    return bin_dir


def pg_dumper(bin_dir: Path) -> PgDumper:
    return PgDumper(
        credentials=CredentialsByAuth({"password": PasswordCredentials()}),
        redactor=Redactor(),
        pg_bin_dir=bin_dir,
    )


def postgres_case(server: PostgresServer, tmp_path: Path) -> DumperCase:
    tag = secrets.token_hex(4)
    role, password = f"backup_{tag}", "pw-" + secrets.token_urlsafe(16)
    server.create_role(role, password, "pg_read_all_data")
    database, forbidden = f"sales_{tag}", f"forbidden_{tag}"
    for name in (database, forbidden):
        server.create_database(name)
    server.execute("CREATE TABLE orders AS SELECT g AS id FROM generate_series(1, 100) g", database)
    server.execute(
        sql.SQL("REVOKE CONNECT ON DATABASE {} FROM PUBLIC").format(sql.Identifier(forbidden))
    )

    def is_archive(data: bytes) -> bool:
        listed = subprocess.run(
            [str(server.bin_dir / "pg_restore"), "--list"], input=data, capture_output=True
        )
        return data.startswith(b"PGDMP") and b"TABLE DATA public orders" in listed.stdout

    return DumperCase(
        dumper=pg_dumper(server.bin_dir),
        server=SERVER_15,
        target=server.target(role, password),
        database=database,
        forbidden=forbidden,
        too_old=pg_dumper(fake_pg_dump(tmp_path / "old", "9.6.24", "exit 1")),
        hollow=pg_dumper(
            fake_pg_dump(tmp_path / "hollow", "15.18", "exit 0", server.bin_dir)
        ).select(SERVER_15),
        is_archive=is_archive,
        plain=unzstd,
    )


@pytest.fixture(
    params=[
        pytest.param("memory", id="memory"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.integration),
    ]
)
def case(request: pytest.FixtureRequest, tmp_path: Path) -> DumperCase:
    if request.param == "memory":
        return memory_case()
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return postgres_case(server, tmp_path)


class TestDumperContract:
    def test_select_names_the_version_the_custom_format_and_the_compression(
        self, case: DumperCase
    ) -> None:
        info = case.dumper.select(case.server).info

        assert info.version.split(".")[0].isdigit()
        assert info.archive_format == "custom"
        assert info.compression

    def test_a_dumper_whose_tool_is_older_than_the_server_refuses_it(
        self, case: DumperCase
    ) -> None:
        with pytest.raises(DumperTooOldError, match="older than the server"):
            case.too_old.select(case.server)

    def test_a_dump_streams_byte_chunks_of_a_custom_format_archive(self, case: DumperCase) -> None:
        dump = case.dumper.select(case.server).dump(case.target, case.database)

        chunks = list(dump.stream)
        dump.close()

        assert chunks
        assert all(isinstance(chunk, bytes) for chunk in chunks)
        assert case.is_archive(case.plain(b"".join(chunks)))

    def test_a_finished_dump_tells_its_toc_entries_and_every_tables_rows(
        self, case: DumperCase
    ) -> None:
        dump = case.dumper.select(case.server).dump(case.target, case.database)
        with closing(dump):
            b"".join(dump.stream)
            facts = dump.facts()

        assert facts.toc_entries >= facts.table_data_entries >= 1
        assert facts.tables is not None
        assert facts.count_error is None
        assert len(facts.tables) == facts.table_data_entries
        assert all(table.rows >= 0 for table in facts.tables)

    def test_the_facts_of_a_dump_that_did_not_end_are_a_dump_error(self, case: DumperCase) -> None:
        dump = case.dumper.select(case.server).dump(case.target, case.database)
        with closing(dump):
            next(iter(dump.stream))

            with pytest.raises(DumpError, match="did not end"):
                dump.facts()

    def test_the_globals_are_sql_creating_the_roles(self, case: DumperCase) -> None:
        compressed = b"".join(case.dumper.select(case.server).dump_globals(case.target))
        text = case.plain(compressed).decode()

        assert "CREATE ROLE" in text

    def test_a_database_that_cannot_be_dumped_raises_dump_error_at_the_end_of_its_stream(
        self, case: DumperCase
    ) -> None:
        tool = case.dumper.select(case.server)

        def dump_all() -> None:
            with closing(tool.dump(case.target, case.forbidden)) as dump:
                for _ in dump.stream:
                    pass

        # Starting the dump (its snapshot) or reading its stream, whichever fails first.
        with pytest.raises(DumpError, match="permission denied") as raised:
            dump_all()

        assert "\n" not in str(raised.value)
        assert case.target.secret.get_secret_value() not in str(raised.value)

    def test_a_probe_passes_a_database_the_login_can_dump(self, case: DumperCase) -> None:
        case.dumper.select(case.server).probe(case.target, case.database)

    def test_a_probe_of_a_database_the_login_cannot_dump_is_a_one_line_dump_error(
        self, case: DumperCase
    ) -> None:
        tool = case.dumper.select(case.server)

        with pytest.raises(DumpError, match="permission denied") as raised:
            tool.probe(case.target, case.forbidden)

        assert "\n" not in str(raised.value)

    def test_a_dump_tool_that_writes_nothing_is_a_dump_error(self, case: DumperCase) -> None:

        dump = case.hollow.dump(case.target, case.database)
        with closing(dump), pytest.raises(DumpError):
            list(dump.stream)

    def test_closing_a_dump_early_is_safe_and_may_be_repeated(self, case: DumperCase) -> None:
        dump = case.dumper.select(case.server).dump(case.target, case.database)
        chunks = iter(dump.stream)
        next(chunks)

        dump.close()
        dump.close()

    def test_one_tool_dumps_from_several_threads_at_once(self, case: DumperCase) -> None:
        tool = case.dumper.select(case.server)
        dumps: list[bytes] = []

        def dump() -> None:
            with closing(tool.dump(case.target, case.database)) as started:
                dumps.append(b"".join(started.stream))

        threads = [threading.Thread(target=dump) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)

        assert len(dumps) == 3
        assert all(case.is_archive(case.plain(data)) for data in dumps)
