"""Turn a secret into the Fernet token passed on command lines.

`python -m entrypoints.encrypt_secret [--key-file PATH]`: the secret is read from a hidden prompt
on a terminal, else from stdin, never from the command line.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from entrypoints.args import OneLineParser
from entrypoints.requests import EncryptSecretJob


def parser() -> argparse.ArgumentParser:
    """Return the encrypt_secret job's argument parser."""
    result = OneLineParser(
        prog="encrypt_secret",
        description="Print the Fernet token of a secret read from a hidden prompt or stdin.",
    )
    result.add_argument(
        "--key-file",
        "--key_file",
        dest="key_file",
        type=Path,
        default=None,
        help="the Fernet key file (default: [secrets] key_file of the master config)",
    )
    return result


def main(argv: Sequence[str] | None = None) -> None:
    """Print the token for the secret."""
    args = parser().parse_args(argv)
    from entrypoints.container import run_tool

    run_tool(EncryptSecretJob(key_file=args.key_file))


if __name__ == "__main__":
    main()
