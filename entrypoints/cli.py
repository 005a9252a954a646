"""The `lts` command: `lts <job> [arguments]` runs `entrypoints.<job>`."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

from adapters.os.signals import hold_stop_signals
from domain.models.text import printable

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
    if argv is None:
        # Run as the `lts` program: hold the stop signals before the job's slow imports.
        hold_stop_signals()
    arguments = list(sys.argv[1:] if argv is None else argv)
    if not arguments or arguments[0] in ("-h", "--help"):
        listing = "\n".join(f"  {name:<16} {text}" for name, text in JOBS.items())
        sys.stderr.write(f"usage: lts <job> [arguments]\n\njobs:\n{listing}\n")
        raise SystemExit(0)
    job = arguments[0].replace("-", "_")
    if job not in JOBS:
        # Bad input is one line and exit 2, as every job's own argument errors.
        sys.stderr.write(
            f"lts: error: unknown job {printable(arguments[0])!r} "
            f"(jobs: {', '.join(JOBS)}; lts --help describes them)\n"
        )
        raise SystemExit(2)
    module = importlib.import_module(f"entrypoints.{job}")
    module.main(arguments[1:])


if __name__ == "__main__":
    main()
