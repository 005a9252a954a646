"""RESTORE.txt (domain/rules/restore_text.py): the stock commands for every stored file."""

from datetime import UTC, datetime

from domain.models.manifest import DumpRecord, DumpStatus, Manifest
from domain.models.run import Tier
from domain.rules.restore_text import LIST_DATABASE_ENTRIES, plain_command, restore_text

WHEN = datetime(2026, 11, 28, 22, 0, tzinfo=UTC)


def record(name, file, compression="", status=DumpStatus.OK, toc_entries=None) -> DumpRecord:
    return DumpRecord(
        name=name,
        file=file,
        status=status,
        started=WHEN,
        finished=WHEN,
        compression=compression,
        bytes=100,
        sha256="ab" * 32,
        toc_entries=toc_entries,
        table_data_entries=None if toc_entries is None else 1,
    )


def manifest(databases, globals_record=None, compression="zstd:3", signer=None) -> Manifest:
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
        signing_fingerprint=signer,
    )


def text(*args, **kwargs) -> str:
    return restore_text(manifest(*args, **kwargs)).decode()


def test_a_zstd_dump_restores_through_gpg_zstd_and_pg_restore():
    restore = text(
        [record("sales", "sales.dump.zst.gpg", "zstd:3")],
        record("globals", "globals.sql.zst.gpg", "zstd:3"),
    )
    assert (
        "  # sales\n"
        "  gpg --decrypt sales.dump.zst.gpg | zstd -d | pg_restore --create --dbname=postgres\n"
    ) in restore
    assert "  gpg --decrypt sales.dump.zst.gpg | zstd -d > db.dump    # sales\n" in restore
    assert "  gpg --decrypt globals.sql.zst.gpg | zstd -d | psql -d postgres\n" in restore
    assert "sales.dump.zst.gpg" in restore.split("Files (")[1].split("\n\n")[0]
    assert "(ok, zstd:3)" in restore


def test_a_gzip_dump_goes_from_gpg_straight_to_pg_restore():
    restore = text(
        [record("sales", "sales.dump.gpg", "gzip:6")],
        record("globals", "globals.sql.gpg", "none"),
        compression="gzip:6",
    )
    assert "  gpg --decrypt sales.dump.gpg | pg_restore --create --dbname=postgres\n" in restore
    assert "  gpg --decrypt sales.dump.gpg > db.dump    # sales\n" in restore
    assert "  gpg --decrypt globals.sql.gpg | psql -d postgres\n" in restore
    assert "zstd -d |" not in restore
    assert "zstd -d >" not in restore
    assert "(ok, gzip:6)" in restore


def test_a_record_of_an_older_manifest_is_read_by_its_file_name():
    assert plain_command(record("sales", "sales.dump.gpg")) == "gpg --decrypt sales.dump.gpg"
    assert plain_command(record("sales", "sales.dump.zst.gpg")) == (
        "gpg --decrypt sales.dump.zst.gpg | zstd -d"
    )


def test_a_file_a_rekey_renamed_keeps_its_zstd_step():
    tag = "0123456789ABCDEF"
    rekeyed = record("sales", f"sales.dump.zst.{tag}.gpg")
    assert plain_command(rekeyed) == f"gpg --decrypt sales.dump.zst.{tag}.gpg | zstd -d"
    escrowed = record("sales", f"sales.dump.zst.{tag}-{tag}.gpg")
    assert plain_command(escrowed).endswith(" | zstd -d")
    assert plain_command(record("sales", f"sales.dump.{tag}.gpg")) == (
        f"gpg --decrypt sales.dump.{tag}.gpg"
    )
    # The manifest's own record of the compression wins over the name.
    assert plain_command(record("sales", f"sales.dump.{tag}.gpg", "zstd:1")).endswith("zstd -d")


