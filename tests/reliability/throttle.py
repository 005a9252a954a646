"""Run a command and pass its standard output on slowly: a tool that takes its time.

`python throttle.py BYTES_PER_SECOND COMMAND ARGS...` (or `--sleep SECONDS COMMAND ARGS...`,
which waits and then becomes the command, keeping its pid). Test wrappers `exec` it in place of a
real tool, so the job's child stays one process that alone holds the job's pipes: killing it
closes them at once, and the real tool behind it dies of a broken pipe.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

TICK_SECONDS = 0.05


def main(argv: list[str]) -> int:
    """Throttle (or delay) the command in `argv`; return its exit status."""
    if argv[0] == "--sleep":
        time.sleep(float(argv[1]))
        os.execv(argv[2], argv[2:])  # noqa: S606 - the test's own command line
    rate = int(argv[0])
    chunk = max(1, int(rate * TICK_SECONDS))
    # close_fds=False: the tool may read a passphrase from a descriptor its caller passed.
    child = subprocess.Popen(argv[1:], stdout=subprocess.PIPE, close_fds=False)
    assert child.stdout is not None
    out = sys.stdout.buffer
    while data := child.stdout.read(chunk):
        out.write(data)
        out.flush()
        time.sleep(TICK_SECONDS)
    return child.wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
