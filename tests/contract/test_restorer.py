"""The Restorer contract, run against InMemoryRestorer and PgRestorer (a real PostgreSQL 15 server).

Each adapter comes as a `RestorerCase`: the restorer, the server targets live on, an archive of a
database with two tables, and how to put an archive file where the restorer reads it.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path, PurePath

import pytest
from pydantic import SecretStr

from adapters.memory.local_files import InMemoryLocalFiles
from adapters.memory.restorer import InMemoryRestorer
from adapters.postgres.credentials import CredentialsByAuth, PasswordCredentials
from adapters.postgres.dumper import PgDumper
from adapters.postgres.restorer import PgRestorer
from adapters.postgres.scratch import SCRATCH_LOCK_CLASS
from domain.models.redaction import Redactor
from ports.database import ServerInfo, ServerTarget
from ports.errors import DecryptionError, RestoreError
from ports.restorer import (
    SCRATCH_CLAIMED,
    DatabaseProperties,
    DatabaseStatement,
    GlobalsOutcome,
    PropertyKind,
    RestoreOptions,
    Restorer,
    RestoreTarget,
    ScratchDatabase,
)
from tests.support.postgres import PostgresServer


@dataclass
class RestorerCase:
    restorer: Restorer
    server: ServerTarget
    archive: bytes
    tables: int
    place: Callable[[bytes], PurePath]
    """Put an archive where `restore` reads it; return its path."""

    def target(self) -> RestoreTarget:
        return RestoreTarget(self.server, f"restored_{secrets.token_hex(4)}")


@pytest.fixture(scope="module")
def real_archive(postgres_server: PostgresServer) -> bytes:
    name = f"source_{secrets.token_hex(4)}"
    postgres_server.create_database(name)
    postgres_server.execute("CREATE TABLE orders AS SELECT 1 AS id", dbname=name)
    postgres_server.execute("CREATE TABLE customers (id int)", dbname=name)
    postgres_server.execute(f"COMMENT ON DATABASE {name} IS 'the source of {name}'")
    postgres_server.execute(f"ALTER DATABASE {name} SET work_mem TO '8MB'")
    dumper = PgDumper(
        credentials=CredentialsByAuth({"password": PasswordCredentials()}),
        redactor=Redactor(),
        pg_bin_dir=postgres_server.bin_dir,
        # pg_restore reads the archive itself: pg_dump's own compression, no zstd around it.
        compression="gzip:6",
    )
    tool = dumper.select(ServerInfo(150018, "15.18"))
    with closing(tool.dump(postgres_server.target(), name)) as dump:
        return b"".join(dump.stream)


def memory_case() -> RestorerCase:
    files = InMemoryLocalFiles()

    def place(data: bytes) -> PurePath:
        path = PurePath(f"/work/scratch-{secrets.token_hex(4)}.dump")
        files.files[path] = data
        return path

    server = ServerTarget("db.example", 5432, "admin", "password", SecretStr("pw-1234"), "require")
    restorer = InMemoryRestorer(files, tables=2, missing_roles={"nobody_here"})
    restorer.source_rows["sales"] = {"public.orders": 1, "public.customers": 0}
    return RestorerCase(restorer, server, b"PGDMPsales:0;PGDMPsales:1;", 2, place)


def postgres_case(server: PostgresServer, archive: bytes, tmp_path: Path) -> RestorerCase:
    def place(data: bytes) -> PurePath:
        path = tmp_path / f"scratch-{secrets.token_hex(4)}.dump"
        path.write_bytes(data)
        return path

    restorer = PgRestorer(
        credentials=CredentialsByAuth({"password": PasswordCredentials()}), redactor=Redactor()
    )
    return RestorerCase(restorer, server.target(), archive, 2, place)


@pytest.fixture(
    params=[
        pytest.param("memory", id="memory"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.integration),
    ]
)
def case(request: pytest.FixtureRequest, tmp_path: Path) -> RestorerCase:
    if request.param == "memory":
        return memory_case()
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return postgres_case(server, request.getfixturevalue("real_archive"), tmp_path)


class TestRestorerContract:
    def test_a_missing_database_does_not_exist(self, case: RestorerCase) -> None:
        assert not case.restorer.inspect(case.target()).exists

    def test_a_created_database_exists_empty_and_a_dropped_one_is_gone(
        self, case: RestorerCase
    ) -> None:
        target = case.target()

        case.restorer.create_database(target, DatabaseProperties())
        created = case.restorer.inspect(target)
        case.restorer.drop_database(target)

        assert created.exists
        assert created.empty
        assert not case.restorer.inspect(target).exists

    def test_scratch_databases_are_listed_with_their_note_and_whether_a_claim_holds_them(
        self, case: RestorerCase
    ) -> None:
        prefix = f"lts_scratch_{secrets.token_hex(3)}_"
        held = RestoreTarget(case.server, f"{prefix}1")
        left = RestoreTarget(case.server, f"{prefix}2")
        other = case.target()
        note = "a drill's scratch database: it's dropped"
        claim = case.restorer.claim_scratch(held)
        try:
            for target in (held, left, other):
                case.restorer.create_database(target, DatabaseProperties())
            case.restorer.mark_database(held, note)
            while_held = case.restorer.scratch_databases(case.server, prefix)
            claim.close()
            claim.close()
            once_let_go = case.restorer.scratch_databases(case.server, prefix)
        finally:
            claim.close()
            for target in (held, left, other):
                case.restorer.drop_database(target)

        assert while_held == (
            ScratchDatabase(held.database, note, claimed=True),
            ScratchDatabase(left.database, None, claimed=False, objects=0),
        )
        assert once_let_go[0] == ScratchDatabase(held.database, note, claimed=False, objects=0)
        assert case.restorer.scratch_databases(case.server, prefix) == ()

    def test_a_claimed_scratch_name_is_refused_to_a_second_claim_until_the_first_ends(
        self, case: RestorerCase
    ) -> None:
        prefix = f"lts_scratch_{secrets.token_hex(3)}_"
        target = RestoreTarget(case.server, f"{prefix}1")
        first = case.restorer.claim_scratch(target)
        try:
            case.restorer.create_database(target, DatabaseProperties())
            with pytest.raises(RestoreError) as refused:
                case.restorer.claim_scratch(target)
            # A listing only looks: it neither takes nor ends a claim.
            listed = case.restorer.scratch_databases(case.server, prefix)
            with pytest.raises(RestoreError):
                case.restorer.claim_scratch(target)
            first.close()
            case.restorer.scratch_databases(case.server, prefix)
            second = case.restorer.claim_scratch(target)
            second.close()
        finally:
            first.close()
            case.restorer.drop_database(target)

        assert str(refused.value) == f"{target.where}: {SCRATCH_CLAIMED}"
        assert listed == (ScratchDatabase(target.database, None, claimed=True),)

    def test_a_restored_archive_brings_its_tables_back(self, case: RestorerCase) -> None:
        target = case.target()
        case.restorer.create_database(target, DatabaseProperties())
        try:
            case.restorer.restore(target, case.place(case.archive), RestoreOptions(jobs=2))

            assert case.restorer.count_tables(target) == case.tables
            assert not case.restorer.inspect(target).empty
            rows = {table.qualified: table.rows for table in case.restorer.count_rows(target)}
            assert rows == {"public.customers": 0, "public.orders": 1}
        finally:
            case.restorer.drop_database(target)

    def test_the_database_itself_is_created_as_dumped_under_the_target_name(
        self, case: RestorerCase
    ) -> None:
        target = case.target()
        properties = case.restorer.read_properties(target, case.place(case.archive))
        assert properties.create is not None
        assert f'"{target.database}"' in properties.create
        assert "template0" in properties.create
        kinds = {statement.kind for statement in properties.statements}
        assert {PropertyKind.OWNER, PropertyKind.COMMENT, PropertyKind.SETTING} <= kinds
        assert properties.unknown == ()

        assert case.restorer.create_database(target, properties) is None
        try:
            outcome = case.restorer.apply_properties(target, properties.statements)
        finally:
            case.restorer.drop_database(target)

        assert outcome.failed == ()
        assert outcome.applied + len(outcome.missing) == len(properties.statements)

    def test_a_statement_naming_a_role_the_server_lacks_is_missing_not_failed(
        self, case: RestorerCase
    ) -> None:
        target = case.target()
        case.restorer.create_database(target, DatabaseProperties())
        name = f'"{target.database}"'
        statements = [
            DatabaseStatement(
                PropertyKind.PRIVILEGE, f"GRANT CONNECT ON DATABASE {name} TO nobody_here"
            ),
            DatabaseStatement(PropertyKind.SETTING, f"ALTER DATABASE {name} SET work_mem TO '2MB'"),
        ]
        try:
            outcome = case.restorer.apply_properties(target, statements)
        finally:
            case.restorer.drop_database(target)

        assert outcome.applied == 1
        assert outcome.failed == ()
        assert [lost.reason for lost in outcome.missing] == ['role "nobody_here" does not exist']

    def test_versions_name_the_chosen_pg_restore_and_the_server(self, case: RestorerCase) -> None:
        versions = case.restorer.versions(case.server)

        assert versions.pg_restore.split(".")[0] == versions.server.split(".")[0]

    def test_restoring_a_file_that_is_no_archive_is_one_line_restore_error(
        self, case: RestorerCase
    ) -> None:
        target = case.target()
        case.restorer.create_database(target, DatabaseProperties())
        try:
            with pytest.raises(RestoreError) as raised:
                case.restorer.restore(target, case.place(b"not an archive\n"), RestoreOptions())
        finally:
            case.restorer.drop_database(target)

        assert "\n" not in str(raised.value)

    def test_globals_that_apply_cleanly_report_no_failed_statement(
        self, case: RestorerCase
    ) -> None:
        role = f"app_{secrets.token_hex(4)}"

        outcome = case.restorer.apply_globals(case.server, [f"CREATE ROLE {role};\n".encode()])

        assert outcome == GlobalsOutcome(existing=0, errors=())

    def test_roles_that_exist_already_are_counted_and_do_not_stop_the_others(
        self, case: RestorerCase
    ) -> None:
        role = f"app_{secrets.token_hex(4)}"
        sql = f"CREATE ROLE {role};\nCREATE ROLE {role};\nCREATE ROLE {role}_second;\n"

        outcome = case.restorer.apply_globals(case.server, [sql.encode()])

        assert outcome == GlobalsOutcome(existing=1, errors=())

    def test_a_globals_stream_failing_at_its_end_raises_its_own_error(
        self, case: RestorerCase
    ) -> None:
        damaged = DecryptionError("gpg failed to decrypt (exit 2): bad MDC")

        def decrypted() -> Iterator[bytes]:
            yield b"SELECT 1;\n" * 1000
            raise damaged

        with pytest.raises(DecryptionError) as raised:
            case.restorer.apply_globals(case.server, decrypted())

        assert raised.value is damaged


@pytest.mark.integration
def test_a_claim_lives_as_long_as_its_session_and_no_idle_timeout_ends_it(
    postgres_server: PostgresServer,
) -> None:
    # A login whose idle sessions the server ends after a second, as a cautious DBA sets it.
    role, password = f"drill_{secrets.token_hex(4)}", secrets.token_hex(12)
    postgres_server.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
    postgres_server.execute(f"ALTER ROLE {role} SET idle_session_timeout = '1s'")
    restorer = PgRestorer(
        credentials=CredentialsByAuth({"password": PasswordCredentials()}), redactor=Redactor()
    )
    server = postgres_server.target(role, password)
    prefix = f"lts_scratch_{secrets.token_hex(3)}_"
    target = RestoreTarget(server, f"{prefix}1")
    claim = restorer.claim_scratch(target)
    try:
        postgres_server.create_database(target.database)
        time.sleep(1.5)
        after_idling = restorer.scratch_databases(server, prefix)
        # The server ends the session, as it does when the job's process dies: the claim goes.
        with postgres_server.connect() as conn:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_locks"
                " WHERE locktype = 'advisory' AND classid = %s AND granted"
                " AND pid IN (SELECT pid FROM pg_stat_activity WHERE usename = %s)",
                (SCRATCH_LOCK_CLASS, role),
            )
        deadline = time.monotonic() + 10
        while restorer.scratch_databases(server, prefix)[0].claimed:
            assert time.monotonic() < deadline, "the ended session's claim stayed"
            time.sleep(0.05)
        after_the_end = restorer.scratch_databases(server, prefix)
    finally:
        claim.close()
        postgres_server.execute(f'DROP DATABASE IF EXISTS "{target.database}"')
        postgres_server.execute(f"DROP ROLE {role}")

    assert after_idling == (ScratchDatabase(target.database, None, claimed=True),)
    assert after_the_end == (ScratchDatabase(target.database, None, claimed=False, objects=0),)
