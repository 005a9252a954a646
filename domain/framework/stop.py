"""The process-wide request to stop the running job in order (SPEC 15).

A scheduler stops a job that outlives its window with SIGTERM (a Kubernetes eviction does the
same, an operator types Ctrl-C or closes the terminal). The OS adapter that handles those signals
(`adapters/os/signals.py`) records the request here; the domain knows nothing of signals beyond
the name and exit status it is handed. Once a stop is requested, every machine runs only its
clean-up nodes (`@node(cleanup=True)`): any other node is left by its exception exit without
running, so a job lets go of everything it holds (partial run, keyrings, plaintext, share marker,
lock, mount) along the paths its declarations already give, and starts nothing new. The end
point then prints one `Critical failure: terminated by signal <NAME>` line and exits with the
request's status.

Setting and reading the request are single attribute operations, safe from a signal handler
that interrupts any bytecode of the main thread and from the worker threads.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class StopReason:
    """Why the job stops: the signal's name and the exit status the job ends with."""

    signal: str
    exit_code: int

    def __post_init__(self) -> None:
        # The scheduler contract: a stopped job never reports success.
        if self.exit_code < 1:
            raise ValueError(f"a stopped job exits non-zero, not {self.exit_code}")

    @property
    def message(self) -> str:
        """Return the text of the job's one `Critical failure:` line."""
        return f"terminated by signal {self.signal}"


class StopRequest:
    """Whether, and why, the running job was asked to stop; the first request wins."""

    def __init__(self) -> None:
        self._reason: StopReason | None = None

    @property
    def reason(self) -> StopReason | None:
        """Return the request, or None while the job may go on."""
        return self._reason

    def request(self, reason: StopReason) -> bool:
        """Ask the job to stop; return False when it had been asked already (the first stays)."""
        if self._reason is not None:
            return False
        self._reason = reason
        return True

    def clear(self) -> None:
        """Forget a request: a new job starts (in-process hosts and tests run several)."""
        self._reason = None


STOP = StopRequest()
"""The one stop request of this process: signals are process-wide."""
