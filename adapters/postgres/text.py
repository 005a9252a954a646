"""Make error texts from PostgreSQL and its tools safe to show: one line, no secrets."""

from __future__ import annotations

from domain.models.redaction import Redactor

MAX_REASON_LENGTH = 600
"""Long enough for a libpq or pg_dump error, short enough for a `Failure:` line."""


def one_line(text: str, redactor: Redactor, limit: int = MAX_REASON_LENGTH) -> str:
    """Return `text` with secrets masked, lines joined by "; " and its length capped."""
    lines = (" ".join(line.split()) for line in redactor.redact(text).splitlines())
    joined = "; ".join(line for line in lines if line)
    if len(joined) > limit:
        # The end of a tool's stderr holds the fatal error; the start holds warnings.
        joined = "..." + joined[-(limit - 3) :]
    return joined
