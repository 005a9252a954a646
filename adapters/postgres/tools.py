"""Choose the PostgreSQL client tools (pg_dump, pg_dumpall, pg_restore, psql) for a server.

One rule for every job (SPEC 13: restore chooses its tools for the target server as backup does
for the source): `[backup] pg_bin_dir` when set; else the installation of the server's own release
series when one is installed (its archives stay readable by the pg_restore that comes with that
server); else the newest installation, which must not be older than the server (pg_dump refuses
newer servers). With no server (reading an archive), the newest. An installation is the directory
of a pg_dump, found in the usual install places, pgserver's, and PATH. Tested with the Debian
PostgreSQL 15 binaries, the pgserver 16 binaries and fake old scripts in
tests/integration/test_pg_binaries.py and test_postgres_dumper.py.
"""

from __future__ import annotations

import importlib.util
import logging
import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from adapters.process import ChildError, child_env, inherited_env, run_command
from ports.database import ServerInfo

SEARCH_GLOBS = ("/usr/lib/postgresql/*/bin", "/usr/pgsql-*/bin", "/usr/local/pgsql/bin")
VERSION_TIMEOUT_SECONDS = 10
_VERSION = re.compile(r"\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?(?:\.(\d+))?")

logger = logging.getLogger("lts.postgres")


class ClientToolsError(Exception):
    """No usable client tools: none installed, none in pg_bin_dir, or one is missing.

    The text is one line; adapters raise it again as their port's error.
    """


class ClientTooOldError(ClientToolsError):
    """The chosen client tools are older than the server."""


@dataclass(frozen=True, slots=True)
class ClientTools:
    """One installation of the PostgreSQL client tools, known by its pg_dump's version."""

    pg_dump: Path
    version: str
    """`16.2`, `9.6.24`."""
    major_num: int
    """The release series as a server_version_num rounded down: 160000, 90600."""

    @property
    def bin_dir(self) -> Path:
        """Return the directory holding the tools."""
        return self.pg_dump.parent

    def path(self, name: str) -> Path:
        """Return the path of tool `name` (pg_dumpall, pg_restore, psql) of this installation.

        Raises:
            ClientToolsError: the installation has no such tool.
        """
        path = self.bin_dir / name
        if not path.is_file():
            raise ClientToolsError(f"no {name} beside {self.pg_dump}")
        return path


def client_tools(
    server: ServerInfo | None, pg_bin_dir: Path | None, path_env: str | None
) -> ClientTools:
    """Return the client tools for `server` (None: the newest, for reading archives).

    Args:
        server: the server the tools will talk to, or None when there is none.
        pg_bin_dir: `[backup] pg_bin_dir`; None searches the usual places, pgserver and PATH.
        path_env: the PATH searched last.

    Raises:
        ClientToolsError: `pg_bin_dir` holds no pg_dump, or none is installed at all.
        ClientTooOldError: the chosen tools are older than `server`.
    """
    if pg_bin_dir is not None:
        path = pg_bin_dir / "pg_dump"
        if not path.is_file():
            raise ClientToolsError(f"no pg_dump in [backup] pg_bin_dir {pg_bin_dir}")
        return _new_enough(read_version(path), server)
    installed = list(_readable_versions(candidate_paths(path_env)))
    chosen = newest(installed)
    if chosen is None:
        raise ClientToolsError(
            "no pg_dump found in /usr/lib/postgresql/*/bin, /usr/pgsql-*/bin, "
            "/usr/local/pgsql/bin, pgserver or PATH; install a PostgreSQL client or set "
            "[backup] pg_bin_dir"
        )
    if server is None:
        return chosen
    series = server_major_num(server)
    same_series = newest(tools for tools in installed if tools.major_num == series)
    if same_series is not None:
        return same_series
    chosen = _new_enough(chosen, server)
    logger.info(
        "no PostgreSQL %s client tools are installed; using the newer %s from %s for the server %s",
        _series_text(series),
        chosen.version,
        chosen.bin_dir,
        _server_text(server),
    )
    return chosen


