"""Turn Azure SDK exceptions into short, one-line, secret-free reasons.

The SDK's texts run over several lines (trace and correlation ids, response bodies, urllib3
connection-pool reprs). The job prints one `Failure:` line per problem, so only what an operator
acts on is kept: the AADSTS sentence, "connection refused", "host name not found", a timeout.
Only the standard library is imported here; the SDK's exceptions are recognised by walking
their causes, which are standard exceptions (OSError, TimeoutError, ssl errors).
"""

from __future__ import annotations

import re
import socket
import ssl
from collections.abc import Iterator

from domain.models.redaction import Redactor

MAX_REASON_LENGTH = 240
"""Long enough for an AADSTS sentence, short enough for a `Failure:` line."""

_MAX_CAUSES = 16
_AADSTS = re.compile(r"(AADSTS\d+:[^.\r\n]*\.?)")
_SDK_PREFIXES = ("Authentication failed: ",)


def causes(error: BaseException) -> Iterator[BaseException]:
    """Yield `error` and the exceptions behind it (SDK `inner_exception`, causes, contexts)."""
    pending: list[BaseException] = [error]
    seen: set[int] = set()
    while pending and len(seen) < _MAX_CAUSES:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        for attribute in ("inner_exception", "__cause__", "__context__", "reason"):
            behind = getattr(current, attribute, None)
            if isinstance(behind, BaseException):
                pending.append(behind)


def network_reason(error: BaseException) -> str | None:
    """Return a short reason when `error` comes from the network, else None."""
    for cause in causes(error):
        if isinstance(cause, socket.gaierror):
            return "host name not found"
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"TLS certificate not trusted ({cause.verify_message})"
        if isinstance(cause, ssl.SSLError):
            return "TLS handshake failed"
        if isinstance(cause, TimeoutError):
            return "timed out"
        if isinstance(cause, ConnectionError):
            return "connection lost"
    return None


def short_reason(error: BaseException, redactor: Redactor) -> str:
    """Return the gist of `error` on one line, masked by `redactor` and capped in length."""
    text = redactor.redact(str(error))
    found = _AADSTS.search(text)
    if found:
        return _cap(found[1])
    network = network_reason(error)
    if network is not None:
        return network
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    first = lines[0] if lines else type(error).__name__
    for prefix in _SDK_PREFIXES:
        first = first.removeprefix(prefix)
    return _cap(first)


def _cap(text: str) -> str:
    text = " ".join(text.split())
    if len(text) > MAX_REASON_LENGTH:
        return text[: MAX_REASON_LENGTH - 3] + "..."
    return text
