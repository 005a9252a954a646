"""RESTORE.txt (domain/rules/restore_text.py): the stock commands for every stored file."""

from datetime import UTC, datetime

from domain.models.manifest import DumpRecord, DumpStatus, Manifest
from domain.models.run import Tier
from domain.rules.restore_text import dbname_argument, plain_command, restore_text

WHEN = datetime(2026, 11, 28, 22, 0, tzinfo=UTC)


def record(name, file, compression="", status=DumpStatus.OK) -> DumpRecord:
    return DumpRecord(
        name=name,
        file=file,
        status=status,
        started=WHEN,
        finished=WHEN,
        compression=compression,
        bytes=100,
        sha256="ab" * 32,
    )


def manifest(databases, globals_record=None, compression="zstd:3") -> Manifest:
    return Manifest(
        client="acme",
        run_id="20261128T220000Z",
        tier=Tier.END_OF_MONTH,
        period="2026-11",
        eoy_month=6,
        started=WHEN,
        finished=WHEN,
        tool_version="test",
        server_version="15.18",
        pg_dump_version="15.18",
        archive_format="custom",
        compression=compression,
        key_name="acme",
        key_fingerprint="F" * 40,
        globals=globals_record,
        databases=databases,
    )


def text(*args, **kwargs) -> str:
    return restore_text(manifest(*args, **kwargs)).decode()


def test_a_zstd_dump_restores_through_gpg_zstd_and_pg_restore():
    restore = text(
        [record("sales", "sales.dump.zst.gpg", "zstd:3")],
        record("globals", "globals.sql.zst.gpg", "zstd:3"),
    )
    assert "  createdb sales\n" in restore
    assert (
        "  gpg --decrypt sales.dump.zst.gpg | zstd -d | pg_restore --dbname=sales --no-owner\n"
        in restore
    )
    assert "  gpg --decrypt globals.sql.zst.gpg | zstd -d | psql -d postgres\n" in restore
    assert "sales.dump.zst.gpg" in restore.split("Files (")[1].split("\n\n")[0]
    assert "(ok, zstd:3)" in restore


def test_a_gzip_dump_goes_from_gpg_straight_to_pg_restore():
    restore = text(
        [record("sales", "sales.dump.gpg", "gzip:6")],
        record("globals", "globals.sql.gpg", "none"),
        compression="gzip:6",
    )
    assert "  gpg --decrypt sales.dump.gpg | pg_restore --dbname=sales --no-owner\n" in restore
    assert "  gpg --decrypt globals.sql.gpg | psql -d postgres\n" in restore
    assert "| zstd -d |" not in restore
    assert "(ok, gzip:6)" in restore


def test_a_record_of_an_older_manifest_is_read_by_its_file_name():
    assert plain_command(record("sales", "sales.dump.gpg")) == "gpg --decrypt sales.dump.gpg"
    assert plain_command(record("sales", "sales.dump.zst.gpg")) == (
        "gpg --decrypt sales.dump.zst.gpg | zstd -d"
    )


def test_names_are_quoted_for_the_shell():
    restore = text([record('it\'s "eu" données', "it%27s%20%22eu%22.dump.zst.gpg", "zstd:3")])
    assert "  createdb 'it'\"'\"'s \"eu\" données'\n" in restore
    assert (
        "  gpg --decrypt it%27s%20%22eu%22.dump.zst.gpg | zstd -d | "
        "pg_restore '--dbname=it'\"'\"'s \"eu\" données' --no-owner\n"
    ) in restore


def test_a_name_libpq_would_read_as_a_connection_string_is_given_as_one():
    assert dbname_argument("a=b") == "'--dbname=dbname='\"'\"'a=b'\"'\"''"
    assert dbname_argument("postgresql://x") == "'--dbname=dbname='\"'\"'postgresql://x'\"'\"''"
    assert dbname_argument("o'k=1") == "'--dbname=dbname='\"'\"'o\\'\"'\"'k=1'\"'\"''"
    assert dbname_argument("plain") == "--dbname=plain"


def test_failed_dumps_are_listed_but_get_no_command():
    restore = text(
        [
            record("sales", "sales.dump.zst.gpg", "zstd:3"),
            record("hr", "hr.dump.zst.gpg", "zstd:3", status=DumpStatus.FAILED),
        ]
    )
    assert "hr.dump.zst.gpg" in restore
    assert "(failed, zstd:3)" in restore
    assert "createdb hr" not in restore
    assert "createdb sales" in restore


def test_a_run_without_dumps_or_globals_says_so():
    restore = text([])
    assert "(no databases)" in restore
    assert "(no dump to restore)" in restore
    assert "(this run has no globals dump)" in restore