def server_major_num(server: ServerInfo) -> int:
    """Return the server's release series as a version number: 150000, or 90600 for 9.6."""
    if server.version_num < 100000:
        return server.version_num // 100 * 100
    return server.version_num // 10000 * 10000


def read_version(path: Path) -> ClientTools:
    """Run `path --version` and parse it.

    Raises:
        ClientToolsError: it cannot run, or it is not a PostgreSQL tool.
    """
    try:
        result = run_command(
            [str(path), "--version"],
            env=child_env(inherited_env(), LC_ALL="C"),
            timeout=VERSION_TIMEOUT_SECONDS,
        )
    except ChildError as exc:
        raise ClientToolsError(f"cannot run {path} --version: {exc}") from None
    output = result.stdout.decode("utf-8", errors="replace")
    match = _VERSION.search(output)
    if result.returncode != 0 or match is None:
        shown = " ".join((output + result.stderr.decode("utf-8", errors="replace")).split())
        raise ClientToolsError(f"{path} --version gave no PostgreSQL version: {shown[:200]!r}")
    parts = [int(part) for part in match.groups() if part is not None]
    major, minor = parts[0], (parts[1] if len(parts) > 1 else 0)
    # Before 10 the release series had two numbers (9.6); since 10 it has one.
    major_num = major * 10000 + minor * 100 if major < 10 else major * 10000
    version = ".".join(str(part) for part in parts)
    return ClientTools(pg_dump=path, version=version, major_num=major_num)


def embedded_bin_dir() -> Path | None:
    """Return the bin directory of the embedded PostgreSQL (pgserver) when it is installed.

    Found without importing pgserver (its import starts nothing, but it is slow and not ours).
    """
    spec = importlib.util.find_spec("pgserver")
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent / "pginstall" / "bin"


def candidate_paths(path_env: str | None) -> list[Path]:
    """Return every pg_dump in the usual install places, pgserver's, then the one on `path_env`."""
    found: list[Path] = []
    for pattern in SEARCH_GLOBS:
        bin_dirs = sorted(Path("/").glob(pattern.removeprefix("/")))
        found.extend(d / "pg_dump" for d in bin_dirs if (d / "pg_dump").is_file())
    embedded = embedded_bin_dir()
    if embedded is not None and (embedded / "pg_dump").is_file():
        found.append(embedded / "pg_dump")
    on_path = shutil.which("pg_dump", path=path_env)
    if on_path is not None:
        found.append(Path(on_path))
    return found


def newest(installed: Iterable[ClientTools]) -> ClientTools | None:
    """Return the installation with the highest version (the first of equals), or None."""
    best: ClientTools | None = None
    for tools in installed:
        if best is None or _sort_key(tools) > _sort_key(best):
            best = tools
    return best


def _new_enough(tools: ClientTools, server: ServerInfo | None) -> ClientTools:
    if server is not None and tools.major_num < server_major_num(server):
        raise ClientTooOldError(
            f"pg_dump {tools.version} at {tools.pg_dump} is older than the server "
            f"{_server_text(server)}; install a newer PostgreSQL client or set [backup] pg_bin_dir"
        )
    return tools


def _server_text(server: ServerInfo) -> str:
    return server.version.split()[0] if server.version.strip() else str(server.version_num)


def _series_text(major_num: int) -> str:
    major, minor = divmod(major_num // 100, 100)
    return f"{major}.{minor}" if major < 10 else str(major)


def _readable_versions(paths: Iterable[Path]) -> Iterable[ClientTools]:
    for path in paths:
        try:
            yield read_version(path)
        except ClientToolsError:
            # A broken stray binary must not hide a good one elsewhere.
            continue


def _sort_key(tools: ClientTools) -> tuple[int, ...]:
    return tuple(int(part) for part in tools.version.split("."))
