"""Run a client job from its parsed arguments: build the container, log, execute, exit."""

from __future__ import annotations

import argparse
import logging

from entrypoints.container import Container
from entrypoints.settings import SettingsError
from ports.errors import LtsError

logger = logging.getLogger("lts.job")

SAFE_ARGUMENTS = ("client_name", "eoy_month", "key_vault", "client_id", "tenant_id")
"""Arguments worth logging; CLIENT_SECRET is a token and is never logged."""


def run_job(args: argparse.Namespace, *, job: str, container: Container | None = None) -> None:
    """Run `<job>_end_point` of a container built for `args`; exit with its status."""
    container = container or Container(args=args, job=job)
    console = container.console()
    exit_ = container.exit()
    try:
        container.init_resources()
    except (SettingsError, LtsError, OSError) as exc:
        # Without settings or a log file the job cannot start; say why in one line.
        console.print(f"Critical failure: {' / '.join(str(exc).splitlines())}")
        exit_.exit(1)
        return
    try:
        shown = {name: getattr(args, name, None) for name in SAFE_ARGUMENTS}
        logger.info("job %s: %s", job, ", ".join(f"{k}={v}" for k, v in shown.items() if v))
        end_point = getattr(container, f"{job}_end_point")()
        end_point.execute()
    finally:
        container.shutdown_resources()
