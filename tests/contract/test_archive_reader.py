"""The ArchiveReader contract, run against InMemoryArchiveReader and PgArchiveReader (pg_restore).

Each adapter comes as an `ArchiveCase`: the reader, an archive of a database with two tables (a
real pg_dump of the test server for PgArchiveReader), and a line its SQL form holds.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass

import pytest

from adapters.memory.archive_reader import InMemoryArchiveReader
from adapters.postgres.archive_reader import PgArchiveReader
from adapters.postgres.credentials import CredentialsByAuth, PasswordCredentials
from adapters.postgres.dumper import PgDumper
from domain.models.redaction import Redactor
from ports.archive_reader import ArchiveReader
from ports.database import ServerInfo
from ports.errors import ArchiveError, DecryptionError
from tests.support.postgres import PostgresServer

KIB = 1024


@dataclass
class ArchiveCase:
    reader: ArchiveReader
    archive: bytes
    tables: int
    sql_holds: bytes


@pytest.fixture(scope="module")
def real_archive(postgres_server: PostgresServer) -> bytes:
    """A pg_dump archive of a database with two tables, large enough to fill many pipe buffers."""
    name = f"archive_{secrets.token_hex(4)}"
    postgres_server.create_database(name)
    postgres_server.execute(
        "CREATE TABLE orders AS SELECT g AS id, md5(g::text) AS note "
        "FROM generate_series(1, 50000) g",
        dbname=name,
    )
    postgres_server.execute("CREATE TABLE customers (id int)", dbname=name)
    dumper = PgDumper(
        credentials=CredentialsByAuth({"password": PasswordCredentials()}),
        redactor=Redactor(),
        pg_bin_dir=postgres_server.bin_dir,
        compression="none",
    )
    tool = dumper.select(ServerInfo(150018, "15.18"))
    dump = tool.dump(postgres_server.target(), name)
    with closing(dump):
        return b"".join(dump.stream)


@pytest.fixture(
    params=[
        pytest.param("memory", id="memory"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.integration),
    ]
)
def case(request: pytest.FixtureRequest) -> ArchiveCase:
    if request.param == "memory":
        return ArchiveCase(
            reader=InMemoryArchiveReader(tables=2),
            archive=b"PGDMPsales:0;PGDMPsales:1;PGDMPsales:2;",
            tables=2,
            sql_holds=b"PGDMPsales:0;",
        )
    return ArchiveCase(
        reader=PgArchiveReader(redactor=Redactor()),
        archive=request.getfixturevalue("real_archive"),
        tables=2,
        sql_holds=b"CREATE TABLE public.orders",
    )


def pieces(data: bytes, consumed: list[int], size: int = 4 * KIB) -> Iterator[bytes]:
    """Yield `data` in pieces, counting in `consumed` how many were taken."""
    for start in range(0, len(data), size):
        consumed.append(start)
        yield data[start : start + size]


class TestArchiveReaderContract:
    def test_a_cut_short_archive_whose_table_of_contents_reads_is_an_archive_error(
        self, case: ArchiveCase
    ) -> None:
        # Cut inside the data, two thirds in: the table of contents is whole.
        cut = case.archive[: len(case.archive) * 2 // 3 - 1]

        with pytest.raises(ArchiveError) as raised:
            case.reader.check_archive(iter([cut]))

        assert "\n" not in str(raised.value)

    def test_the_listing_counts_entries_and_tables(self, case: ArchiveCase) -> None:
        listing = case.reader.check_archive(iter([case.archive]))

        assert listing.entries >= case.tables
        assert listing.tables == case.tables

    def test_listing_reads_the_stream_to_its_end(self, case: ArchiveCase) -> None:
        consumed: list[int] = []

        case.reader.check_archive(pieces(case.archive, consumed))

        assert len(consumed) == len(range(0, len(case.archive), 4 * KIB))

    def test_a_stream_failing_at_its_very_end_fails_the_listing_with_its_own_error(
        self, case: ArchiveCase
    ) -> None:
        damaged = DecryptionError("gpg failed to decrypt (exit 2): bad MDC")

        def decrypted() -> Iterator[bytes]:
            yield from pieces(case.archive, [])
            raise damaged

        with pytest.raises(DecryptionError) as raised:
            case.reader.check_archive(decrypted())

        assert raised.value is damaged

    def test_a_stream_that_is_no_archive_is_an_archive_error(self, case: ArchiveCase) -> None:
        with pytest.raises(ArchiveError) as raised:
            case.reader.check_archive([b"this is not an archive\n" * 100])

        assert "\n" not in str(raised.value)

    def test_to_sql_streams_the_archive_as_sql(self, case: ArchiveCase) -> None:
        stream = case.reader.to_sql(pieces(case.archive, []))

        sql = b"".join(stream)
        stream.close()

        assert case.sql_holds in sql

    def test_to_sql_of_a_stream_that_is_no_archive_is_an_archive_error(
        self, case: ArchiveCase
    ) -> None:
        with pytest.raises(ArchiveError):
            list(case.reader.to_sql([b"this is not an archive\n" * 100]))

    def test_to_sql_raises_the_streams_own_error_as_it_is(self, case: ArchiveCase) -> None:
        damaged = DecryptionError("gpg failed to decrypt (exit 2): bad MDC")

        def decrypted() -> Iterator[bytes]:
            yield from pieces(case.archive, [])
            raise damaged

        with pytest.raises(DecryptionError) as raised:
            list(case.reader.to_sql(decrypted()))

        assert raised.value is damaged

    def test_closing_the_sql_stream_early_is_safe_and_may_be_repeated(
        self, case: ArchiveCase
    ) -> None:
        stream = case.reader.to_sql(iter([case.archive]))
        next(iter(stream))

        stream.close()
        stream.close()
