"""Build the restore, decrypt and verify jobs' requests from their parsed arguments."""

from __future__ import annotations

import argparse
from pathlib import PurePath

from domain.models.restore_request import DecryptRequest, RestoreRequest, VerifyRequest

NO_RESTORE_VAULT = "none"


def restore_scheme(url: str | None) -> str:
    """Return the scheme of `--restore-vault`, or `none` when it was not given."""
    return url.split("://", 1)[0].lower() if url else NO_RESTORE_VAULT


def restore_request(args: argparse.Namespace) -> RestoreRequest:
    """Build the restore job's request from its arguments."""
    return RestoreRequest(
        database=args.database,
        target_database=args.target_database,
        run=args.run,
        target_host=args.target_host,
        target_port=args.target_port,
        target_user=args.target_user,
        jobs=args.jobs,
        clean=args.clean,
        keep_owners=args.keep_owners,
        globals=args.globals,
    )


def decrypt_request(args: argparse.Namespace) -> DecryptRequest:
    """Build the decrypt job's request from its arguments."""
    return DecryptRequest(
        database=args.database, output=PurePath(args.output), run=args.run, sql=args.sql
    )


def verify_request(args: argparse.Namespace) -> VerifyRequest:
    """Build the verify job's request from its arguments."""
    return VerifyRequest(run=args.run)
