"""Write a new Fernet key file: `python -m entrypoints.generate_key [PATH]` (SPEC section 9)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from entrypoints.args import OneLineParser
from entrypoints.requests import GenerateKeyJob


def parser() -> argparse.ArgumentParser:
    """Return the generate_key job's argument parser."""
    result = OneLineParser(
        prog="generate_key",
        description="Write a new Fernet key file (mode 0600); refuses to overwrite one.",
    )
    result.add_argument(
        "path",
        metavar="PATH",
        nargs="?",
        type=Path,
        default=None,
        help="where to write the key (default: [secrets] key_file of the master config)",
    )
    return result


def main(argv: Sequence[str] | None = None) -> None:
    """Write the key file and say where it went."""
    args = parser().parse_args(argv)
    from entrypoints.container import run_tool

    run_tool(GenerateKeyJob(path=args.path))


if __name__ == "__main__":
    main()
