"""The TaskRunner port on a thread pool (`concurrent.futures`).

Threads fit the work: every task waits on a child process (pg_dump, gpg) or on the share, so the
GIL is released most of the time. Tested in tests/unit/test_os_adapters.py.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import TypeVar

from ports.task_runner import TaskRunner

T = TypeVar("T")
R = TypeVar("R")


class ThreadPoolTaskRunner(TaskRunner):
    """Runs tasks on up to `workers` threads; a fresh pool per `map` call.

    A pool per call means no threads outlive the work and nested calls (a retention run inside a
    backup) never wait on each other's workers.
    """

    def __init__(self, workers: int) -> None:
        if workers < 1:
            raise ValueError(f"a task runner needs at least one worker, not {workers}")
        self.workers = workers

    def map(self, function: Callable[[T], R], items: Sequence[T]) -> list[R]:
        """Return `[function(item) for item in items]`, computed in parallel.

        Waits for every task. When tasks raised, the exception of the first failing item (in
        item order) is re-raised once all have finished, so no task is left running.
        """
        if not items:
            return []
        with ThreadPoolExecutor(
            max_workers=min(self.workers, len(items)), thread_name_prefix="lts-worker"
        ) as pool:
            futures: list[Future[R]] = [pool.submit(function, item) for item in items]
            wait(futures)
        for future in futures:
            error = future.exception()
            if error is not None:
                raise error
        return [future.result() for future in futures]
