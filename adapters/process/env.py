"""Build a child's environment from scratch: only what it needs of the job's environment.

A child never inherits the job's whole environment: the job's own PG* or GNUPG* variables must not
change what a child connects to or which keyring it uses, and nothing secret is in the job's
environment to begin with (SPEC 9).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

INHERITED_VARIABLES = ("PATH", "HOME", "TMPDIR", "TZ")
"""What a child keeps of the job's environment by default."""


def inherited_env(names: Iterable[str] = INHERITED_VARIABLES) -> dict[str, str]:
    """Return the variables `names` of the job's environment that are set."""
    values = {name: os.getenv(name) for name in names}
    return {name: value for name, value in values.items() if value is not None}


def child_env(base: Mapping[str, str], **extra: str) -> dict[str, str]:
    """Return a copy of `base` with the `extra` variables set."""
    return {**base, **extra}
