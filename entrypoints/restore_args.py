"""Arguments shared by the restore, decrypt and verify jobs (SPEC sections 5, 6.3)."""

from __future__ import annotations

import argparse
import re

from domain.models.restore_request import RunChoice
from entrypoints.args import NOT_USED, config_url

_DATABASE = re.compile(r"^[^\x00]{1,63}$")


def run_choice(text: str) -> RunChoice:
    """Parse `--run RUN_ID|latest`."""
    try:
        return RunChoice.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def run_choice_or_all(text: str) -> RunChoice:
    """Parse `--run RUN_ID|latest|all`."""
    try:
        return RunChoice.parse(text, allow_all=True)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def database_name(text: str) -> str:
    """Check a PostgreSQL database name: 1 to 63 characters, no NUL."""
    if not _DATABASE.match(text) or len(text.encode()) > 63:
        raise argparse.ArgumentTypeError(f"{text!r} is not a PostgreSQL database name")
    return text


def positive_jobs(text: str) -> int:
    """Parse `--jobs N`, 1 to 64."""
    if not text.isdigit() or not 1 <= int(text) <= 64:
        raise argparse.ArgumentTypeError(f"--jobs must be a number 1..64, not {text!r}")
    return int(text)


def port_number(text: str) -> int:
    """Parse a TCP port."""
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number")
    return int(text)


def add_restore_vault_arguments(parser: argparse.ArgumentParser, *, required: bool) -> None:
    """Add `--restore-vault URL` and its optional service principal."""
    parser.add_argument(
        "--restore-vault",
        "--restore_vault",
        dest="restore_vault",
        type=config_url,
        required=required,
        default=None,
        help="the client's restore config (private-key, private-key-passphrase): "
        "https://<vault>.vault.azure.net or file:///path/restore.toml",
    )
    parser.add_argument(
        "--restore-client-id",
        "--restore_client_id",
        dest="restore_client_id",
        default=None,
        help="the service principal that reads the restore vault (default: CLIENT_ID)",
    )
    parser.add_argument(
        "--restore-client-secret",
        "--restore_client_secret",
        dest="restore_client_secret",
        default=None,
        help="its secret as a Fernet token (default: CLIENT_SECRET)",
    )


def add_run_and_database(parser: argparse.ArgumentParser) -> None:
    """Add `--database NAME` and `--run RUN_ID|latest`."""
    parser.add_argument(
        "--database", required=True, type=database_name, help="the backed-up database's name"
    )
    parser.add_argument(
        "--run",
        type=run_choice,
        default=RunChoice.parse("latest"),
        help="the run id (YYYYMMDDTHHMMSSZ) or latest (default: the newest run with an ok "
        "dump of the database)",
    )


def check_restore_vault(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse an https:// restore vault without a service principal to read it with."""
    vault = args.restore_vault
    if vault is None or not vault.startswith("https://"):
        return
    client_id = args.restore_client_id or args.client_id
    secret = args.restore_client_secret or args.client_secret
    if NOT_USED in (client_id, secret):
        parser.error(
            "an https:// --restore-vault needs --restore-client-id and --restore-client-secret "
            "(or CLIENT_ID and CLIENT_SECRET)"
        )
