"""A registry of secret values and the masking of text that might hold them."""

from __future__ import annotations

import threading
from collections.abc import Iterable

from pydantic import SecretStr

MASK = "*****"
MIN_SECRET_LENGTH = 4
"""Shorter values would mask ordinary words; no real secret is that short."""


class Redactor:
    """Remembers every secret the job has seen and masks them in any text.

    Shared by the logger, the child-process adapters and the end points, so that a secret
    can only leak through a path that bypasses all three.
    """

    def __init__(self, secrets: Iterable[SecretStr | str] = ()) -> None:
        self._lock = threading.Lock()
        self._values: tuple[str, ...] = ()
        self.add(*secrets)

    def add(self, *secrets: SecretStr | str | None) -> None:
        """Register secret values to mask from now on."""
        new = []
        for secret in secrets:
            if secret is None:
                continue
            value = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
            if len(value) >= MIN_SECRET_LENGTH:
                new.append(value)
        with self._lock:
            # Longest first, so a secret containing another is masked whole.
            merged = set(self._values).union(new)
            self._values = tuple(sorted(merged, key=len, reverse=True))

    def redact(self, text: str) -> str:
        """Return `text` with every registered secret replaced by a mask."""
        for value in self._values:
            if value in text:
                text = text.replace(value, MASK)
        return text
