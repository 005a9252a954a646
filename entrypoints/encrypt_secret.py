"""Turn a secret into the Fernet token passed on command lines.

`python -m entrypoints.encrypt_secret [--key-file PATH]`: the secret is read from a hidden prompt
on a terminal, else from stdin, never from the command line.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Sequence
from pathlib import Path

from pydantic import SecretStr

from adapters.fernet.cipher import FernetSecretCipher
from adapters.os.console import StdoutConsole
from adapters.os.exit import ProcessExit
from entrypoints.args import OneLineParser
from entrypoints.settings import SettingsError, load_settings
from ports.errors import SecretError


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


def read_secret() -> str:
    """Read the secret: a hidden prompt on a terminal, else the first line of stdin."""
    if sys.stdin.isatty():
        return getpass.getpass("Secret: ")
    return sys.stdin.readline().rstrip("\r\n")


def main(argv: Sequence[str] | None = None) -> None:
    """Print the token for the secret."""
    args = parser().parse_args(argv)
    console, exit_ = StdoutConsole(), ProcessExit()
    try:
        key_file = args.key_file or load_settings().secrets.key_file
        secret = read_secret()
        if not secret:
            raise SecretError("no secret given (empty input)")
        token = FernetSecretCipher(key_file=key_file).encrypt(SecretStr(secret))
    except (SecretError, SettingsError, OSError) as exc:
        console.print(f"Critical failure: {' / '.join(str(exc).splitlines())}")
        exit_.exit(1)
        return
    console.print(token)
    exit_.exit(0)


if __name__ == "__main__":
    main()
