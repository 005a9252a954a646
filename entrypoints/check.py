"""Run the check job: is a client ready to be backed up, and are its backups fresh? (SPEC 5).

`python -m entrypoints.check CLIENT_NAME KEY_VAULT CLIENT_ID CLIENT_SECRET [--restore-vault URL]
[--restore-client-id ID] [--restore-client-secret TOKEN] [--tenant_id T] [--authority_host URL]`
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from adapters.os.signals import hold_stop_signals
from entrypoints.args import (
    OneLineParser,
    add_client_arguments,
    add_restore_vault_arguments,
    run_client_job,
)
from entrypoints.requests import CheckJob

DESCRIPTION = """\
Check one client: the config is complete and valid, retention days are sane, PostgreSQL answers
with the configured auth, the backup role can read every table of every database to back up,
pg_dump is new enough, the public key (and escrow key) is valid, matches key-name and does not
expire within 90 days, with --restore-vault the private key decrypts what the public key
encrypts, the share mounts and a probe file can be written, renamed, read back and deleted, and
every month since the first run has a complete run. One 'Failure:' line per problem; exits with
the number of problems (0 = ready).
"""


def parser() -> argparse.ArgumentParser:
    """Return the check job's argument parser."""
    result = OneLineParser(prog="check", description=DESCRIPTION)
    add_client_arguments(result)
    add_restore_vault_arguments(result, required=False)
    return result


def main(argv: Sequence[str] | None = None) -> None:
    """Parse arguments and run the check job."""
    run_client_job(parser(), argv, lambda _args, fields: CheckJob(**fields), restore_vault=True)


if __name__ == "__main__":
    # Before the container's imports: a stop signal during them still stops the job in order.
    hold_stop_signals()
    main()
