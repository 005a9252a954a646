"""Run a child at another date with libfaketime preloaded, without the `faketime` wrapper.

The wrapper shares its clock through a POSIX semaphore named after its own pid and refuses to
start when one by that name exists ("sem_open: File exists"). A wrapper killed by a test (the
reliability suite kills whole process groups) leaves its semaphore behind, and a later wrapper
that gets the same pid fails. Preloading the library with FAKETIME set has no shared state.
"""

from __future__ import annotations

import subprocess
import time

# ld.so expands $LIB to the platform's library directory (x86_64-linux-gnu on Debian amd64).
LIBFAKETIME = "/usr/$LIB/faketime/libfaketime.so.1"


def faketime_env(at: str) -> dict[str, str]:
    """Return the environment that makes a child's clock read `at`.

    `at` is either a FAKETIME spec that starts with "@" (the clock starts there and runs) or a
    date `date -d` understands, which becomes the offset from now (as `faketime DATE` does).
    """
    if at.startswith("@"):
        return {"LD_PRELOAD": LIBFAKETIME, "FAKETIME": at}
    offset = int(_date_seconds(at)) - int(time.time())
    return {"LD_PRELOAD": LIBFAKETIME, "FAKETIME": f"{offset:+d}"}


def _date_seconds(when: str) -> str:
    completed = subprocess.run(
        ["date", "-d", when, "+%s"], capture_output=True, text=True, check=True
    )
    return completed.stdout.strip()
