"""Private directories: made with mode 0700 whatever the umask (SPEC 15).

A job's own directories (work root, keyrings, logs, locks, mount points) hold keys, plaintext or
the names of a client's databases. `Path.mkdir(parents=True)` gives new parents the umask's mode
(0777 under `umask 000`); here every directory the call makes is 0700. Shared by the adapter
packages that make directories on the job's host (os, gpg, cifs), so the rule exists once.
"""

from __future__ import annotations

from pathlib import Path

PRIVATE_DIR_MODE = 0o700


def make_private_dirs(path: Path) -> None:
    """Create `path` and its missing parents with mode 0700; existing ones are left as they are.

    The mode is set explicitly after each mkdir, because the umask may clear bits of it.
    """
    missing: list[Path] = []
    current = path
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=PRIVATE_DIR_MODE)
        except FileExistsError:
            # Another process made it between our check and mkdir: fine, it exists now.
            continue
        directory.chmod(PRIVATE_DIR_MODE)