def test_file_names_are_quoted_for_the_shell():
    restore = text([record('it\'s "eu" données', 'it\'s "eu".dump.zst.gpg', "zstd:3")])
    assert (
        '  # it\'s "eu" données\n'
        "  gpg --decrypt 'it'\"'\"'s \"eu\".dump.zst.gpg' | zstd -d | "
        "pg_restore --create --dbname=postgres\n"
    ) in restore


def test_a_database_name_never_reaches_a_command_line():
    # pg_restore --create takes the name from the archive: a name libpq would read as a
    # connection string (`a=b`, a URI) or one with quotes cannot misdirect the restore.
    for name in ("a=b", "postgresql://x", "o'k=1"):
        restore = text([record(name, "x.dump.zst.gpg", "zstd:3")])
        commands = [line for line in restore.splitlines() if "| pg_restore " in line]
        assert commands == [
            "  gpg --decrypt x.dump.zst.gpg | zstd -d | pg_restore --create --dbname=postgres"
        ]


def test_a_newline_in_a_database_name_cannot_start_a_command_line():
    restore = text([record("x\nrm -rf /", "x%0Arm.dump.zst.gpg", "zstd:3")])
    assert "\nrm -rf" not in restore
    assert "  # x\\nrm -rf /\n" in restore


def test_failed_dumps_are_listed_but_get_no_command():
    restore = text(
        [
            record("sales", "sales.dump.zst.gpg", "zstd:3"),
            record("hr", "hr.dump.zst.gpg", "zstd:3", status=DumpStatus.FAILED),
        ]
    )
    assert "hr.dump.zst.gpg" in restore
    assert "(failed, zstd:3)" in restore
    assert "  # hr\n" not in restore
    assert "gpg --decrypt hr.dump.zst.gpg" not in restore
    assert "  # sales\n" in restore


def test_a_run_without_dumps_or_globals_says_so():
    restore = text([])
    assert "(no databases)" in restore
    assert "(no dump to restore)" in restore
    assert "(this run has no globals dump)" in restore


def test_the_listing_gives_each_dumps_toc_entries_when_they_were_recorded():
    restore = text(
        [
            record("sales", "sales.dump.zst.gpg", "zstd:3", toc_entries=42),
            record("hr", "hr.dump.gpg", "gzip:6"),
        ]
    )
    assert "sales  (ok, zstd:3, 42 TOC entries)" in restore
    assert "hr  (ok, gzip:6)" in restore


def test_another_name_gets_the_database_level_properties_recipe_for_either_kind():
    for file, compression in (("sales.dump.zst.gpg", "zstd:3"), ("sales.dump.gpg", "gzip:6")):
        restore = text([record("sales", file, compression)], compression=compression)
        assert "createdb --template=template0 <name>" in restore
        assert "pg_restore --dbname=<name> --jobs=4 --no-owner db.dump" in restore
        assert LIST_DATABASE_ENTRIES + "\n" in restore
        assert "pg_restore --create --use-list=db.list --file=db.sql db.dump" in restore
        assert "pg_restore --create --dbname=postgres --jobs=4 db.dump" in restore


def test_a_signed_run_says_how_to_check_its_signature_first():
    signed = text([record("sales", "sales.dump.zst.gpg", "zstd:3")], signer="5" * 40)
    assert "The manifest is signed by key " + "5" * 40 in signed
    assert "  gpg --verify manifest.json.asc manifest.json\n" in signed
    unsigned = text([record("sales", "sales.dump.zst.gpg", "zstd:3")])
    assert "gpg --verify" not in unsigned


def test_the_postgres_database_is_restored_into_the_one_every_server_has():
    restore = text([record("postgres", "postgres.dump.zst.gpg", "zstd:3")])
    assert (
        "  # postgres  (on every server already: restored into it)\n"
        "  gpg --decrypt postgres.dump.zst.gpg | zstd -d | pg_restore --dbname=postgres\n"
    ) in restore
    assert "pg_restore --create" not in restore.split("5. Or write")[0]
