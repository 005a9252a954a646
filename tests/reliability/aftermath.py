"""What must hold on a site after a job was stopped or killed and the next one has run.

No published run is incomplete (its manifest, sums and files agree), no `.partial` of a dead run
stays, no keyring, gpg-agent, claim or plaintext is left in the work root or beside a decrypt's
output, and the share marker and the local lock are free. Each check returns the problems it
found (empty when all is well), so a campaign can report them all at once.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

from tests.reliability.host import agents_under, decrypts_without_passphrase
from tests.reliability.world import RecordedSite, flock_is_free, partial_debris, published_runs

SHARE_LOCK = ".lts-lock.json"


def run_problems(run: Path) -> list[str]:
    """Return what is wrong with one published run (nothing, for an intact run)."""
    manifest_path = run / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, ValueError) as exc:
        return [f"{run}: no readable manifest ({exc})"]
    problems = []
    entries = [*manifest["databases"], *([manifest["globals"]] if manifest.get("globals") else [])]
    for entry in entries:
        if entry["status"] != "ok":
            continue
        stored = run / entry["file"]
        if not stored.is_file():
            problems.append(f"{run}: {entry['file']} is missing")
            continue
        data = stored.read_bytes()
        if len(data) != entry["bytes"] or hashlib.sha256(data).hexdigest() != entry["sha256"]:
            problems.append(f"{run}: {entry['file']} does not match its manifest")
    sums = subprocess.run(
        ["sha256sum", "--quiet", "-c", "SHA256SUMS"], cwd=run, capture_output=True, check=False
    )
    if sums.returncode != 0:
        problems.append(f"{run}: sha256sum -c fails: {sums.stdout!r} {sums.stderr!r}")
    for name in ("SHA256SUMS", "RESTORE.txt"):
        if not (run / name).is_file():
            problems.append(f"{run}: {name} is missing")
    return problems


def share_problems(
    site: RecordedSite, *, partial_allowed: bool = False, checked: set[Path] | None = None
) -> list[str]:
    """Return what is wrong on the share: incomplete runs, partial debris, a marker left.

    Runs in `checked` were found intact before (a published run never changes) and are skipped;
    the runs found intact now are added to it.
    """
    problems = []
    for run in published_runs(site.share):
        if checked is not None and run in checked:
            continue
        found = run_problems(run)
        problems += found
        if checked is not None and not found:
            checked.add(run)
    if not partial_allowed:
        problems += [f"partial debris left: {path}" for path in partial_debris(site.share)]
    if (site.share / SHARE_LOCK).exists():
        problems.append(f"the share marker is still there: {(site.share / SHARE_LOCK).read_text()}")
    return problems


def host_problems(site: RecordedSite, outputs: Path | None = None) -> list[str]:
    """Return what a job left on the host: work root entries, agents, partial outputs, the lock."""
    work = site.root / "work"
    problems = [f"left in the work root: {path.name}" for path in sorted(work.iterdir())]
    problems += [f"gpg-agent still runs: {agent.argv}" for agent in agents_under(site.root)]
    if outputs is not None:
        problems += [f"partial output left: {path}" for path in sorted(outputs.glob(".*.partial"))]
    lock = site.root / "locks" / "acme.lock"
    if lock.exists() and not flock_is_free(lock):
        problems.append("the local lock is held")
    return problems


def keyring_problems(site: RecordedSite, message: Path) -> list[str]:
    """Return the leftover keyrings (and their agents) that decrypt without a passphrase."""
    work = site.root / "work"
    return [
        f"{home} decrypts {message.name} without the passphrase"
        for home in sorted(work.glob("gnupg-*"))
        if home.is_dir() and decrypts_without_passphrase(home, message)
    ]
