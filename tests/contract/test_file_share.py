"""The FileShare contract, run against every adapter (see tests/contract/conftest.py)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import PurePosixPath as P

import pytest

from ports.errors import DumpError, ShareUnavailableError
from ports.file_share import Entry, FileShare


def read_all(share: FileShare, path: P) -> bytes:
    return b"".join(share.read_stream(path))


def failing_chunks() -> Iterator[bytes]:
    yield b"first part "
    yield b"second part "
    raise DumpError("pg_dump exited with status 1")


class TestFileShareContract:
    def test_appended_lines_accumulate_in_order(self, share: FileShare) -> None:
        share.append_line(P("retention.log"), "first")
        share.append_line(P("retention.log"), "second\n")

        assert read_all(share, P("retention.log")) == b"first\nsecond\n"

    def test_appending_to_a_directory_is_refused(self, share: FileShare) -> None:
        share.make_dirs(P("logs"))

        with pytest.raises(ShareUnavailableError):
            share.append_line(P("logs"), "line")

    def test_a_written_file_reads_back_the_same_bytes(self, share: FileShare) -> None:
        share.make_dirs(P("runs/2024-01"))
        content = [b"alpha", b"", b"beta" * 1000, bytes(range(256))]

        share.write_stream(P("runs/2024-01/db.dump.gpg"), iter(content))

        assert read_all(share, P("runs/2024-01/db.dump.gpg")) == b"".join(content)

    def test_the_receipt_holds_the_path_byte_count_and_sha256(self, share: FileShare) -> None:
        content = [b"x" * 3000, b"y" * 5]

        receipt = share.write_stream(P("file.bin"), content)

        assert receipt.path == P("file.bin")
        assert receipt.bytes == 3005
        assert receipt.sha256 == hashlib.sha256(b"".join(content)).hexdigest()

    def test_an_empty_stream_writes_an_empty_file(self, share: FileShare) -> None:
        receipt = share.write_stream(P("empty"), [])

        assert receipt.bytes == 0
        assert read_all(share, P("empty")) == b""

    def test_chunks_that_raise_leave_nothing_behind_and_the_error_unchanged(
        self, share: FileShare
    ) -> None:
        share.make_dirs(P("run"))

        with pytest.raises(DumpError, match="pg_dump exited with status 1"):
            share.write_stream(P("run/db.dump.gpg"), failing_chunks())

        assert not share.exists(P("run/db.dump.gpg"))
        assert share.list_dir(P("run")) == []

    def test_a_failed_write_can_be_retried_under_the_same_name(self, share: FileShare) -> None:
        with pytest.raises(DumpError):
            share.write_stream(P("db.dump.gpg"), failing_chunks())

        share.write_stream(P("db.dump.gpg"), [b"complete"])

        assert read_all(share, P("db.dump.gpg")) == b"complete"

    def test_writing_over_an_existing_file_is_refused_and_keeps_it(self, share: FileShare) -> None:
        share.write_stream(P("manifest.json"), [b"original"])

        with pytest.raises(ShareUnavailableError, match="exists"):
            share.write_stream(P("manifest.json"), [b"replacement"])

        assert read_all(share, P("manifest.json")) == b"original"

    def test_writing_over_a_directory_is_refused(self, share: FileShare) -> None:
        share.make_dirs(P("run"))

        with pytest.raises(ShareUnavailableError, match="exists"):
            share.write_stream(P("run"), [b"data"])

    def test_writing_into_a_missing_directory_is_refused(self, share: FileShare) -> None:
        with pytest.raises(ShareUnavailableError):
            share.write_stream(P("missing/file"), [b"data"])

    def test_reading_a_missing_file_is_refused(self, share: FileShare) -> None:
        with pytest.raises(ShareUnavailableError):
            read_all(share, P("missing"))

    def test_renaming_a_file_moves_its_content(self, share: FileShare) -> None:
        share.write_stream(P("db.partial"), [b"dump"])

        share.rename(P("db.partial"), P("db"))

        assert not share.exists(P("db.partial"))
        assert read_all(share, P("db")) == b"dump"

    def test_renaming_a_directory_moves_its_files(self, share: FileShare) -> None:
        share.make_dirs(P("end-of-month/2024-01/RUN.partial/sub"))
        share.write_stream(P("end-of-month/2024-01/RUN.partial/a"), [b"A"])
        share.write_stream(P("end-of-month/2024-01/RUN.partial/sub/b"), [b"B"])

        share.rename(P("end-of-month/2024-01/RUN.partial"), P("end-of-month/2024-01/RUN"))

        assert not share.exists(P("end-of-month/2024-01/RUN.partial"))
        assert [e.name for e in share.list_dir(P("end-of-month/2024-01"))] == ["RUN"]
        assert read_all(share, P("end-of-month/2024-01/RUN/a")) == b"A"
        assert read_all(share, P("end-of-month/2024-01/RUN/sub/b")) == b"B"

    def test_renaming_onto_an_existing_target_is_refused(self, share: FileShare) -> None:
        share.write_stream(P("a"), [b"A"])
        share.write_stream(P("b"), [b"B"])
        share.make_dirs(P("d1"))
        share.make_dirs(P("d2"))

        with pytest.raises(ShareUnavailableError, match="exists"):
            share.rename(P("a"), P("b"))
        with pytest.raises(ShareUnavailableError, match="exists"):
            share.rename(P("d1"), P("d2"))

        assert read_all(share, P("b")) == b"B"

    def test_renaming_into_a_missing_directory_is_refused(self, share: FileShare) -> None:
        share.write_stream(P("file"), [b"data"])

        with pytest.raises(ShareUnavailableError):
            share.rename(P("file"), P("missing/file"))

    def test_renaming_a_missing_source_is_refused(self, share: FileShare) -> None:
        with pytest.raises(ShareUnavailableError):
            share.rename(P("missing"), P("target"))

    def test_replacing_swaps_the_target_for_the_source(self, share: FileShare) -> None:
        share.make_dirs(P("run"))
        share.write_stream(P("run/manifest.json"), [b"old"])
        share.write_stream(P("run/manifest.json.next"), [b"new"])

        share.replace(P("run/manifest.json.next"), P("run/manifest.json"))

        assert read_all(share, P("run/manifest.json")) == b"new"
        assert [e.name for e in share.list_dir(P("run"))] == ["manifest.json"]

    def test_replacing_onto_a_missing_target_renames(self, share: FileShare) -> None:
        share.write_stream(P("a"), [b"A"])

        share.replace(P("a"), P("b"))

        assert not share.exists(P("a"))
        assert read_all(share, P("b")) == b"A"

    def test_replacing_a_directory_or_onto_one_is_refused(self, share: FileShare) -> None:
        share.write_stream(P("file"), [b"F"])
        share.make_dirs(P("dir"))
        share.make_dirs(P("other"))

        with pytest.raises(ShareUnavailableError):
            share.replace(P("file"), P("dir"))
        with pytest.raises(ShareUnavailableError):
            share.replace(P("dir"), P("other"))
        with pytest.raises(ShareUnavailableError):
            share.replace(P("missing"), P("file"))

        assert read_all(share, P("file")) == b"F"
        assert share.exists(P("dir"))

    def test_list_dir_returns_files_and_directories_sorted_by_name(self, share: FileShare) -> None:
        share.make_dirs(P("top/b-dir"))
        share.write_stream(P("top/c-file"), [b"12345"])
        share.write_stream(P("top/a-file"), [b"1"])

        assert share.list_dir(P("top")) == [
            Entry("a-file", is_dir=False, is_symlink=False, size=1),
            Entry("b-dir", is_dir=True, is_symlink=False, size=0),
            Entry("c-file", is_dir=False, is_symlink=False, size=5),
        ]

    def test_list_dir_of_the_root_shows_top_level_entries(self, share: FileShare) -> None:
        share.make_dirs(P("end-of-year/FY2024"))
        share.make_dirs(P("end-of-month"))

        assert [e.name for e in share.list_dir(P("."))] == ["end-of-month", "end-of-year"]

    def test_list_dir_of_a_missing_directory_is_empty(self, share: FileShare) -> None:
        assert share.list_dir(P("nowhere/at/all")) == []

    def test_make_dirs_accepts_existing_directories(self, share: FileShare) -> None:
        share.make_dirs(P("a/b"))
        share.make_dirs(P("a/b"))
        share.make_dirs(P("a"))

        assert share.list_dir(P("a")) == [Entry("b", is_dir=True)]

    def test_make_dirs_over_a_file_is_refused(self, share: FileShare) -> None:
        share.write_stream(P("file"), [b"data"])

        with pytest.raises(ShareUnavailableError):
            share.make_dirs(P("file/sub"))

        assert read_all(share, P("file")) == b"data"

    def test_delete_tree_removes_the_directory_and_everything_below(self, share: FileShare) -> None:
        share.make_dirs(P("tier/run/sub"))
        share.make_dirs(P("tier/kept"))
        share.write_stream(P("tier/run/a"), [b"A"])
        share.write_stream(P("tier/run/sub/b"), [b"B"])

        share.delete_tree(P("tier/run"))

        assert not share.exists(P("tier/run"))
        assert not share.exists(P("tier/run/sub/b"))
        assert share.list_dir(P("tier/run")) == []
        assert share.list_dir(P("tier")) == [Entry("kept", is_dir=True)]

    def test_delete_tree_of_a_missing_directory_is_refused(self, share: FileShare) -> None:
        with pytest.raises(ShareUnavailableError):
            share.delete_tree(P("missing"))

    def test_delete_file_removes_only_that_file(self, share: FileShare) -> None:
        share.write_stream(P("gone"), [b"1"])
        share.write_stream(P("kept"), [b"2"])

        share.delete_file(P("gone"))

        assert not share.exists(P("gone"))
        assert [e.name for e in share.list_dir(P("."))] == ["kept"]

    def test_delete_tree_of_a_file_and_delete_file_of_a_directory_are_refused(
        self, share: FileShare
    ) -> None:
        share.make_dirs(P("dir"))
        share.write_stream(P("file"), [b"data"])

        with pytest.raises(ShareUnavailableError):
            share.delete_tree(P("file"))
        with pytest.raises(ShareUnavailableError):
            share.delete_file(P("dir"))

        assert share.exists(P("dir"))
        assert share.exists(P("file"))

    def test_delete_file_of_a_missing_file_is_refused(self, share: FileShare) -> None:
        with pytest.raises(ShareUnavailableError):
            share.delete_file(P("missing"))

    def test_exists_tells_files_and_directories_from_missing_paths(self, share: FileShare) -> None:
        share.make_dirs(P("dir"))
        share.write_stream(P("dir/file"), [b"1"])

        assert share.exists(P("dir"))
        assert share.exists(P("dir/file"))
        assert not share.exists(P("dir/other"))
        assert not share.exists(P("other/file"))
