"""In-memory Console, Exit, Clock, ConfigSource, Lock, TaskRunner and SecretCipher."""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TypeVar

from pydantic import SecretStr

from ports.clock import Clock
from ports.config_source import ConfigSource
from ports.console import Console
from ports.errors import ConfigSourceError, LockHeldError, SecretError
from ports.exit import Exit
from ports.lock import Lock
from ports.secret_cipher import SecretCipher
from ports.task_runner import TaskRunner

T = TypeVar("T")
R = TypeVar("R")


class RecordingConsole(Console):
    """Keeps printed lines in `lines`."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def print(self, line: str) -> None:
        """Record `line`."""
        self.lines.append(line)


class RecordingExit(Exit):
    """Keeps the exit code in `code` (None until `exit` is called)."""

    def __init__(self) -> None:
        self.code: int | None = None

    def exit(self, code: int) -> None:
        """Record `code`."""
        self.code = code


class FixedClock(Clock):
    """Returns a fixed time, moved only by `advance`."""

    def __init__(self, moment: datetime) -> None:
        if moment.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware time")
        self.moment = moment

    def now(self) -> datetime:
        """Return the fixed time."""
        return self.moment

    def advance(self, delta: timedelta) -> None:
        """Move the clock."""
        self.moment += delta


class InMemoryConfigSource(ConfigSource):
    """A dict of settings; `reads` counts how often each key was read; `error` breaks it."""

    def __init__(
        self, values: Mapping[str, str], *, error: ConfigSourceError | None = None
    ) -> None:
        self.values = dict(values)
        self.error = error
        self.reads: dict[str, int] = {}

    def read(self, keys: Sequence[str]) -> dict[str, str]:
        """Return the values of the keys that exist."""
        if self.error is not None:
            raise self.error
        for key in keys:
            self.reads[key] = self.reads.get(key, 0) + 1
        return {key: self.values[key] for key in keys if key in self.values}


class InMemoryLock(Lock):
    """A lock table shared by the InMemoryLock objects given the same `held` dict."""

    def __init__(self, held: dict[str, str] | None = None, *, owner: str = "pid 1") -> None:
        self.held = held if held is not None else {}
        self.owner = owner
        self._client: str | None = None

    def acquire(self, client: str) -> None:
        """Take the lock or raise LockHeldError naming the holder."""
        if client in self.held:
            raise LockHeldError(f"another run for {client} is in progress ({self.held[client]})")
        self.held[client] = self.owner
        self._client = client

    def release(self) -> None:
        """Release the lock if held."""
        if self._client is not None:
            self.held.pop(self._client, None)
            self._client = None


class SerialTaskRunner(TaskRunner):
    """Runs tasks one after another, in order; exceptions propagate after all tasks ran."""

    def map(self, function: Callable[[T], R], items: Sequence[T]) -> list[R]:
        """Return `[function(item) for item in items]`."""
        results: list[R] = []
        first_error: Exception | None = None
        for item in items:
            try:
                results.append(function(item))
            except Exception as exc:  # noqa: BLE001 - a task failure must not stop the others
                first_error = first_error or exc
        if first_error is not None:
            raise first_error
        return results


class ReversibleSecretCipher(SecretCipher):
    """A keyed, reversible encoding for tests: not encryption, never for real secrets."""

    def __init__(self, key: str = "memory") -> None:
        self.key = key

    def encrypt(self, secret: SecretStr) -> str:
        """Return a token for `secret`."""
        text = f"{self.key}:{secret.get_secret_value()}"
        return base64.urlsafe_b64encode(text.encode()).decode()

    def decrypt(self, token: str) -> SecretStr:
        """Return the secret, or raise SecretError for another key or a damaged token."""
        try:
            key, _, value = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
        except ValueError as exc:
            raise SecretError("the secret token is damaged") from exc
        if key != self.key:
            raise SecretError("the secret token was made with another key")
        return SecretStr(value)
