"""Run the create_client job: onboard a new client (SPEC section 5).

`python -m entrypoints.create_client CLIENT_NAME KEY_VAULT CLIENT_ID CLIENT_SECRET
--restore-vault URL --postgresql-host H --storage-unc U [options]`

Secrets never come from the command line: the PostgreSQL secret from `--postgresql-secret-file`
(`-` for stdin) or a hidden prompt, the storage key from `--storage-key-file`.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Sequence
from pathlib import Path

from pydantic import SecretStr

from adapters.os.signals import hold_stop_signals
from domain.models.client_config import PostgresAuth
from domain.models.operations import NewClient
from entrypoints.args import (
    OneLineParser,
    add_client_arguments,
    add_restore_vault_arguments,
    ascii_number,
    port_number,
    run_client_job,
)
from entrypoints.requests import CreateClientJob

DESCRIPTION = """\
Onboard a client: generate its OpenPGP key pair (with a strong random passphrase), write the
private key and passphrase to the restore config (--restore-vault) and the backup config to
KEY_VAULT (a file:// TOML is written 0600; an https:// Key Vault gets one secret per key), create
the share's end-of-month, end-of-year and archive folders, then run the check job. An existing
backup or restore config is never overwritten: nothing is written then. With --signing, first
generate the operator's signing key (no passphrase) at the master config's [signing] key_file
(mode 0600) and its public key beside it (<stem>.pub.asc); an existing file is never overwritten.
"""
STDIN = "-"
DEFAULT_END_OF_MONTH_DAYS = 400
DEFAULT_END_OF_YEAR_DAYS = 3650
MAX_RETENTION_DAYS = 100 * 366
"""A century: a longer retention is surely a typo."""


def retention_days(text: str) -> int:
    """Parse a retention in days (a positive whole number)."""
    days = ascii_number(text, 1, MAX_RETENTION_DAYS)
    if days is None:
        raise argparse.ArgumentTypeError(
            f"retention days must be a whole number 1..{MAX_RETENTION_DAYS}, not {text!r}"
        )
    return days


def parser() -> argparse.ArgumentParser:
    """Return the create_client job's argument parser."""
    # No abbreviations: `--postgresql-secret VALUE` must be refused, not read as a file name.
    result = OneLineParser(prog="create_client", description=DESCRIPTION, allow_abbrev=False)
    add_client_arguments(result)
    add_restore_vault_arguments(result, required=True)
    pg = result.add_argument_group("PostgreSQL")
    pg.add_argument("--postgresql-host", "--postgresql_host", required=True)
    pg.add_argument("--postgresql-port", "--postgresql_port", type=port_number, default=5432)
    pg.add_argument(
        "--postgresql-auth",
        "--postgresql_auth",
        choices=[auth.value for auth in PostgresAuth],
        default=PostgresAuth.ENTRA.value,
    )
    pg.add_argument("--postgresql-user", "--postgresql_user", help="the login role (password)")
    pg.add_argument(
        "--service-principal-id",
        "--postgresql-service-principal-id",
        dest="service_principal_id",
        help="the service principal's app id, also its login role (entra)",
    )
    pg.add_argument("--postgresql-sslmode", "--postgresql_sslmode", default=None)
    pg.add_argument(
        "--postgresql-secret-file",
        "--postgresql_secret_file",
        default=None,
        help="file holding the password or the service principal's secret ('-': stdin); "
        "default: a hidden prompt on a terminal, else the first line of stdin",
    )
    storage = result.add_argument_group("share")
    storage.add_argument(
        "--storage-unc",
        "--storage_unc",
        required=True,
        help="//account.file.core.windows.net/share or file:///path",
    )
    storage.add_argument("--storage-name", "--storage_name", default=None)
    storage.add_argument(
        "--storage-key-file",
        "--storage_key_file",
        default=None,
        help="file holding the share's key ('-': stdin), needed for //host/share",
    )
    policy = result.add_argument_group("retention and databases")
    policy.add_argument(
        "--end-of-month-retention",
        "--end_of_month_retention",
        type=retention_days,
        default=DEFAULT_END_OF_MONTH_DAYS,
        help=f"days (default {DEFAULT_END_OF_MONTH_DAYS})",
    )
    policy.add_argument(
        "--end-of-year-retention",
        "--end_of_year_retention",
        type=retention_days,
        default=DEFAULT_END_OF_YEAR_DAYS,
        help=f"days (default {DEFAULT_END_OF_YEAR_DAYS})",
    )
    policy.add_argument(
        "--exclude-databases",
        "--exclude_databases",
        default="",
        help="comma-separated databases never to back up",
    )
    policy.add_argument(
        "--escrow-public-key-file",
        "--escrow_public_key_file",
        type=Path,
        default=None,
        help="an armoured or binary OpenPGP public key to add as a second recipient",
    )
    result.add_argument(
        "--signing",
        action="store_true",
        help="also generate the operator's signing key at [signing] key_file of the master "
        "config (0600, refused when it exists) and its public key beside it (<stem>.pub.asc)",
    )
    return result


def read_secret(source: str | None, what: str) -> SecretStr:
    """Read a secret from a file, or stdin (`-`); without either, a hidden prompt or stdin.

    Without a file the secret comes from a hidden prompt on a terminal, else from the first
    line of stdin (as encrypt_secret reads it).

    Raises:
        ValueError: Nothing could be read, or the secret is empty.
    """
    if source is not None and source != STDIN:
        try:
            value = Path(source).read_text(encoding="utf-8").rstrip("\r\n")
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"cannot read the {what} from {source}: {exc}") from None
    elif source is None and sys.stdin.isatty():
        value = getpass.getpass(f"{what}: ")
    else:
        value = sys.stdin.readline().rstrip("\r\n")
    if not value:
        raise ValueError(f"the {what} is empty")
    return SecretStr(value)


