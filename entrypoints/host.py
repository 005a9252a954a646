"""Facts about this host and process that the composition root hands to the domain."""

from __future__ import annotations

import os
import pwd
import re
import socket
from importlib.metadata import PackageNotFoundError, version

from domain.machines.hold import Operator

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def process_owner() -> str:
    """Return `host <name> pid <n>`, written into the share's lock marker."""
    return f"host {socket.gethostname()} pid {os.getpid()}"


def tool_version() -> str:
    """Return the installed version of long-term-storage, recorded in every manifest."""
    try:
        return version("long-term-storage")
    except PackageNotFoundError:
        return "unknown (not installed)"


def probe_name() -> str:
    """Return the check's probe file name at the share root: hidden, unique to this process."""
    host = _UNSAFE.sub("-", socket.gethostname())[:40] or "host"
    return f".lts-check-{host}-{os.getpid()}"


def current_operator() -> Operator:
    """Return who runs this job: the effective user's name and this host's name."""
    uid = os.geteuid()
    try:
        user = pwd.getpwuid(uid).pw_name
    except KeyError:
        user = f"uid {uid}"
    return Operator(user=user, host=socket.gethostname())


def signing_user_id() -> str:
    """Return the user id of a signing key made here: the host that signs, no real mailbox."""
    host = _UNSAFE.sub("-", socket.gethostname())[:40] or "host"
    return f"long-term-storage run signing ({host}) <run-signing@long-term-storage.invalid>"
