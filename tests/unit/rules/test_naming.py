"""File names no share can confuse (SPEC 7): unique case-insensitively, no device names, no
trailing dot or space, short enough, reversible and deterministic."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.models.compression import is_zstd_file
from domain.rules.naming import (
    DUMP_SUFFIX,
    GLOBALS_FILE,
    MAX_NAME_LENGTH_ON_SHARE,
    archive_name_problem,
    compressed_file,
    database_of,
    dump_file,
    file_stem,
    is_device_name,
)
from domain.rules.rekeying import base_name, key_tag, rekeyed_name

# The longest suffixes a stored dump gets: zstd's, a rekey's tag of two long key ids (issue 15),
# and the share's partial file while written.
REKEY_TAG = key_tag("F" * 40, "E" * 40)
LONGEST_SUFFIX = f".dump.zst.{REKEY_TAG}.gpg" + ".partial"
DEVICES = [
    "con",
    "prn",
    "aux",
    "nul",
    *(f"com{i}" for i in range(10)),
    *(f"lpt{i}" for i in range(10)),
]

database_names = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=63
).filter(lambda name: len(name.encode()) <= 63)


@pytest.mark.parametrize(
    ("database", "file"),
    [
        ("sales", "sales.dump.gpg"),
        ("Sales", "%53ales.dump.gpg"),
        ("SALES", "%53%41%4C%45%53.dump.gpg"),
        ("my.db", "my%2Edb.dump.gpg"),
        ("x.", "x%2E.dump.gpg"),
        ("trailing ", "trailing%20.dump.gpg"),
        ("con", "%63on.dump.gpg"),
        ("Con", "%43on.dump.gpg"),
        ("nul", "%6Eul.dump.gpg"),
        ("com1", "%63om1.dump.gpg"),
        ("lpt9", "%6Cpt9.dump.gpg"),
        ("com10", "com10.dump.gpg"),
        ("console", "console.dump.gpg"),
        ("shop a/b", "shop%20a%2Fb.dump.gpg"),
        ("é", "%C3%A9.dump.gpg"),
        ("100%", "100%25.dump.gpg"),
        (".hidden", "%2Ehidden.dump.gpg"),
    ],
)
def test_database_names_become_these_file_names(database, file):
    assert dump_file(database) == file
    assert database_of(file.removesuffix(DUMP_SUFFIX)) == database


def test_two_databases_that_differ_only_in_case_get_names_that_differ_case_insensitively():
    assert dump_file("Sales").casefold() != dump_file("sales").casefold()


@settings(max_examples=500)
@given(st.lists(database_names, min_size=2, max_size=6, unique=True))
def test_distinct_databases_never_share_a_name_on_a_case_insensitive_share(names):
    folded = {dump_file(name).casefold() for name in names}
    assert len(folded) == len(names)


@settings(max_examples=500)
@given(database_names)
def test_every_stored_name_is_one_a_windows_share_holds_and_it_maps_back(name):
    stem = file_stem(name)
    file = dump_file(name)
    assert database_of(stem) == name
    assert file_stem(name) == stem, "the mapping is deterministic"
    assert stem.isascii()
    assert all(char.isalnum() or char in "%_-" for char in stem)
    assert not is_device_name(file)
    assert not file.endswith((".", " "))
    assert len(stem + LONGEST_SUFFIX) <= MAX_NAME_LENGTH_ON_SHARE


@pytest.mark.parametrize("device", DEVICES)
def test_no_device_name_survives_in_any_case(device):
    for spelled in (device, device.upper(), device.capitalize()):
        assert not is_device_name(dump_file(spelled))
        assert database_of(file_stem(spelled)) == spelled


def test_the_longest_database_name_fits_a_share_with_any_suffix():
    longest = "É" * 31 + "a"  # 63 bytes of UTF-8, nearly all escaped
    assert len(longest.encode()) == 63
    assert len(file_stem(longest) + LONGEST_SUFFIX) <= MAX_NAME_LENGTH_ON_SHARE


def test_an_empty_database_name_is_refused():
    with pytest.raises(ValueError, match="never empty"):
        file_stem("")


def test_names_of_the_earlier_rule_still_map_back():
    assert database_of("Sales") == "Sales"
    assert database_of("my.db") == "my.db"
    assert database_of("shop%20a") == "shop a"


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("report.pdf", None),
        (".hidden", None),
        ("Report.PDF", None),
        ("..", "has no file name"),
        ("a:b", "cannot hold"),
        (" x", "cannot hold"),
        ("x ", "cannot hold"),
        ("x.", "cannot hold"),
        ("CON", "reserves for a device"),
        ("con.txt", "reserves for a device"),
        ("Nul.tar.gz", "reserves for a device"),
        ("COM1.pdf", "reserves for a device"),
        ("lpt0", "reserves for a device"),
        ("console.txt", None),
        ("x" * 201, "longer than 200"),
    ],
)
def test_archive_names_are_judged_by_windows_rules(name, problem):
    found = archive_name_problem(name)
    if problem is None:
        assert found is None
    else:
        assert found is not None
        assert problem in found


def test_a_rekeyed_file_keeps_the_encoded_stem_and_adds_only_the_key_tag():
    """Issue 15's `sales.dump.<KEYID>.gpg` builds on the stem: no two names meet there either."""
    tag = key_tag("0123456789ABCDEF" * 2 + "01234567", None)
    assert rekeyed_name(dump_file("Sales"), tag) == f"%53ales.dump.{tag}.gpg"
    assert rekeyed_name(dump_file("my.db"), tag) == f"my%2Edb.dump.{tag}.gpg"
    assert rekeyed_name(dump_file("con"), tag) == f"%63on.dump.{tag}.gpg"
    # A second rotation replaces the tag; the stem and the database it names stay.
    again = rekeyed_name(rekeyed_name(dump_file("Sales"), tag), REKEY_TAG)
    assert again == f"%53ales.dump.{REKEY_TAG}.gpg"
    assert database_of(base_name(again).removesuffix(".dump")) == "Sales"


