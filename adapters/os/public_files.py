"""Files other programs read (node_exporter, a web server): written whole, then made 0644.

`write_public_file` writes under a hidden temporary name in the target's directory (never one a
reader picks up: no `.prom`, no `.html`), flushes it to disk, sets mode 0644 and renames it over
the target, then syncs the directory: a reader sees the old file or the new one, never half.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from pathlib import Path

logger = logging.getLogger("lts.files")

PUBLIC_FILE_MODE = 0o644


def write_public_file(path: Path, data: bytes) -> None:
    """Replace `path` with `data` atomically, mode 0644.

    Raises:
        OSError: The file cannot be written (the temporary file is removed again).
    """
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
            os.fchmod(file.fileno(), PUBLIC_FILE_MODE)
        Path(temporary).replace(path)
    except OSError:
        with contextlib.suppress(OSError):
            Path(temporary).unlink()
        raise
    _sync_directory(path.parent)


def _sync_directory(directory: Path) -> None:
    # The rename is durable only once the directory is synced; some file systems refuse it.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        logger.debug("fsync of %s not supported", directory)
    finally:
        os.close(fd)
