"""What a job left on its host: processes by name, gpg-agents by home, keyrings that decrypt.

Read from /proc, the way an operator (or an attacker on the host) would look.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Proc:
    """A process: pid, parent pid, command name and command line."""

    pid: int
    ppid: int
    name: str
    argv: tuple[str, ...]


def processes() -> list[Proc]:
    """Return every process that can be read now."""
    read = (_read(int(entry.name)) for entry in Path("/proc").iterdir() if entry.name.isdigit())
    return [proc for proc in read if proc is not None]


def descendants(pid: int) -> list[Proc]:
    """Return the live descendants of `pid`."""
    table = processes()
    children: dict[int, list[Proc]] = {}
    for proc in table:
        children.setdefault(proc.ppid, []).append(proc)
    found, pending = [], [pid]
    while pending:
        for child in children.get(pending.pop(), []):
            found.append(child)
            pending.append(child.pid)
    return found


def children_named(pid: int, name: str) -> list[Proc]:
    """Return the live children of `pid` running `name` (by command name or argv[0]).

    Read from each thread's `children` list (a job starts its children from worker threads):
    far cheaper than a walk of /proc, so it can be polled every few milliseconds.
    """
    found = []
    for children in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            pids = [int(text) for text in children.read_text().split()]
        except OSError:
            continue
        for child in pids:
            proc = _read(child)
            if proc and (proc.name == name or (proc.argv and Path(proc.argv[0]).name == name)):
                found.append(proc)
    return found


def _read(pid: int) -> Proc | None:
    """Return one live process, or None when it is gone or a zombie."""
    entry = Path(f"/proc/{pid}")
    try:
        stat = (entry / "stat").read_text()
        argv = (entry / "cmdline").read_bytes().split(b"\0")
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2 :].split()
    if fields[0] == "Z":
        return None
    name = stat[stat.find("(") + 1 : stat.rfind(")")]
    return Proc(pid, int(fields[1]), name, tuple(a.decode() for a in argv if a))


def agents_under(root: Path) -> list[Proc]:
    """Return the gpg-agents whose home directory lies under `root`."""
    return [
        proc
        for proc in processes()
        if proc.name == "gpg-agent" and any(arg.startswith(str(root)) for arg in proc.argv)
    ]


def processes_mentioning(text: str) -> list[Proc]:
    """Return the processes whose command line mentions `text` (a site's root, say)."""
    return [proc for proc in processes() if any(text in arg for arg in proc.argv)]


def decrypts_without_passphrase(homedir: Path, message: Path) -> bool:
    """Tell whether gpg with `homedir` decrypts `message` with no passphrase at hand."""
    argv = ["gpg", "--homedir", str(homedir), "--batch", "--pinentry-mode", "error"]
    env = {"PATH": os.defpath, "HOME": str(homedir), "GNUPGHOME": str(homedir)}
    done = subprocess.run(
        [*argv, "--decrypt", str(message)], capture_output=True, env=env, timeout=60, check=False
    )
    return done.returncode == 0 and bool(done.stdout)
