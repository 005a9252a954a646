"""The `lts` command: `lts <job> [arguments]` runs `entrypoints.<job>`."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

JOBS = {
    "backup": "back up every database of a client",
    "retention": "delete a client's runs past their retention (--dry-run to preview)",
    "list": "show a client's runs",
    "restore": "restore one database of a run into a target database",
    "decrypt": "decrypt one stored dump into a local 0600 file (or plain SQL)",
    "verify": "check stored runs against their manifests (and decrypt them)",
    "check": "onboarding and freshness check of a client",
    "create_client": "onboard a client: key pair, configs, share folders, then check",
    "archive": "copy one file onto the share, encrypted",
    "rekey": "re-encrypt a client's runs to its current public key",
    "generate_key": "write a new Fernet key file",
    "encrypt_secret": "turn a secret into a command-line token",
    "diagram": "write the machines' diagrams to docs/machines",
    "hold": "put a run on legal hold with a reason",
    "release": "release a run from legal hold, with a reason",
    "report": "one read-only report (JSON and a static page) over a fleet of clients",
    "drill": "restore a run into scratch databases, compare row counts, drop them",
}


def main(argv: Sequence[str] | None = None) -> None:
    """Dispatch to a job's `main`."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    job = arguments[0].replace("-", "_") if arguments else ""
    if job not in JOBS:
        listing = "\n".join(f"  {name:<16} {text}" for name, text in JOBS.items())
        sys.stderr.write(f"usage: lts <job> [arguments]\n\njobs:\n{listing}\n")
        raise SystemExit(0 if job in ("", "-h", "__help") else 2)
    module = importlib.import_module(f"entrypoints.{job}")
    module.main(arguments[1:])


if __name__ == "__main__":
    main()