@given(st.lists(database_names, min_size=2, max_size=8, unique=True))
@settings(max_examples=200)
def test_rekeyed_names_stay_unique_case_insensitively_and_fit_windows_rules(names):
    files = [rekeyed_name(dump_file(name), REKEY_TAG) for name in names]
    assert len({file.casefold() for file in files}) == len(names)
    for file in files:
        assert not is_device_name(file)
        assert not file.endswith((".", " "))
        assert len(file + ".partial") <= MAX_NAME_LENGTH_ON_SHARE


def test_zstd_names_and_their_rekeyed_names_keep_the_encoded_stem():
    """Step 4's `.dump.zst.gpg` (and a rekey's `.dump.zst.<KEYID>.gpg`) builds on the stem."""
    tag = key_tag("0123456789ABCDEF" * 2 + "01234567", None)
    zstd = compressed_file(dump_file("Sales"), "zstd:1")
    assert zstd == "%53ales.dump.zst.gpg"
    assert compressed_file(dump_file("sales"), "zstd:1") == "sales.dump.zst.gpg"
    assert compressed_file(dump_file("con"), "zstd:3") == "%63on.dump.zst.gpg"
    assert compressed_file(dump_file("Sales"), "gzip:6") == "%53ales.dump.gpg"
    assert compressed_file(GLOBALS_FILE, "zstd:1") == "globals.sql.zst.gpg"
    rekeyed = rekeyed_name(zstd, tag)
    assert rekeyed == f"%53ales.dump.zst.{tag}.gpg"
    assert is_zstd_file(rekeyed)
    assert database_of(base_name(rekeyed).removesuffix(".dump.zst")) == "Sales"


@given(st.lists(database_names, min_size=2, max_size=8, unique=True))
@settings(max_examples=200)
def test_zstd_names_stay_unique_case_insensitively_and_fit_windows_rules(names):
    for files in (
        [compressed_file(dump_file(name), "zstd:1") for name in names],
        [rekeyed_name(compressed_file(dump_file(name), "zstd:1"), REKEY_TAG) for name in names],
    ):
        assert len({file.casefold() for file in files}) == len(names)
        for file in files:
            assert not is_device_name(file)
            assert not file.endswith((".", " "))
            assert len(file + ".partial") <= MAX_NAME_LENGTH_ON_SHARE
