"""Find the pg_dump (and the pg_dumpall beside it) that can dump a given server.

pg_dump refuses servers newer than itself, and its archives are readable only by a pg_restore
at least as new, so the client of the server's own release series is chosen when installed,
else the newest one: from `[backup] pg_bin_dir` when set, else among the usual install places,
pgserver's, and PATH. Tested with the
Debian PostgreSQL 15 binaries, the pgserver 16 binaries and fake old scripts.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ports.database import ServerInfo
from ports.errors import DumpError, DumperTooOldError

SEARCH_GLOBS = ("/usr/lib/postgresql/*/bin", "/usr/pgsql-*/bin", "/usr/local/pgsql/bin")
VERSION_TIMEOUT_SECONDS = 10
_VERSION = re.compile(r"\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?(?:\.(\d+))?")


@dataclass(frozen=True, slots=True)
class PgBinary:
    """One pg_dump: where it is and its version (`16.2`, `9.6.24`)."""

    path: Path
    version: str
    major_num: int
    """The release series as a server_version_num rounded down: 160000, 90600."""

    @property
    def bin_dir(self) -> Path:
        """Return the directory holding this pg_dump and its sibling tools."""
        return self.path.parent

    def sibling(self, name: str) -> Path:
        """Return the path of tool `name` (pg_dumpall) from the same installation."""
        return self.bin_dir / name


def server_major_num(server: ServerInfo) -> int:
    """Return the server's release series as a version number: 150000, or 90600 for 9.6."""
    if server.version_num < 100000:
        return server.version_num // 100 * 100
    return server.version_num // 10000 * 10000


def read_version(path: Path) -> PgBinary:
    """Run `path --version` and parse it; raise DumpError when it is not a PostgreSQL tool."""
    try:
        result = subprocess.run(
            [str(path), "--version"],
            capture_output=True,
            text=True,
            timeout=VERSION_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DumpError(f"cannot run {path} --version: {exc}") from None
    match = _VERSION.search(result.stdout)
    if result.returncode != 0 or match is None:
        shown = " ".join((result.stdout + result.stderr).split())[:200]
        raise DumpError(f"{path} --version gave no PostgreSQL version: {shown!r}")
    parts = [int(part) for part in match.groups() if part is not None]
    major, minor = parts[0], (parts[1] if len(parts) > 1 else 0)
    # Before 10 the release series had two numbers (9.6); since 10 it has one.
    major_num = major * 10000 + minor * 100 if major < 10 else major * 10000
    version = ".".join(str(part) for part in parts)
    return PgBinary(path=path, version=version, major_num=major_num)


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


def newest(binaries: Iterable[PgBinary]) -> PgBinary | None:
    """Return the binary with the highest version (the first of equals), or None."""
    best: PgBinary | None = None
    for binary in binaries:
        if best is None or _sort_key(binary) > _sort_key(best):
            best = binary
    return best


def find_pg_dump(pg_bin_dir: Path | None, path_env: str | None) -> PgBinary:
    """Return the pg_dump in `pg_bin_dir`, or else the newest one installed.

    Raises:
        DumpError: `pg_bin_dir` holds no pg_dump, or no pg_dump is installed at all.
    """
    if pg_bin_dir is not None:
        path = pg_bin_dir / "pg_dump"
        if not path.is_file():
            raise DumpError(f"no pg_dump in [backup] pg_bin_dir {pg_bin_dir}")
        return read_version(path)
    chosen = newest(_readable_versions(candidate_paths(path_env)))
    if chosen is None:
        raise DumpError(
            "no pg_dump found in /usr/lib/postgresql/*/bin, /usr/pgsql-*/bin, "
            "/usr/local/pgsql/bin, pgserver or PATH; install a PostgreSQL client or set "
            "[backup] pg_bin_dir"
        )
    return chosen


def select_pg_dump(server: ServerInfo, pg_bin_dir: Path | None, path_env: str | None) -> PgBinary:
    """Return the pg_dump to dump `server` with.

    `pg_bin_dir` when set; else a pg_dump of the server's own release series when one is
    installed; else the newest one (which must not be older than the server).

    Raises:
        DumpError: `pg_bin_dir` holds no pg_dump, or no pg_dump is installed at all.
        DumperTooOldError: the chosen pg_dump is older than the server.
    """
    if pg_bin_dir is None:
        # The server's own release series first: its archives are readable by the pg_restore
        # that comes with the server (a newer pg_dump writes a format older ones refuse).
        same_series = newest(
            binary
            for binary in _readable_versions(candidate_paths(path_env))
            if binary.major_num == server_major_num(server)
        )
        if same_series is not None:
            return same_series
    chosen = find_pg_dump(pg_bin_dir, path_env)
    if chosen.major_num < server_major_num(server):
        shown = server.version.split()[0] if server.version.strip() else str(server.version_num)
        raise DumperTooOldError(
            f"pg_dump {chosen.version} at {chosen.path} is older than the server {shown}; "
            "install a newer PostgreSQL client or set [backup] pg_bin_dir"
        )
    return chosen


def _readable_versions(paths: Iterable[Path]) -> Iterable[PgBinary]:
    for path in paths:
        try:
            yield read_version(path)
        except DumpError:
            # A broken stray binary must not hide a good one elsewhere.
            continue


def _sort_key(binary: PgBinary) -> tuple[int, ...]:
    return tuple(int(part) for part in binary.version.split("."))
