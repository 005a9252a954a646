"""Translate `[backup] compression` into the `--compress` value a given pg_dump accepts.

`zstd:N` is never pg_dump's: pg_dump writes an uncompressed archive (`--compress=0`) into a
separate `zstd -N` process (SPEC 7), which works with every pg_dump (Debian's 15 and pgserver's
16 are built without zstd) and compresses on cores of its own; the zstd binary is asked for its
version before any dump. Every other setting is pg_dump's own: pg_dump 16 takes
`METHOD[:DETAIL]` (`gzip:6`, `lz4`, `none`); pg_dump 15 and older take only a gzip level 0-9.
Whether this build of pg_dump supports the method (lz4 is a build option) is asked of pg_dump
itself, before any connection is made. Tested with the Debian PostgreSQL 15 and the pgserver 16
binaries.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from adapters.postgres.tools import ClientTools
from adapters.process import ChildError, run_command
from adapters.process.zstd import zstd_version
from domain.models.compression import ZstdCompression, zstd_choice
from ports.errors import CompressionError, DumpError

METHOD_SPEC_SINCE = 160000
PROBE_TIMEOUT_SECONDS = 10
# No server listens on a socket in a directory that does not exist, so pg_dump fails at once,
# after it has checked its options.
PROBE_CONNINFO = "host=/nonexistent/lts-probe port=1 dbname=probe connect_timeout=1"
_GZIP_LEVEL = re.compile(r"(?:gzip(?::(?:level=)?(\d))?|(\d))")


@dataclass(frozen=True, slots=True)
class CompressionChoice:
    """What one pg_dump is given, and what compresses its output.

    `argument` is pg_dump's `--compress`, `description` how the manifest names the compression,
    `zstd` the zstd process that compresses pg_dump's output instead (None: pg_dump does).
    """

    argument: str
    description: str
    zstd: ZstdCompression | None = None


def choose_compression(
    compression: str, tools: ClientTools, env: Mapping[str, str]
) -> CompressionChoice:
    """Return the `--compress` value for `tools`' pg_dump; raise DumpError when it cannot."""
    spec = compression.strip().lower()
    external = _external_choice(spec, env)
    if external is not None:
        choice = external
    elif tools.major_num >= METHOD_SPEC_SINCE:
        description = ("none" if spec == "0" else f"gzip:{spec}") if spec.isdigit() else spec
        choice = CompressionChoice(argument=spec, description=description)
    else:
        choice = _legacy_choice(spec, tools)
    _probe(tools, choice.argument, env)
    return choice


def _external_choice(spec: str, env: Mapping[str, str]) -> CompressionChoice | None:
    """Return the choice for `zstd:N` (pg_dump uncompressed into zstd), None for other specs."""
    try:
        zstd = zstd_choice(spec)
    except ValueError as exc:
        raise DumpError(f"compression {spec!r}: {exc}") from None
    if zstd is None:
        return None
    try:
        zstd_version(env)
    except CompressionError as exc:
        raise DumpError(f"compression {zstd} needs zstd: {exc}") from None
    return CompressionChoice(argument="0", description=str(zstd), zstd=zstd)


def _legacy_choice(spec: str, tools: ClientTools) -> CompressionChoice:
    if spec in ("none", "0", "gzip:0"):
        return CompressionChoice(argument="0", description="none")
    match = _GZIP_LEVEL.fullmatch(spec)
    if match is None:
        raise DumpError(
            f"compression {spec!r} needs pg_dump 16 or newer; pg_dump {tools.version} at "
            f"{tools.pg_dump} accepts only gzip levels (gzip:0 to gzip:9)"
        )
    # zlib's own default level, which pg_dump uses when given no level.
    level = match.group(1) or match.group(2) or "6"
    return CompressionChoice(argument=level, description=f"gzip:{level}")


def _probe(tools: ClientTools, argument: str, env: Mapping[str, str]) -> None:
    argv = [str(tools.pg_dump), "--format=custom", f"--compress={argument}", "--no-password"]
    try:
        result = run_command(
            [*argv, f"--dbname={PROBE_CONNINFO}"], env=env, timeout=PROBE_TIMEOUT_SECONDS
        )
    except ChildError as exc:
        raise DumpError(f"cannot run {tools.pg_dump}: {exc}") from None
    stderr = result.stderr.decode("utf-8", errors="replace")
    complaint = next((line for line in stderr.splitlines() if "compress" in line.lower()), None)
    if complaint is not None:
        raise DumpError(
            f"pg_dump {tools.version} at {tools.pg_dump} does not accept --compress={argument}: "
            f"{complaint.strip()}"
        )
