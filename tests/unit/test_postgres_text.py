"""What pg_restore --list and psql print, read back (adapters/postgres listing, psql_messages)."""

import pytest

from adapters.postgres.listing import ListingError, entry_kind, entry_lines, parse_listing
from adapters.postgres.psql_messages import globals_outcome
from domain.models.redaction import Redactor

EMPTY = """;
; Archive created at 2026-12-01 14:38:08 UTC
;     dbname: postgres
;     TOC Entries: 5
;     Compression: -1
;
; Selected TOC Entries:
;
"""

FULL = """;
;     TOC Entries: 11
;
214; 1259 16389 TABLE public t postgres
3339; 2613 16392 BLOB - 16392 postgres
3338; 0 16389 TABLE DATA public t postgres
3341; 0 16399 MATERIALIZED VIEW DATA public counts postgres
3340; 0 0 BLOBS - BLOBS
"""


def test_an_empty_database_holds_the_entries_its_header_counts():
    listing = parse_listing(EMPTY)
    assert (listing.entries, listing.tables) == (5, 0)


def test_table_data_entries_are_counted_and_materialized_views_are_not():
    listing = parse_listing(FULL)
    assert (listing.entries, listing.tables) == (11, 1)
    assert entry_kind(entry_lines(FULL)[2]) == "TABLE DATA public t postgres"


def test_a_listing_without_a_header_counts_its_entry_lines():
    assert parse_listing("1; 0 0 TABLE DATA public t x\n").entries == 1
    with pytest.raises(ListingError):
        parse_listing("pg_restore: error: not an archive\n")


def test_only_already_exists_is_tolerated_in_psql_output():
    stderr = (
        'ERROR:  42710: role "app" already exists\n'
        "LOCATION:  CreateRole, user.c:335\n"
        'psql:<stdin>:12: ERROR:  42710: role "postgres" already exists\n'
        "NOTICE:  00000: something harmless\n"
        "ERROR:  42501: permission denied to create role\n"
        "DETAIL:  Only roles with the CREATEROLE attribute may create roles.\n"
        "invalid command \\restrict\n"
        "Try \\? for help.\n"
    )
    outcome = globals_outcome(stderr, Redactor())
    assert outcome.existing == 2
    assert outcome.errors == (
        "ERROR: 42501: permission denied to create role",
        "invalid command \\restrict",
    )


def test_secrets_in_psql_output_are_masked():
    redactor = Redactor()
    redactor.add("s3cret-value")
    outcome = globals_outcome("FATAL:  28P01: password s3cret-value failed\n", redactor)
    assert "s3cret-value" not in outcome.errors[0]
