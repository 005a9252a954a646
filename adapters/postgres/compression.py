"""Translate `[backup] compression` into the `--compress` value a given pg_dump accepts.

pg_dump 16 takes `METHOD[:DETAIL]` (`gzip:6`, `lz4`, `zstd:level=3`, `none`); pg_dump 15 and
older take only a gzip level 0-9. Whether this build of pg_dump supports the method (lz4 and zstd
are build options) is asked of pg_dump itself, before any connection is made. Tested with the
Debian PostgreSQL 15 and the pgserver 16 binaries.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass

from adapters.postgres.binaries import PgBinary
from ports.errors import DumpError

DEFAULT_COMPRESSION = "gzip:6"
METHOD_SPEC_SINCE = 160000
PROBE_TIMEOUT_SECONDS = 10
# No server listens on a socket in a directory that does not exist, so pg_dump fails at once,
# after it has checked its options.
PROBE_CONNINFO = "host=/nonexistent/lts-probe port=1 dbname=probe connect_timeout=1"
_GZIP_LEVEL = re.compile(r"(?:gzip(?::(?:level=)?(\d))?|(\d))")


@dataclass(frozen=True, slots=True)
class CompressionChoice:
    """The `--compress` argument for one pg_dump, and how the manifest names it."""

    argument: str
    description: str


def choose_compression(
    compression: str, binary: PgBinary, env: Mapping[str, str]
) -> CompressionChoice:
    """Return the `--compress` value for `binary`; raise DumpError when it cannot compress so."""
    spec = compression.strip().lower()
    if binary.major_num >= METHOD_SPEC_SINCE:
        description = ("none" if spec == "0" else f"gzip:{spec}") if spec.isdigit() else spec
        choice = CompressionChoice(argument=spec, description=description)
    else:
        choice = _legacy_choice(spec, binary)
    _probe(binary, choice.argument, env)
    return choice


def _legacy_choice(spec: str, binary: PgBinary) -> CompressionChoice:
    if spec in ("none", "0", "gzip:0"):
        return CompressionChoice(argument="0", description="none")
    match = _GZIP_LEVEL.fullmatch(spec)
    if match is None:
        raise DumpError(
            f"compression {spec!r} needs pg_dump 16 or newer; pg_dump {binary.version} at "
            f"{binary.path} accepts only gzip levels (gzip:0 to gzip:9)"
        )
    # zlib's own default level, which pg_dump uses when given no level.
    level = match.group(1) or match.group(2) or "6"
    return CompressionChoice(argument=level, description=f"gzip:{level}")


def _probe(binary: PgBinary, argument: str, env: Mapping[str, str]) -> None:
    argv = [str(binary.path), "--format=custom", f"--compress={argument}", "--no-password"]
    try:
        result = subprocess.run(
            [*argv, f"--dbname={PROBE_CONNINFO}"],
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT_SECONDS,
            env=dict(env),
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DumpError(f"cannot run {binary.path}: {exc}") from None
    complaint = next(
        (line for line in result.stderr.splitlines() if "compress" in line.lower()), None
    )
    if complaint is not None:
        raise DumpError(
            f"pg_dump {binary.version} at {binary.path} does not accept --compress={argument}: "
            f"{complaint.strip()}"
        )
