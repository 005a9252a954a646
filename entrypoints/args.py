"""Argument parsing shared by the jobs: one-line errors, exit status 2 (SPEC sections 5.1, 10).

Every client job takes CLIENT_NAME KEY_VAULT CLIENT_ID CLIENT_SECRET and the Entra ID options
(`add_client_arguments`); the jobs that decrypt add `--restore-vault`
(`add_restore_vault_arguments`). `client_fields` turns them into the fields of a JobRequest.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from domain.models.client_config import CLIENT_NAME_PATTERN
from domain.models.restore_request import RunChoice
from domain.models.text import printable
from entrypoints.requests import ConfigStore, JobRequest

NOT_USED = "-"
"""CLIENT_ID and CLIENT_SECRET with a `file://` config source."""

DEFAULT_AUTHORITY_HOST = "https://login.microsoftonline.com"


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr and exit 2 (no usage dump)."""

    def error(self, message: str) -> NoReturn:
        """Print `<prog>: error: <message>` and exit 2."""
        # argparse quotes arguments as given: a newline or escape code in one would break the
        # one-line contract (or the terminal), so they are shown escaped.
        self.exit(2, f"{self.prog}: error: {printable(message)}\n")

    def parse_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: None = None
    ) -> argparse.Namespace:
        """Parse, and refuse a positional argument that `--` left without its value.

        argparse hands a positional an empty list, unchecked by its type, when a second `--`
        swallows it (`acme -- -- x y`); the job must get one clear error instead.
        """
        self._check_first_positional(list(sys.argv[1:] if args is None else args))
        parsed = super().parse_args(args, namespace)
        for action in self._positionals._group_actions:
            if action.nargs is None and isinstance(getattr(parsed, action.dest, None), list):
                self.error(f"{action.metavar or action.dest} is missing (a stray '--'?)")
        return parsed

    def _check_first_positional(self, args: list[str]) -> None:
        """Judge a dash-led token where the first positional belongs as that positional.

        argparse takes `-acme` for an unknown option and hands the next tokens to the
        positionals, so the error would name the wrong argument (`EOY_MONTH` for a CLIENT_NAME
        `-acme`). The token is checked with the first positional's own type instead.
        """
        positionals = self._positionals._group_actions
        if not positionals:
            return
        first = positionals[0]
        check = first.type
        if not callable(check):
            return
        index = 0
        while index < len(args):
            token = args[index]
            if token in ("-", "--") or not token.startswith("-"):
                return
            action = self._option_named(token.split("=", 1)[0])
            if action is None:
                if token.startswith("--"):
                    return  # an unknown option: argparse says so
                try:
                    check(token)
                except (argparse.ArgumentTypeError, ValueError) as exc:
                    self.error(f"argument {first.metavar or first.dest}: {exc}")
                return
            takes_value = action.nargs != 0 and "=" not in token
            index += 2 if takes_value else 1

    def _option_named(self, name: str) -> argparse.Action | None:
        """Return the option `name` means (a unique abbreviation too, when allowed)."""
        actions = self._option_string_actions
        if name in actions:
            return actions[name]
        if self.allow_abbrev and name.startswith("--"):
            matches = {actions[option] for option in actions if option.startswith(name)}
            if len(matches) == 1:
                return matches.pop()
        return None


def client_name(text: str) -> str:
    """Check CLIENT_NAME: it becomes paths and mount points."""
    if not CLIENT_NAME_PATTERN.match(text):
        raise argparse.ArgumentTypeError(
            f"CLIENT_NAME {text!r} must match {CLIENT_NAME_PATTERN.pattern} "
            "(lower-case letters, digits, '_' and '-', at most 63 characters)"
        )
    return text


def ascii_number(text: str, low: int, high: int) -> int | None:
    """Return `text` as a number in low..high when it is written in ASCII digits only, else None.

    `str.isdigit` and `int` accept any Unicode digit (`٦` is 6, `²` passes isdigit and then
    fails int): a command line's numbers are ASCII, anything else is refused as it is.
    """
    if not re.fullmatch(r"[0-9]{1,9}", text) or not low <= int(text) <= high:
        return None
    return int(text)


def eoy_month(text: str) -> int:
    """Check EOY_MONTH: the month (1..12) that ends the client's fiscal year."""
    month = ascii_number(text.strip(" "), 1, 12)
    if month is None:
        raise argparse.ArgumentTypeError(f"EOY_MONTH must be a month number 1..12, not {text!r}")
    return month


def config_url(text: str) -> str:
    """Check a config source URL: `https://<vault>` or `file:///path/to/client.toml`."""
    if re.fullmatch(r"https://[A-Za-z0-9.-]+(:[0-9]+)?/?", text) or re.fullmatch(
        r"file:///[^\s\x00-\x1f\x7f]+", text
    ):
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
    jobs = ascii_number(text, 1, 64)
    if jobs is None:
        raise argparse.ArgumentTypeError(f"--jobs must be a number 1..64, not {text!r}")
    return jobs


def port_number(text: str) -> int:
    """Parse a TCP port."""
    port = ascii_number(text, 1, 65535)
    if port is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number")
    return port


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


def client_fields(
    parser: argparse.ArgumentParser, args: argparse.Namespace, *, restore_vault: bool = False
) -> dict[str, Any]:
    """Check the client (and, for jobs that have it, `--restore-vault`) arguments.

    Returns:
        The fields of a JobRequest.
    """
    check_client_arguments(parser, args)
    restore = None
    if restore_vault and args.restore_vault is not None:
        check_restore_vault(parser, args)
        restore = ConfigStore(
            url=args.restore_vault,
            client_id=args.restore_client_id or args.client_id,
            client_secret=args.restore_client_secret or args.client_secret,
        )
    return {
        "client_name": args.client_name,
        "config": ConfigStore(
            url=args.key_vault, client_id=args.client_id, client_secret=args.client_secret
        ),
        "tenant_id": args.tenant_id,
        "authority_host": args.authority_host,
        "restore": restore,
    }


def run_client_job(
    job_parser: argparse.ArgumentParser,
    argv: Sequence[str] | None,
    build: Callable[[argparse.Namespace, dict[str, Any]], JobRequest],
    *,
    restore_vault: bool = False,
) -> None:
    """Parse `argv`, check the client arguments and run the job that `build` makes of them.

    `build` gets the parsed arguments and the JobRequest fields of `client_fields`; whatever it
    checks besides ends in `job_parser.error`, before anything runs.
    """
    args = job_parser.parse_args(argv)
    fields = client_fields(job_parser, args, restore_vault=restore_vault)
    request = build(args, fields)
    # Imported after parsing so that --help and argument errors stay fast.
    from entrypoints.container import run_job

    run_job(request)
