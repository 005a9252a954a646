"""Write a new Fernet key file: `python -m entrypoints.generate_key [PATH]` (SPEC section 9)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from adapters.fernet.cipher import generate_key_file
from adapters.os.console import StdoutConsole
from adapters.os.exit import ProcessExit
from entrypoints.args import OneLineParser
from entrypoints.settings import SettingsError, load_settings
from ports.errors import SecretError


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
    console, exit_ = StdoutConsole(), ProcessExit()
    try:
        path = args.path or load_settings().secrets.key_file
        generate_key_file(path)
    except (SecretError, SettingsError, OSError) as exc:
        console.print(f"Critical failure: {' / '.join(str(exc).splitlines())}")
        exit_.exit(1)
        return
    console.print(f"wrote a new Fernet key to {path}")
    exit_.exit(0)


if __name__ == "__main__":
    main()
