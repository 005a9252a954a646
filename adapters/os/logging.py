"""The job's log file: `<log_root>/<client>/<job>.log`, rotated daily, secrets masked.

SPEC section 10: one log directory per client, a line of asterisks at the start of each run, and
nothing on stdout (stdout is what the scheduler reads). Every record passes through a
`RedactingFilter` before it is written, so a secret registered with the Redactor, even after
logging was configured, never reaches the file. Tested in tests/unit/test_logging.py.
"""

from __future__ import annotations

import io
import json as json_module
import logging
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from logging.handlers import TimedRotatingFileHandler
from pathlib import Path
from typing import Any

from adapters.os.paths import PRIVATE_FILE_MODE, check_component, make_private_dirs
from domain.models.redaction import Redactor
from ports.errors import ConfigError

LOGGER_NAME = "lts"
LIBRARY_LOGGERS = ("azure", "msal", "psycopg", "smbprotocol", "smbclient")
"""Vendor loggers whose warnings belong in the job's log (masked), never on stderr unmasked;
their debug output may hold tokens, so they stay at WARNING."""

RUN_SEPARATOR = "*" * 80
_HANDLER_MARK = "_lts_client_handler"


class RedactingFilter(logging.Filter):
    """Masks every secret the Redactor knows in a record's message, exception and stack.

    The record is rewritten in place (message formatted with its args, then masked; exception
    and stack text rendered, then masked), so no formatter or later handler sees a secret.
    """

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask the record's secrets; always keep the record."""
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            # A bad format string must still be logged, and still masked.
            message = f"{record.msg!s} {record.args!r}"
        record.msg = self.redactor.redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redactor.redact(record.exc_text)
        # The exception object itself may hold the secret (in its args); once rendered and
        # masked, drop it so no formatter renders it again.
        record.exc_info = None
        if record.stack_info:
            record.stack_info = self.redactor.redact(record.stack_info)
        return True


class TextFormatter(logging.Formatter):
    """Formats `time level logger message`, with a UTC ISO-8601 time."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def formatTime(  # noqa: N802 - overrides logging's camelCase name
        self,
        record: logging.LogRecord,
        datefmt: str | None = None,  # noqa: ARG002 - one fixed format, for sorting and parsing
    ) -> str:
        """Return the record's time as UTC ISO-8601 with milliseconds."""
        return _iso_time(record)


class JsonFormatter(logging.Formatter):
    """Formats one JSON object per line: time, level, logger, message (and exception, stack)."""

    def format(self, record: logging.LogRecord) -> str:
        """Return the record as a one-line JSON object."""
        entry: dict[str, Any] = {
            "time": _iso_time(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "thread": record.threadName,
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json_module.dumps(entry, ensure_ascii=False)


class PrivateTimedRotatingFileHandler(TimedRotatingFileHandler):
    """A TimedRotatingFileHandler whose files are created with mode 0600.

    The base class opens new files (also at each rollover) with the umask's mode; logs hold
    database names, hosts and commands, so they are for the operator only.
    """

    def _open(self) -> io.TextIOWrapper:
        fd = os.open(
            self.baseFilename,
            os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC,
            PRIVATE_FILE_MODE,
        )
        # Always append (O_APPEND above); the handler is never built with another mode.
        return open(fd, "a", encoding=self.encoding, errors=self.errors)  # noqa: PTH123


def configure_client_logging(
    log_root: Path,
    client: str,
    job: str,
    level: str,
    backup_count: int,
    json: bool,
    redactor: Redactor,
) -> Path:
    """Send the job's logs to `<log_root>/<client>/<job>.log` and return that path.

    Configures the "lts" logger (at `level`) and the vendor loggers in LIBRARY_LOGGERS (at
    WARNING) to write only to that file: they do not propagate to the root logger, so nothing
    reaches stdout or a handler a library installed. Calling it again replaces the handler
    installed before (no duplicate lines). Writes a line of asterisks to mark the run's start.

    Args:
        log_root: The master config's `[paths] log_root`.
        client: The client name (one safe path component).
        job: The job name ("backup", "retention", ...).
        level: A logging level name for the "lts" logger ("INFO", "DEBUG", ...).
        backup_count: How many rotated daily files to keep.
        json: Write JSON lines instead of text lines.
        redactor: The job's Redactor; secrets added to it later are masked too.

    Raises:
        ConfigError: The client or job name is not a safe path component, or the log file
            cannot be created or opened.
        ValueError: `level` is not a logging level name.
    """
    check_component(client, "client name")
    check_component(job, "job name")
    numeric_level = logging.getLevelName(level.upper())
    if not isinstance(numeric_level, int):
        raise ValueError(f"unknown logging level {level!r}")
    directory = log_root / client
    path = directory / f"{job}.log"
    try:
        make_private_dirs(directory)
        handler = PrivateTimedRotatingFileHandler(
            path, when="midnight", backupCount=backup_count, encoding="utf-8", utc=True
        )
        # An existing file may predate this code or have been copied in with another mode.
        path.chmod(PRIVATE_FILE_MODE)
    except OSError as exc:
        raise ConfigError(f"cannot open the log file {path} ({exc.strerror})") from None
    setattr(handler, _HANDLER_MARK, True)
    handler.addFilter(RedactingFilter(redactor))
    handler.setFormatter(JsonFormatter() if json else TextFormatter())

    for name, logger_level in [(LOGGER_NAME, numeric_level)] + [
        (library, logging.WARNING) for library in LIBRARY_LOGGERS
    ]:
        logger = logging.getLogger(name)
        _remove_installed_handlers(logger)
        logger.setLevel(logger_level)
        logger.propagate = False
        logger.addHandler(handler)

    # Written through the handler, not a logger, so it appears whatever the level.
    handler.handle(
        logging.LogRecord(LOGGER_NAME, logging.INFO, __file__, 0, RUN_SEPARATOR, None, None)
    )
    return path


def client_logging(
    log_root: Path,
    client: str,
    job: str,
    level: str,
    backup_count: int,
    json: bool,
    redactor: Redactor,
) -> Iterator[Path]:
    """Set up the client log for the length of a job (a container Resource); close it after."""
    path = configure_client_logging(log_root, client, job, level, backup_count, json, redactor)
    try:
        yield path
    finally:
        close_client_logging()


def close_client_logging() -> None:
    """Remove and close the log file handler `configure_client_logging` installed, if any.

    The loggers propagate to the root logger again, as they did before. For tests and for hosts
    that run several jobs in one process.
    """
    for name in (LOGGER_NAME, *LIBRARY_LOGGERS):
        logger = logging.getLogger(name)
        if _remove_installed_handlers(logger):
            logger.propagate = True
            logger.setLevel(logging.NOTSET)


def _remove_installed_handlers(logger: logging.Logger) -> bool:
    """Remove and close the handlers an earlier `configure_client_logging` installed.

    Returns:
        Whether there was one.
    """
    found = False
    for handler in list(logger.handlers):
        if getattr(handler, _HANDLER_MARK, False):
            logger.removeHandler(handler)
            handler.close()
            found = True
    return found


def _iso_time(record: logging.LogRecord) -> str:
    """Return the record's creation time as UTC ISO-8601 with milliseconds."""
    return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
