r"""Sort what psql printed while applying the globals: roles that existed, and real errors.

psql runs with `VERBOSITY=verbose`, so each server error carries its SQLSTATE whatever language
the server speaks (`ERROR:  42710: role "app" already exists`). Only duplicate_object (42710: a
role or tablespace that already exists) is expected when globals meet a server that has some of
them; every other error, and every line psql prints of its own (`invalid command \restrict` from
a psql that does not know a command pg_dumpall wrote), is an error to report (SPEC 13).
"""

from __future__ import annotations

import re

from adapters.process import one_line
from domain.models.redaction import Redactor
from ports.restorer import GlobalsOutcome

ALREADY_EXISTS = "42710"
_MESSAGE = re.compile(
    r"^(?:psql:[^:]*:\d+: )?(?P<level>ERROR|FATAL|PANIC|WARNING|NOTICE|INFO|LOG|DEBUG\d?):\s+"
    r"(?:(?P<code>[0-9A-Z]{5}):\s+)?(?P<text>.*)$"
)
_DETAIL = re.compile(r"^(?:DETAIL|HINT|LOCATION|CONTEXT|QUERY|STATEMENT|LINE \d+):|^\s")
_FAILING = ("ERROR", "FATAL", "PANIC")


def globals_outcome(stderr: str, redactor: Redactor) -> GlobalsOutcome:
    """Return the roles and tablespaces that existed and every other error, one line each."""
    existing = 0
    errors: list[str] = []
    for line in stderr.splitlines():
        if not line.strip() or _DETAIL.match(line) or line.startswith("Try \\?"):
            continue
        message = _MESSAGE.match(line)
        if message is None:
            errors.append(one_line(line, redactor))
        elif message.group("level") in _FAILING:
            if message.group("code") == ALREADY_EXISTS:
                existing += 1
            else:
                code = message.group("code")
                text = f"{code}: {message.group('text')}" if code else message.group("text")
                errors.append(one_line(f"{message.group('level')}: {text}", redactor))
    return GlobalsOutcome(existing, tuple(errors))
