"""Stored dump names on every share adapter, the real Samba share among them (SPEC 7).

SMB shares are case-insensitive and hold Windows names: Samba lists `CON.dump.gpg` under a
mangled 8.3 name and refuses `sales.dump.gpg` beside `Sales.dump.gpg`. The names the naming rule
makes must all land, list and read back as written, in one folder, on each adapter.
"""

from __future__ import annotations

from pathlib import PurePosixPath as P

import pytest

from domain.rules.naming import database_of, dump_file
from domain.rules.rekeying import key_tag, rekeyed_name
from ports.errors import ShareUnavailableError
from ports.file_share import FileShare

TRICKY = [
    "sales",
    "Sales",
    "SALES",
    "con",
    "CON",
    "Nul.txt",
    "com1",
    "LPT9",
    "x.",
    "trailing ",
    "my.db",
    "shop a/b",
    "é",
    "Ünïcödé",
    "100%",
    ".hidden",
    "É" * 31 + "a",
]


def test_every_tricky_database_name_lands_lists_and_reads_back_as_written(share: FileShare) -> None:
    run = P("end-of-month/2026-11/20261128T220000Z")
    share.make_dirs(run)
    for name in TRICKY:
        share.write_stream(run / dump_file(name), [name.encode()])

    listed = [entry.name for entry in share.list_dir(run)]

    assert sorted(listed) == sorted(dump_file(name) for name in TRICKY)
    for name in TRICKY:
        assert b"".join(share.read_stream(run / dump_file(name))) == name.encode()
        assert database_of(dump_file(name).removesuffix(".dump.gpg")) == name


def test_rekeyed_names_land_beside_the_old_ones_and_read_back(share: FileShare) -> None:
    """Issue 15's rekey writes `<stem>.dump.<KEYID>.gpg` beside each file before its switch."""
    run = P("end-of-month/2026-12/20261228T220000Z")
    share.make_dirs(run)
    tag = key_tag("A" * 40, "B" * 40)
    for name in TRICKY:
        share.write_stream(run / dump_file(name), [b"old " + name.encode()])
        share.write_stream(run / rekeyed_name(dump_file(name), tag), [b"new " + name.encode()])

    listed = sorted(entry.name for entry in share.list_dir(run))

    expected = [dump_file(name) for name in TRICKY]
    expected += [rekeyed_name(dump_file(name), tag) for name in TRICKY]
    assert listed == sorted(expected)
    for name in TRICKY:
        stored = b"".join(share.read_stream(run / rekeyed_name(dump_file(name), tag)))
        assert stored == b"new " + name.encode()


@pytest.mark.integration
def test_samba_is_case_insensitive_so_names_that_differ_in_case_collide(
    smb_share: FileShare,
) -> None:
    """Why the rule escapes upper-case letters: the earlier rule stored these two names."""
    smb_share.write_stream(P("Sales.dump.gpg"), [b"first"])
    with pytest.raises(ShareUnavailableError, match="already exists"):
        smb_share.write_stream(P("sales.dump.gpg"), [b"second"])
