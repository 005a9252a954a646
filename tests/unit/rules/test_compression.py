"""The compression choice (domain/models/compression.py) and the stored file names it gives."""

from datetime import UTC, datetime

import pytest

from domain.models.compression import (
    ZstdCompression,
    globals_compression,
    is_zstd,
    zstd_choice,
)
from domain.models.manifest import DumpRecord, DumpStatus
from domain.rules.naming import GLOBALS_FILE, compressed_file, dump_file

WHEN = datetime(2026, 11, 28, 22, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("spec", "level"),
    [("zstd", 3), ("zstd:1", 1), ("ZSTD:19", 19), (" zstd:level=7 ", 7), ("zstd:3", 3)],
)
def test_zstd_specs_name_a_separate_zstd_process_at_their_level(spec, level):
    assert zstd_choice(spec) == ZstdCompression(level)


@pytest.mark.parametrize("spec", ["gzip:6", "6", "0", "none", "lz4", "lz4:1", "gzip"])
def test_every_other_spec_is_left_to_pg_dump(spec):
    assert zstd_choice(spec) is None


@pytest.mark.parametrize("spec", ["zstd:0", "zstd:20", "zstd:22", "zstd:-5"])
def test_a_zstd_level_a_stock_zstd_cannot_decompress_is_refused(spec):
    with pytest.raises(ValueError, match=r"outside 1\.\.19"):
        zstd_choice(spec)


def test_the_manifest_names_a_zstd_choice_by_its_setting():
    assert str(ZstdCompression(3)) == "zstd:3"


@pytest.mark.parametrize(
    ("compression", "expected"),
    [("zstd:3", True), ("ZSTD:1", True), ("zstd", True), ("gzip:6", False), ("none", False)],
)
def test_is_zstd_reads_a_recorded_compression(compression, expected):
    assert is_zstd(compression) is expected


def test_globals_follow_zstd_and_are_stored_as_they_are_otherwise():
    assert globals_compression("zstd:3") == "zstd:3"
    assert globals_compression("gzip:6") == "none"
    assert globals_compression("lz4") == "none"


def test_a_zstd_stream_gets_zst_before_gpg_and_pg_dumps_own_keeps_its_name():
    assert compressed_file(dump_file("sales"), "zstd:3") == "sales.dump.zst.gpg"
    assert compressed_file(GLOBALS_FILE, "zstd:1") == "globals.sql.zst.gpg"
    assert compressed_file(dump_file("sales"), "gzip:6") == "sales.dump.gpg"
    assert compressed_file(GLOBALS_FILE, "none") == "globals.sql.gpg"
    assert compressed_file(dump_file("données"), "zstd:3") == "donn%C3%A9es.dump.zst.gpg"


def record(file: str, compression: str = "") -> DumpRecord:
    return DumpRecord(
        name="sales",
        file=file,
        status=DumpStatus.OK,
        started=WHEN,
        finished=WHEN,
        compression=compression,
    )


def test_a_record_says_whether_zstd_must_undo_its_compression():
    assert record("sales.dump.zst.gpg", "zstd:3").zstd
    assert not record("sales.dump.gpg", "gzip:6").zstd
    assert not record("globals.sql.gpg", "none").zstd


def test_a_record_of_an_older_manifest_without_compression_goes_by_its_file_name():
    assert not record("sales.dump.gpg").zstd
    assert record("sales.dump.zst.gpg").zstd
    legacy = DumpRecord.model_validate_json(
        '{"name": "sales", "file": "sales.dump.gpg", "status": "ok", '
        '"started": "2026-11-28T22:00:00Z", "finished": "2026-11-28T22:00:00Z"}'
    )
    assert legacy.compression == ""
    assert not legacy.zstd
