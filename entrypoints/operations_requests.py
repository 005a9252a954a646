"""Build the check, create_client and archive jobs' inputs from their arguments and the host."""

from __future__ import annotations

import argparse
import os
import re
import socket
from pathlib import Path

from domain.models.operations import ArchiveRequest

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def archive_request(args: argparse.Namespace) -> ArchiveRequest:
    """Return the archive job's request: the file as an absolute path, and the folder."""
    return ArchiveRequest(file=Path(os.path.abspath(args.file)), folder=args.folder)  # noqa: PTH100 - keeps a symlink's own name, unlike resolve()


def probe_name() -> str:
    """Return the check's probe file name at the share root: hidden, unique to this process."""
    host = _UNSAFE.sub("-", socket.gethostname())[:40] or "host"
    return f".lts-check-{host}-{os.getpid()}"
