"""Check the hash chain of one audit log on the share (SPEC 14, `verify --logs`).

Every line of a chained log carries the sha256 of the line before it (domain.rules.audit_chain),
so an edited, inserted or deleted line breaks the chain at the first line after it. A broken log
is one Failure naming its first broken line. Failure prefix: `<client> <log path>`.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from domain.framework.definition import node
from domain.framework.machine import Machine, Step
from domain.services.audit_log import AuditLog
from ports.file_share import FileShare


class VerifyLogMachine(Machine):
    """Check one audit log's chain from its first line to its last."""

    def __init__(self, *, client: str, path: PurePosixPath, share: FileShare) -> None:
        super().__init__()
        self._client = client
        self._path = path
        self._share = share
        self.lines = 0

    @property
    def prefix(self) -> str:
        """Return `<client> <log path>`."""
        return f"{self._client} {self._path}"

    @node(
        entry=True,
        happy=("report_results",),
        unhappy=("report_results",),
        on_exception="report_results",
    )
    def check_chain(self) -> Step:
        """Read the log and find the first line that does not chain to the one before it."""
        log = AuditLog(self._share, self._path)
        lines = log.lines()
        self.lines = len(lines)
        broken = log.first_break()
        if broken is not None:
            return self.failure(self.report_results, f"line {broken.line} {broken.reason}")
        return self.success(self.report_results)
