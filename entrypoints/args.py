"""Argument parsing shared by the jobs: one-line errors, exit status 2 (SPEC sections 5.1, 10)."""

from __future__ import annotations

import argparse
import re
from typing import NoReturn

from domain.models.client_config import CLIENT_NAME_PATTERN

NOT_USED = "-"
"""CLIENT_ID and CLIENT_SECRET with a `file://` config source."""

DEFAULT_AUTHORITY_HOST = "https://login.microsoftonline.com"


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr and exit 2 (no usage dump)."""

    def error(self, message: str) -> NoReturn:
        """Print `<prog>: error: <message>` and exit 2."""
        # argparse quotes arguments as given: a newline or escape code in one would break the
        # one-line contract (or the terminal), so they are shown escaped.
        shown = "".join(c if c.isprintable() else ascii(c)[1:-1] for c in message)
        self.exit(2, f"{self.prog}: error: {shown}\n")


def client_name(text: str) -> str:
    """Check CLIENT_NAME: it becomes paths and mount points."""
    if not CLIENT_NAME_PATTERN.match(text):
        raise argparse.ArgumentTypeError(
            f"CLIENT_NAME {text!r} must match {CLIENT_NAME_PATTERN.pattern} "
            "(lower-case letters, digits, '_' and '-', at most 63 characters)"
        )
    return text


def eoy_month(text: str) -> int:
    """Check EOY_MONTH: the month (1..12) that ends the client's fiscal year."""
    if not re.fullmatch(r"\d{1,2}", text.strip()) or not 1 <= int(text) <= 12:
        raise argparse.ArgumentTypeError(f"EOY_MONTH must be a month number 1..12, not {text!r}")
    return int(text)


def config_url(text: str) -> str:
    """Check a config source URL: `https://<vault>` or `file:///path/to/client.toml`."""
    if re.fullmatch(r"https://[A-Za-z0-9.-]+(:\d+)?/?", text) or re.fullmatch(r"file:///\S+", text):
        return text
    scheme = text.split("://", 1)[0] if "://" in text else "no scheme"
    raise argparse.ArgumentTypeError(
        f"{text!r} is not a config source ({scheme}); use https://<vault>.vault.azure.net "
        "for Azure Key Vault or file:///path/client.toml for a local file"
    )


def add_client_arguments(parser: argparse.ArgumentParser, *, eoy: bool = False) -> None:
    """Add CLIENT_NAME [EOY_MONTH] KEY_VAULT CLIENT_ID CLIENT_SECRET and the Azure options."""
    parser.add_argument(
        "client_name",
        metavar="CLIENT_NAME",
        type=client_name,
        help="the client's name, as its Key Vault's client-name (^[a-z0-9][a-z0-9_-]{0,62}$)",
    )
    if eoy:
        parser.add_argument(
            "eoy_month",
            metavar="EOY_MONTH",
            type=eoy_month,
            help="the month (1..12) that ends the client's fiscal year; a run in it is stored "
            "as end-of-year",
        )
    parser.add_argument(
        "key_vault",
        metavar="KEY_VAULT",
        type=config_url,
        help="the client's config source: https://<vault>.vault.azure.net (Azure Key Vault) "
        "or file:///path/client.toml",
    )
    parser.add_argument(
        "client_id",
        metavar="CLIENT_ID",
        help="the service principal (app id) that reads the vault; '-' for a file:// source",
    )
    parser.add_argument(
        "client_secret",
        metavar="CLIENT_SECRET",
        help="the service principal's secret as a Fernet token (see encrypt_secret); "
        "'-' for a file:// source",
    )
    parser.add_argument(
        "--tenant_id",
        "--tenant-id",
        dest="tenant_id",
        default=None,
        help="the Entra ID tenant (default: [azure] tenant_id of the master config)",
    )
    parser.add_argument(
        "--authority_host",
        "--authority-host",
        dest="authority_host",
        default=None,
        help=f"the Entra ID authority (default: [azure] authority_host, {DEFAULT_AUTHORITY_HOST})",
    )


def check_client_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse combinations argparse cannot check alone: a vault needs a real CLIENT_ID/SECRET."""
    if args.key_vault.startswith("https://") and NOT_USED in (args.client_id, args.client_secret):
        parser.error("an https:// KEY_VAULT needs CLIENT_ID and CLIENT_SECRET (not '-')")
    if args.authority_host is not None and not args.authority_host.startswith("https://"):
        parser.error(f"--authority_host must be an https:// URL, not {args.authority_host!r}")
