"""File names no share can confuse (SPEC 7): unique case-insensitively, no device names, no
trailing dot or space, short enough, reversible and deterministic."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.rules.naming import (
    DUMP_SUFFIX,
    MAX_NAME_LENGTH_ON_SHARE,
    archive_name_problem,
    database_of,
    dump_file,
    file_stem,
    is_device_name,
)

# The longest suffixes a stored dump gets: zstd's, and the share's partial file while written.
LONGEST_SUFFIX = ".dump.zst.gpg" + ".partial"
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