def new_client(parser: argparse.ArgumentParser, args: argparse.Namespace) -> NewClient:
    """Build the new client from the arguments, reading its secrets; exit 2 on bad input."""
    if args.key_vault == args.restore_vault:
        parser.error("--restore-vault must be another store than KEY_VAULT (SPEC 6.3)")
    if STDIN == args.postgresql_secret_file == args.storage_key_file:
        parser.error("only one secret can come from stdin")
    entra = args.postgresql_auth == PostgresAuth.ENTRA.value
    if entra and not args.service_principal_id:
        parser.error("--postgresql-auth entra needs --service-principal-id")
    if not entra and not args.postgresql_user:
        parser.error("--postgresql-auth password needs --postgresql-user")
    try:
        secret = read_secret(args.postgresql_secret_file, "PostgreSQL secret")
        storage_key = (
            read_secret(args.storage_key_file, "storage key")
            if args.storage_key_file is not None
            else None
        )
        escrow = args.escrow_public_key_file.read_bytes() if args.escrow_public_key_file else None
    except (ValueError, OSError) as exc:
        parser.error(str(exc))
    return NewClient(
        client_name=args.client_name,
        postgresql_host=args.postgresql_host,
        postgresql_port=args.postgresql_port,
        postgresql_auth=args.postgresql_auth,
        postgresql_user=None if entra else args.postgresql_user,
        postgresql_service_principal_id=args.service_principal_id if entra else None,
        postgresql_sslmode=args.postgresql_sslmode,
        postgresql_secret=secret,
        storage_unc=args.storage_unc,
        storage_name=args.storage_name,
        storage_key=storage_key,
        end_of_month_retention=args.end_of_month_retention,
        end_of_year_retention=args.end_of_year_retention,
        exclude_databases=tuple(
            name.strip() for name in args.exclude_databases.split(",") if name.strip()
        ),
        escrow_public_key=escrow,
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Parse arguments and run the createclient job."""
    job_parser = parser()
    run_client_job(
        job_parser,
        argv,
        lambda args, fields: CreateClientJob(
            **fields, new_client=new_client(job_parser, args), signing=args.signing
        ),
        restore_vault=True,
    )


if __name__ == "__main__":
    # Before the container's imports: a stop signal during them still stops the job in order.
    hold_stop_signals()
    main()
