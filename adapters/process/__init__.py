"""Child processes, in one place: start, feed, read, tail stderr, check every exit, kill the rest.

Every adapter that runs a program (pg_dump, pg_restore, psql, gpg, mount) uses this package; it is
the one adapter package others may import. The pieces:

- `Stage`, `ProcessStream`, `stream_through` (pipeline.py, stage.py): a lazy stream of a pipeline
  of children connected by OS pipes, optionally fed from an iterable; `failed_to` words a child's
  failure ("gpg failed to encrypt (exit 2): ...");
- `collect` (collect.py): one child fed a stream, its short output kept;
- `run_command` (run.py): a short command run to its end;
- `Tap` (tap.py): a side reader of a copy of a stage's output (`tee` into it);
- `kill_all` (registry.py): kill every live child (a stopping job);
- `child_env`, `inherited_env` (env.py) and `one_line` (text.py): a child's environment, and one
  safe line of what it printed.
"""

from adapters.process.collect import Collected, collect
from adapters.process.env import child_env, inherited_env
from adapters.process.pipeline import CHUNK_SIZE, ProcessStream, stream_through
from adapters.process.registry import CHILDREN, kill_all
from adapters.process.run import ChildError, Completed, run_command
from adapters.process.stage import ChildFailure, FailureFactory, Stage, failed_to
from adapters.process.tap import Tap
from adapters.process.text import one_line
from adapters.process.threads import close_source

__all__ = [
    "CHILDREN",
    "CHUNK_SIZE",
    "ChildError",
    "ChildFailure",
    "Collected",
    "Completed",
    "FailureFactory",
    "ProcessStream",
    "Stage",
    "Tap",
    "child_env",
    "close_source",
    "collect",
    "failed_to",
    "inherited_env",
    "kill_all",
    "one_line",
    "run_command",
    "stream_through",
]
