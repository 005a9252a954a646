"""One child of a pipeline (`Stage`), and how a child failed (`ChildFailure`).

A stage says everything the pipeline needs to start and judge one child: its command line and
whole environment, the name used in messages, the error its failures become, and the checks on
its output when Python reads that output (it is the last stage).
"""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING

from adapters.process.registry import CHILDREN
from adapters.process.text import one_line
from adapters.process.threads import STDERR_TAIL_BYTES
from domain.models.redaction import Redactor

if TYPE_CHECKING:
    from adapters.process.tap import Tap

SHELL_SIGNAL_BASE = 128
"""A shell reports a command killed by signal N as exit status 128 + N."""


@dataclass(frozen=True, slots=True)
class ChildFailure:
    """Why one child failed, in words safe to show (one line, secrets masked).

    `returncode` is the exit status (negative: killed by that signal), or None when the child
    could not start or its output was refused; `detail` is its stderr's tail or the OS error;
    `message` is the standard sentence (`pg_dump exited with 1: ...`), which an error factory
    may use as it is or rephrase.
    """

    tool: str
    returncode: int | None
    detail: str
    message: str

    @classmethod
    def exited(cls, tool: str, returncode: int, detail: str) -> ChildFailure:
        """Describe a child that exited non-zero or was killed by a signal."""
        if returncode < 0:
            try:
                name = signal.Signals(-returncode).name
            except ValueError:
                name = str(-returncode)
            message = f"{tool} was killed by signal {name}"
        else:
            message = f"{tool} exited with {returncode}"
        return cls(tool, returncode, detail, f"{message}: {detail}" if detail else message)

    @classmethod
    def refused(cls, tool: str, message: str, detail: str = "") -> ChildFailure:
        """Describe a child that could not start, or whose output is unusable."""
        return cls(tool, None, detail, message)

    @property
    def broken_pipe(self) -> bool:
        """Tell whether the child died writing to a reader that had gone (a consequence).

        Killed by SIGPIPE; or exit 141, how a wrapper shell reports a command SIGPIPE killed;
        or a tool that ignores SIGPIPE and says "Broken pipe" (EPIPE, under LC_ALL=C).
        """
        if self.returncode is None:
            return False
        return self.returncode in (-signal.SIGPIPE, SHELL_SIGNAL_BASE + signal.SIGPIPE) or (
            self.returncode > 0 and "Broken pipe" in self.detail
        )


FailureFactory = Callable[[ChildFailure], Exception]


def failed_to(error: Callable[[str], Exception], tool: str, doing: str) -> FailureFactory:
    """Return a failure factory: `error("<tool> failed to <doing> (exit N): <stderr>")`.

    A child that could not start, or whose output was refused, gets its message instead.
    """

    def failed(failure: ChildFailure) -> Exception:
        if failure.returncode is None:
            return error(f"{tool} failed to {doing}: {failure.message}")
        return error(
            f"{tool} failed to {doing} (exit {failure.returncode}): "
            f"{failure.detail or 'no diagnostics'}"
        )

    return failed


"""Turn a child's failure into the error its adapter raises (DumpError, EncryptionError, ...)."""


@dataclass(frozen=True, slots=True)
class Stage:
    """One child of a pipeline.

    Attributes:
        argv: the command; never a secret in it (secrets go through `env` or `pass_fds`).
        env: the child's whole environment (see `adapters.process.env`).
        tool: the name in messages and logs (`pg_dump`, `gpg`).
        on_failure: the error to raise when this child fails.
        redactor: masks the child's stderr and command line before they are shown.
        pass_fds: descriptors the child inherits (a passphrase pipe); the caller owns them.
        magic: bytes the output must start with (checked only when Python reads the output,
            that is when this is the last stage: a child piped into another is not seen).
        expected: what output starting with `magic` is, for the message (`a dump`).
        require_output: empty output is a failure (checked likewise).
        tap: a side reader that gets a copy of this child's output (see tap.py); the pipeline
            then runs `tee` right after this child.
        stderr_limit: the most of the child's stderr kept (its end); a child whose every
            message is read (psql applying SQL) keeps more than the default.
    """

    argv: Sequence[str]
    env: Mapping[str, str]
    tool: str
    on_failure: FailureFactory
    redactor: Redactor = field(default_factory=Redactor)
    pass_fds: tuple[int, ...] = ()
    magic: bytes | None = None
    expected: str = "the expected output"
    require_output: bool = False
    tap: Tap | None = None
    stderr_limit: int = STDERR_TAIL_BYTES

    @property
    def shown(self) -> str:
        """Return the command line as it may be logged."""
        return self.redactor.redact(" ".join(self.argv))

    def error(self, failure: ChildFailure) -> Exception:
        """Return this stage's error for `failure`."""
        return self.on_failure(failure)

    def failure(self, returncode: int, stderr: bytes) -> ChildFailure:
        """Describe this child's non-zero exit, with its stderr's tail as one masked line."""
        return ChildFailure.exited(self.tool, returncode, one_line(stderr, self.redactor))

    def wrong_start(self) -> ChildFailure:
        """Describe output that does not start with `magic`."""
        magic = (self.magic or b"").decode("ascii", errors="replace")
        return ChildFailure.refused(
            self.tool, f"{self.tool} output does not start with {magic}: not {self.expected}"
        )

    def no_output(self) -> ChildFailure:
        """Describe a child that succeeded without writing anything."""
        return ChildFailure.refused(self.tool, f"{self.tool} produced no output")

    def start_failure(self, error: OSError) -> ChildFailure:
        """Describe why this child could not start."""
        detail = one_line(str(error), self.redactor)
        return ChildFailure.refused(self.tool, f"cannot start {self.tool}: {detail}", detail)

    def spawn(self, stdin: IO[bytes] | int) -> subprocess.Popen[bytes]:
        """Start this child reading `stdin`, its stdout and stderr on pipes, and register it.

        Registered in CHILDREN, so that a stopping job kills it (the caller unregisters it once
        reaped).

        Raises:
            Exception: this stage's error when the child cannot start.
        """
        try:
            process = subprocess.Popen(
                list(self.argv),
                stdin=stdin,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=dict(self.env),
                pass_fds=self.pass_fds,
                bufsize=0,
            )
        except OSError as error:
            raise self.error(self.start_failure(error)) from None
        CHILDREN.register(process)
        return process
