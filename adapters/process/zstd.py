"""The zstd binary: the stages that compress and decompress a stream, and ZstdDecompressor.

zstd runs as a child connected to its neighbours by OS pipes (`pg_dump | zstd | gpg` on a backup,
`gpg --decrypt | zstd -d` on every read of a stored `*.zst.gpg` file), so it works with every
pg_dump, uses cores of its own, and no byte of the dump passes through Python. Its environment is
the one it is given (built from scratch by the caller), so the job's own `ZSTD_CLEVEL` or
`ZSTD_NBTHREADS` never change what it does. zstd's frames carry a checksum of the content
(the command line's default), which `zstd -d` verifies. Tested with the real binary in
tests/integration/test_zstd.py and through every backup and restore of a zstd run.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from adapters.process.env import inherited_env
from adapters.process.pipeline import CHUNK_SIZE, ProcessStream, stream_through
from adapters.process.run import ChildError, run_command
from adapters.process.stage import FailureFactory, Stage, failed_to
from adapters.process.text import one_line
from domain.models.redaction import Redactor
from ports.decompressor import Decompressor
from ports.errors import CompressionError

ZSTD = "zstd"
"""The binary, found on the children's PATH (Debian package `zstd`)."""
PACKAGE = "zstd"
VERSION_TIMEOUT_SECONDS = 10
_VERSION = re.compile(r"\bv?(\d+\.\d+\.\d+)\b")


def compress_stage(
    level: int,
    threads: int,
    env: Mapping[str, str],
    on_failure: FailureFactory,
    redactor: Redactor,
    binary: str = ZSTD,
) -> Stage:
    """Return the stage `zstd -LEVEL -T<threads>` from stdin to stdout."""
    argv = (binary, f"-{level}", f"-T{threads}", "-q", "-c", "--no-progress")
    return Stage(argv, env, "zstd", on_failure, redactor)


def decompress_stage(
    env: Mapping[str, str], on_failure: FailureFactory, redactor: Redactor, binary: str = ZSTD
) -> Stage:
    """Return the stage `zstd -d` from stdin to stdout (the stock command of RESTORE.txt)."""
    argv = (binary, "-d", "-q", "-c", "--no-progress")
    return Stage(argv, env, "zstd", on_failure, redactor)


def zstd_version(env: Mapping[str, str], binary: str = ZSTD) -> str:
    """Return the version of the zstd binary (`1.5.4`).

    Raises:
        CompressionError: zstd is not installed or does not run; the text says how to fix it.
    """
    try:
        result = run_command([binary, "--version"], env=env, timeout=VERSION_TIMEOUT_SECONDS)
    except ChildError as exc:
        raise CompressionError(
            f"{exc}; zstd compresses and decompresses dumps: install it (Debian package {PACKAGE})"
        ) from None
    output = result.stdout.decode("utf-8", errors="replace")
    found = _VERSION.search(output)
    if not result.ok or found is None:
        detail = one_line(result.stderr or result.stdout, Redactor())
        raise CompressionError(f"{binary} --version failed (exit {result.returncode}): {detail}")
    return found.group(1)


class ZstdDecompressor(Decompressor):
    """Decompress streams with `zstd -d`, reading the previous child's output directly.

    Args:
        redactor: masks zstd's stderr.
        binary: the zstd command (on the children's PATH unless a path).
        chunk_size: the most bytes per chunk of a decompressed stream.
        base_env: the environment the child starts from (default: `inherited_env()`).
    """

    def __init__(
        self,
        *,
        redactor: Redactor,
        binary: str = ZSTD,
        chunk_size: int = CHUNK_SIZE,
        base_env: Mapping[str, str] | None = None,
    ) -> None:
        self._redactor = redactor
        self._binary = binary
        self._chunk_size = chunk_size
        self._env = dict(inherited_env() if base_env is None else base_env)

    def decompress(self, compressed: Iterable[bytes]) -> ProcessStream:
        """Return the stream of `zstd -d` reading `compressed`; see the Decompressor port."""
        stage = decompress_stage(self._env, _decompression_failed, self._redactor, self._binary)
        return stream_through(compressed, stage, chunk_size=self._chunk_size)

    def version(self) -> str:
        """Return zstd's version; raise CompressionError when it is missing."""
        return zstd_version(self._env, self._binary)


_decompression_failed = failed_to(CompressionError, "zstd", "decompress")
