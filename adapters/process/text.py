"""Make what a child printed safe to show: one line, secrets masked, length bounded."""

from __future__ import annotations

from domain.models.redaction import Redactor

MAX_REASON_LENGTH = 600
"""Long enough for a libpq, pg_dump or gpg error, short enough for a `Failure:` line."""


def one_line(text: str | bytes, redactor: Redactor, limit: int = MAX_REASON_LENGTH) -> str:
    """Return `text` with secrets masked, lines joined by "; " and its length capped.

    When the text is too long its end is kept: a tool's last lines hold the fatal error, its
    first lines the warnings.
    """
    decoded = text.decode("utf-8", errors="replace") if isinstance(text, bytes) else text
    lines = (" ".join(line.split()) for line in redactor.redact(decoded).splitlines())
    joined = "; ".join(line for line in lines if line)
    if len(joined) > limit:
        joined = "..." + joined[-(limit - 3) :]
    return joined
