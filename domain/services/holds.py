"""Read a run's HOLD file (SPEC 8, 16): whether the run is held, and what the file says."""

from __future__ import annotations

from pathlib import PurePosixPath

from domain.models.hold import HOLD_FILE, MAX_HOLD_BYTES, Hold
from ports.file_share import FileShare


def read_hold(share: FileShare, run_path: PurePosixPath) -> Hold | None:
    """Return the run's hold, or None when it holds no HOLD file.

    Raises:
        ShareUnavailableError: the file exists but cannot be read.
    """
    path = run_path / HOLD_FILE
    if not share.exists(path):
        return None
    data = bytearray()
    for chunk in share.read_stream(path):
        data.extend(chunk)
        if len(data) > MAX_HOLD_BYTES:
            break
    return Hold.parse(bytes(data))
