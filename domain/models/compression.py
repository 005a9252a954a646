"""Which compression a setting or a stored file means: pg_dump's own, or a separate zstd process.

SPEC 7: `gzip:N` is pg_dump's own compression inside the custom archive (`<name>.dump.gpg`);
`zstd:N` is a zstd process between pg_dump and gpg (`--compress=0`, `<name>.dump.zst.gpg`), so
a stored `zstd:*` file decompresses with the stock `zstd -d` before pg_restore reads it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ZSTD = "zstd"
NONE = "none"
DEFAULT_COMPRESSION = "zstd:1"
"""`[backup] compression` when the master config says nothing: chosen by bench figure d
(bench/compression.py), the fastest and smallest on text-heavy and numeric data."""
ZSTD_FILE_SUFFIX = ".zst.gpg"
"""How a stored file whose plaintext a zstd process compressed ends (`sales.dump.zst.gpg`)."""
DEFAULT_ZSTD_LEVEL = 3
"""zstd's own default level, for a bare `zstd`."""
MIN_ZSTD_LEVEL = 1
MAX_ZSTD_LEVEL = 19
"""Higher levels need `--ultra`, and their windows may exceed what a stock `zstd -d` accepts."""
_ZSTD_SPEC = re.compile(r"zstd(?::(?:level=)?(-?\d+))?")
_ZSTD_FILE = re.compile(r"\.zst(\.[0-9A-F]{16}(-[0-9A-F]{16})?)?\.gpg$")
"""`.zst.gpg`, or `.zst.<KEYID>.gpg` (`-<ESCROWID>` too) once a rekey renamed the file."""


@dataclass(frozen=True, slots=True)
class ZstdCompression:
    """A zstd process compressing a whole dump stream at `level`."""

    level: int

    def __str__(self) -> str:
        """Return the setting's form, as the manifest records it: `zstd:3`."""
        return f"{ZSTD}:{self.level}"


def zstd_choice(spec: str) -> ZstdCompression | None:
    """Return the zstd compression `spec` asks for, or None when pg_dump compresses itself.

    `zstd`, `zstd:N` and `zstd:level=N` (pg_dump 16's spelling) are zstd; anything else is left
    to pg_dump (gzip levels, lz4, none).

    Raises:
        ValueError: a zstd level outside 1..19.
    """
    match = _ZSTD_SPEC.fullmatch(spec.strip().lower())
    if match is None:
        return None
    level = int(match.group(1)) if match.group(1) is not None else DEFAULT_ZSTD_LEVEL
    if not MIN_ZSTD_LEVEL <= level <= MAX_ZSTD_LEVEL:
        raise ValueError(
            f"zstd level {level} is outside {MIN_ZSTD_LEVEL}..{MAX_ZSTD_LEVEL} "
            "(higher levels need zstd --ultra and more memory to decompress)"
        )
    return ZstdCompression(level)


def is_zstd(compression: str) -> bool:
    """Tell whether a stream recorded as `compression` (`zstd:3`, `gzip:6`, `none`) is zstd's."""
    return compression.strip().lower().partition(":")[0] == ZSTD


def is_zstd_file(name: str) -> bool:
    """Tell whether a stored file's name says a zstd process compressed it (`*.zst.gpg`).

    For records of manifests that did not record their compression; a rekey's key tag
    (`sales.dump.zst.<KEYID>.gpg`, domain/rules/rekeying.py) keeps the `.zst`.
    """
    return _ZSTD_FILE.search(name) is not None


def globals_compression(compression: str) -> str:
    """Return how the globals SQL is compressed in a run whose dumps are `compression`.

    pg_dumpall writes plain SQL with no compression of its own: the globals follow the dumps
    only when a zstd process compresses them (`zstd:N`); otherwise they are stored as they are.
    """
    return compression if is_zstd(compression) else NONE
