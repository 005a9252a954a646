"""Run a short command to its end and collect what it printed (gpg key work, mount, --version).

For streams (pg_dump, gpg on a dump) see `pipeline`. The child gets exactly the environment it is
given, stdin from `stdin`, and is killed and reaped when it outlives `timeout`.
"""

from __future__ import annotations

import contextlib
import logging
import subprocess
import tempfile
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import IO

from adapters.process.registry import CHILDREN

logger = logging.getLogger("lts.process")

MAX_OUTPUT_BYTES = 1024 * 1024
"""Output kept of a command that writes to a file (see `run_command(to_file=True)`)."""
REAP_SECONDS = 5
"""How long a killed command's pipes are drained before it is reaped regardless."""


class ChildError(Exception):
    """A child could not be started or did not finish in time; the text says which, one line.

    Adapters turn it into the port error of their own (DumpError, EncryptionError, ...).
    """


@dataclass(frozen=True, slots=True)
class Completed:
    """How a command ended and what it printed."""

    argv: tuple[str, ...]
    returncode: int
    stdout: bytes
    stderr: bytes

    @property
    def ok(self) -> bool:
        """Tell whether the command exited with 0."""
        return self.returncode == 0


def run_command(
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    timeout: float,
    stdin: bytes = b"",
    pass_fds: Collection[int] = (),
    to_file: bool = False,
    shown: str | None = None,
) -> Completed:
    """Run `argv` to its end and return how it ended; never raises on a non-zero exit.

    The child stays in the job's process group (an operator's `kill -- -PGID` reaches it) and is
    registered while it runs, so `kill_all` reaches it too (but it is never refused: see
    registry.py).

    Args:
        argv: the command; never a secret in it (secrets go through `env` or `pass_fds`).
        env: the child's whole environment.
        timeout: seconds before the child is killed.
        stdin: bytes written to the child's standard input.
        pass_fds: file descriptors the child inherits (a passphrase pipe).
        to_file: collect stdout and stderr (together, as stderr) in a temporary file instead of
            pipes, for commands whose helpers may outlive them (mount.cifs under sudo) and would
            hold a pipe open past the timeout.
        shown: how the command is logged (masked by the caller); default the argv itself.

    Raises:
        ChildError: the command cannot be started, or did not finish within `timeout`.
    """
    logger.info("running %s", shown if shown is not None else " ".join(argv))
    name = argv[0]
    try:
        if to_file:
            with tempfile.TemporaryFile() as output:
                returncode, _, _ = _run(argv, env, timeout, stdin, pass_fds, output)
                output.seek(0)
                return Completed(tuple(argv), returncode, b"", output.read(MAX_OUTPUT_BYTES))
        returncode, stdout, stderr = _run(argv, env, timeout, stdin, pass_fds, None)
    except subprocess.TimeoutExpired:
        raise ChildError(f"{name} did not finish within {timeout:g} s") from None
    except OSError as error:
        raise ChildError(f"cannot run {name}: {error.strerror or error}") from None
    return Completed(tuple(argv), returncode, stdout, stderr)


def _run(
    argv: Sequence[str],
    env: Mapping[str, str],
    timeout: float,
    stdin: bytes,
    pass_fds: Collection[int],
    output: IO[bytes] | None,
) -> tuple[int, bytes, bytes]:
    """Run the child (registered while it lives) and return its status, stdout and stderr."""
    process = subprocess.Popen(
        list(argv),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE if output is None else output,
        stderr=subprocess.PIPE if output is None else output,
        env=dict(env),
        pass_fds=tuple(pass_fds),
    )
    # Not refusable: the cleanup after a stop runs short commands (gpgconf --kill, umount).
    CHILDREN.register(process, refusable=False)
    try:
        stdout, stderr = process.communicate(stdin, timeout=timeout)
    except BaseException:
        process.kill()
        # Reaped, and its pipes drained and closed (a helper holding them is not waited for).
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.communicate(timeout=REAP_SECONDS)
        process.wait()
        raise
    finally:
        CHILDREN.unregister(process)
    return process.returncode, stdout or b"", stderr or b""
