"""A legal hold on a run: the run's `HOLD` file, who put it there, when and why (SPEC 8, 16).

Retention never deletes a run that holds a `HOLD` file, whatever the file says: an empty file
placed by hand keeps working. The `hold` job writes the file as one JSON object (reason, user,
host, since); anything else in it is read as a hand-placed hold whose first line is the reason.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from domain.models.run import RunId

HOLD_FILE = "HOLD"
MAX_REASON = 500
"""A reason is one line an operator reads in a table; a court file number fits easily."""
MAX_HOLD_BYTES = 64 * 1024
"""A HOLD file is a few hundred bytes; a larger one is read only this far."""
_NOT_ONE_LINE = frozenset({"Zl", "Zp"})


def check_reason(text: str) -> str:
    """Return the reason stripped; raise ValueError unless it is one bounded printable line."""
    reason = text.strip()
    if not reason:
        raise ValueError("the reason must not be empty")
    if len(reason) > MAX_REASON:
        raise ValueError(f"the reason must be at most {MAX_REASON} characters, not {len(reason)}")
    if any(
        unicodedata.category(c).startswith("C") or unicodedata.category(c) in _NOT_ONE_LINE
        for c in reason
    ):
        raise ValueError("the reason must be one line of text without control characters")
    return reason


def _printable(text: str) -> str:
    """Return `text` with every control character shown as `?` (for hand-written files)."""
    return "".join(
        "?"
        if unicodedata.category(c).startswith("C") or unicodedata.category(c) in _NOT_ONE_LINE
        else c
        for c in text
    )


@dataclass(frozen=True, slots=True)
class HoldRequest:
    """What `hold` and `release` were asked: the run and the reason."""

    run_id: RunId
    reason: str


@dataclass(frozen=True, slots=True)
class Hold:
    """A run's hold as its HOLD file tells it.

    `recorded` is true for a file written by the `hold` job; a hand-placed file has an empty or
    free-text reason and no user, host or time.
    """

    reason: str = ""
    user: str = ""
    host: str = ""
    since: datetime | None = None
    recorded: bool = False

    @classmethod
    def parse(cls, content: bytes) -> Hold:
        """Read a HOLD file's content; never fails (any file at all is a hold)."""
        text = content[:MAX_HOLD_BYTES].decode("utf-8", errors="replace")
        try:
            value = json.loads(text)
        except ValueError:
            value = None
        if isinstance(value, dict) and isinstance(value.get("reason"), str):
            since = value.get("since")
            try:
                when = datetime.fromisoformat(since) if isinstance(since, str) else None
            except ValueError:
                when = None
            return cls(
                reason=_printable(value["reason"])[:MAX_REASON],
                user=_printable(str(value.get("user", ""))),
                host=_printable(str(value.get("host", ""))),
                since=when if when is not None and when.tzinfo is not None else None,
                recorded=True,
            )
        first = text.strip().splitlines()[0] if text.strip() else ""
        return cls(reason=_printable(first.strip())[:MAX_REASON])

    def to_json(self) -> bytes:
        """Return the HOLD file the hold job writes."""
        document = {
            "reason": self.reason,
            "user": self.user,
            "host": self.host,
            "since": self.since.isoformat() if self.since else None,
        }
        return json.dumps(document, ensure_ascii=False, indent=2).encode() + b"\n"

    @property
    def shown_reason(self) -> str:
        """Return the reason, or say that the file does not give one."""
        return self.reason or "unknown reason (hand-placed HOLD file)"

    @property
    def who(self) -> str:
        """Return `user@host`, or an empty text for a hand-placed hold."""
        return f"{self.user}@{self.host}" if self.user or self.host else ""

    def age_days(self, now: datetime) -> int | None:
        """Return how many whole days the run has been on hold, when that is known."""
        return max((now - self.since).days, 0) if self.since is not None else None
