"""Run the archive job: one local file onto the client's share, encrypted (SPEC section 5).

`python -m entrypoints.archive CLIENT_NAME KEY_VAULT CLIENT_ID CLIENT_SECRET FILE
[--folder NAME] [--tenant_id T] [--authority_host URL]`
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path

from adapters.os.signals import hold_stop_signals
from domain.models.operations import ARCHIVE_FOLDER_PATTERN, ArchiveRequest
from domain.rules.naming import is_device_name
from entrypoints.args import OneLineParser, add_client_arguments, run_client_job
from entrypoints.requests import ArchiveJob

DESCRIPTION = """\
Copy one file onto the client's share, encrypted to the client's public key, as
archive/<folder>/<name>.gpg (default folder: the current YYYY-MM). The file streams through gpg
straight to the share: no plaintext copy is made. An existing archive of the same name is never
replaced. Each archived file is recorded (size, sha256 of the stored file, time) as one line of
archive/<folder>/ARCHIVE.jsonl.
"""


def folder_name(text: str) -> str:
    """Check `--folder`: one safe path component that a Windows share holds as it is."""
    if not ARCHIVE_FOLDER_PATTERN.match(text) or text.endswith(".") or is_device_name(text):
        raise argparse.ArgumentTypeError(
            f"--folder {text!r} must be one folder name of letters, digits, '.', '_' and '-', "
            "not starting or ending with '.', not a Windows device name such as CON or NUL "
            "(at most 128 characters)"
        )
    return text


def parser() -> argparse.ArgumentParser:
    """Return the archive job's argument parser."""
    result = OneLineParser(prog="archive", description=DESCRIPTION)
    add_client_arguments(result)
    result.add_argument("file", metavar="FILE", help="the local file to archive")
    result.add_argument(
        "--folder",
        type=folder_name,
        default=None,
        help="the folder under archive/ (default: the current month, YYYY-MM)",
    )
    return result


def main(argv: Sequence[str] | None = None) -> None:
    """Parse arguments and run the archive job."""
    run_client_job(
        parser(),
        argv,
        lambda args, fields: ArchiveJob(
            **fields,
            # abspath keeps a symlink's own name, unlike resolve().
            request=ArchiveRequest(file=Path(os.path.abspath(args.file)), folder=args.folder),  # noqa: PTH100
        ),
    )


if __name__ == "__main__":
    # Before the container's imports: a stop signal during them still stops the job in order.
    hold_stop_signals()
    main()
