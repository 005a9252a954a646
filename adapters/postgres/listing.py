"""Read what `pg_restore --list` prints of a custom-format archive: its table of contents.

The header says how many entries the archive holds (`;     TOC Entries: 11`), including the ones
`--list` does not print (ENCODING, STDSTRINGS, SEARCHPATH, and the DATABASE entries without
`--create`); an archive of an empty database prints no entry line at all, yet holds five. The
entry lines (`3338; 0 16389 TABLE DATA public t postgres`) tell which entries carry table data.
Both numbers are what pg_dump wrote, so they are the same whichever pg_restore reads the archive.
"""

from __future__ import annotations

import re

from ports.archive_reader import ArchiveListing

_TOC_ENTRIES = re.compile(r"^;\s+TOC Entries:\s+(\d+)\s*$", re.MULTILINE)
_ENTRY = re.compile(r"^\d+; \d+ \d+ (?P<rest>.*)$")


class ListingError(ValueError):
    """The text is not a `pg_restore --list` listing."""


def parse_listing(text: str) -> ArchiveListing:
    """Return the archive's entry count and its TABLE DATA entries from a listing.

    Raises:
        ListingError: the listing has neither a TOC Entries header nor any entry line.
    """
    entries = [match for line in text.splitlines() if (match := _ENTRY.match(line))]
    table_data = sum(1 for match in entries if match.group("rest").startswith("TABLE DATA "))
    header = _TOC_ENTRIES.search(text)
    if header is not None:
        return ArchiveListing(entries=int(header.group(1)), tables=table_data)
    if not entries:
        raise ListingError("pg_restore --list printed no table of contents")
    return ArchiveListing(entries=len(entries), tables=table_data)


def entry_lines(text: str) -> list[str]:
    """Return the listing's entry lines (the ones a `-L` list file keeps)."""
    return [line for line in text.splitlines() if _ENTRY.match(line)]


def entry_kind(line: str) -> str:
    """Return an entry line's description up to the names: `TABLE DATA`, `DATABASE`, ...

    The line is `<id>; <catalog oid> <oid> <desc> <schema> <tag> <owner>`, where the desc may be
    several words (`TABLE DATA`, `COMMENT`, `DATABASE PROPERTIES`); what follows the desc is
    returned with it, so callers match on prefixes.
    """
    match = _ENTRY.match(line)
    return match.group("rest") if match else ""
