"""Undo zstd compression with the stock `zstd -d`, as an operator would (nothing of the adapter)."""

from __future__ import annotations

import subprocess

ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


def unzstd(data: bytes) -> bytes:
    """Return `data` decompressed by `zstd -d`."""
    return subprocess.run(
        ["zstd", "-d", "-q", "-c"], input=data, capture_output=True, check=True, timeout=120
    ).stdout


def plain(data: bytes) -> bytes:
    """Return `data` decompressed when it is a zstd frame, else as it is."""
    return unzstd(data) if data.startswith(ZSTD_MAGIC) else data


def zstd(data: bytes, level: int = 3) -> bytes:
    """Return `data` compressed by the stock `zstd`, as the backup's zstd stage writes it."""
    return subprocess.run(
        ["zstd", f"-{level}", "-q", "-c"], input=data, capture_output=True, check=True, timeout=120
    ).stdout
