"""A share that dies before a chosen change, as a killed job stops: the rekey crash tests."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import PurePosixPath
from typing import Any


class Crash(BaseException):
    """The job dies here: nothing after it runs (no clean-up node either)."""


class CrashAfter:
    """Mix into a FileShare: it raises Crash before its (budget + 1)th change of the share.

    Reads never count; every write, append, rename, replace and delete does.
    """

    budget = 10_000

    def _spend(self) -> None:
        if self.budget <= 0:
            raise Crash
        self.budget -= 1

    def write_stream(self, path: PurePosixPath, chunks: Iterable[bytes]) -> Any:
        self._spend()
        return super().write_stream(path, chunks)  # type: ignore[misc]

    def append_line(self, path: PurePosixPath, line: str) -> None:
        self._spend()
        super().append_line(path, line)  # type: ignore[misc]

    def rename(self, source: PurePosixPath, target: PurePosixPath) -> None:
        self._spend()
        super().rename(source, target)  # type: ignore[misc]

    def replace(self, source: PurePosixPath, target: PurePosixPath) -> None:
        self._spend()
        super().replace(source, target)  # type: ignore[misc]

    def delete_file(self, path: PurePosixPath) -> None:
        self._spend()
        super().delete_file(path)  # type: ignore[misc]
