"""Figure i: the rekey job vs the raw `gpg --decrypt | gpg --encrypt` pipeline it replaces.

One run of the >= 1 GiB database (its custom-format dump, ~300 MiB encrypted, plus the globals)
is made by the backup job once (not timed). Then, alternating, `--repeat` rounds of:

- baseline: raw re-encryption, `gpg --decrypt old | gpg --encrypt -r NEW > new` (the same gpg
  options as the job), nothing checked;
- raw with the job's checks: the same pipeline with the plaintext's sha256 taken on the way
  (`tee >(sha256sum)`), then the new file decrypted again and its plaintext's sha256 compared;
- the rekey job as the scheduler runs it (`python -m entrypoints.rekey ... --run all`), which
  also loads both private keys, proves the new key, writes and switches the manifest, SHA256SUMS
  and RESTORE.txt, removes the old files and appends to rekey.jsonl. Each round moves the run to
  the other key, so every round re-encrypts the whole run.

Both keys are unprotected, like the lab's: a passphrase would add gpg-agent's S2K per private-key
operation to the job and to gpg alike. The figure is best of each; the ratio that matters is the
job against the raw pipeline that checks as much.
"""

from __future__ import annotations

import argparse
import json
import time
import tomllib
from collections.abc import Sequence
from pathlib import Path

from bench.figure import parser, run_figure, table
from bench.lab import (
    BIG,
    CLIENT,
    EOY_MONTH,
    JOB_TIMEOUT_SECONDS,
    SMALL,
    BenchError,
    Lab,
    Timing,
    children_cpu,
    quote,
)
from bench.results import mib, seconds
from tests.support.gpg import KeyPair, generate_key_pair, stop_agent
from tests.support.jobs import Site, b64

FIGURE = "rekey"
GPG_OPTIONS = "--batch --no-tty --trust-model always --compress-algo none --cipher-algo AES256"


def pipelines(old: KeyPair, new: KeyPair, source: Path, target: Path) -> dict[str, str]:
    """Return the two raw baselines re-encrypting `source` (to `old`) into `target` (to `new`)."""
    decrypt_old = f"gpg --homedir {quote(old.homedir)} --batch --decrypt {quote(source)}"
    encrypt_new = (
        f"gpg --homedir {quote(new.homedir)} {GPG_OPTIONS} --no-autostart --encrypt "
        f"--recipient {new.fingerprint} --output -"
    )
    decrypt_new = f"gpg --homedir {quote(new.homedir)} --batch --decrypt {quote(target)}"
    sums = target.with_suffix(".sha")
    checked = (
        f"{decrypt_old} | tee >(sha256sum > {quote(sums)}.a) | {encrypt_new} > {quote(target)}"
        # The process substitution ends on its own: wait for it before comparing.
        f" && {decrypt_new} | sha256sum > {quote(sums)}.b && wait $!"
        f" && cmp {quote(sums)}.a {quote(sums)}.b"
    )
    return {
        "baseline: raw `gpg --decrypt \\| gpg --encrypt`": f"{decrypt_old} | {encrypt_new} > "
        f"{quote(target)}",
        "raw, with the job's checks (plaintext sha256, decrypt again)": checked,
    }


def write_configs(site: Site, url: str, keys: tuple[KeyPair, KeyPair]) -> list[str]:
    """Write a backup config per key and the two-key restore config; return their URLs."""
    values = tomllib.loads(Path(url.removeprefix("file://")).read_text())
    urls = []
    for number, pair in enumerate(keys):
        values.update({"public-key": b64(pair.public_armored), "key-name": pair.fingerprint})
        urls.append(site.write_client_config(f"{CLIENT}-key{number}", values))
    secret = b"".join(pair.secret_armored for pair in keys)
    urls.append(
        site.write_client_config(
            f"{CLIENT}-restore", {"private-key": b64(secret), "private-key-passphrase": ""}
        )
    )
    return urls


def measure(lab: Lab, args: argparse.Namespace) -> list[str]:
    """Back the database up once, then time the baselines and the job, alternating."""
    spec = SMALL if args.database == "small" else BIG
    size = lab.database(spec)
    site = lab.site(FIGURE, {"worker_pool_size": 1})
    url = lab.client_url(site, [spec.name])
    made = site.run("backup", CLIENT, EOY_MONTH, url, "-", "-", timeout=JOB_TIMEOUT_SECONDS)
    if made.code != 0:
        raise BenchError(f"the backup failed: {made.stdout} {made.stderr[-2000:]}")
    new = generate_key_pair(lab.root / "keys-new", CLIENT, f"{CLIENT}-new@backup.test", None)
    keys = (lab.key_pair, new)
    try:
        *backup_urls, restore = write_configs(site, url, keys)
        scratch = lab.scratch(FIGURE)
        times: dict[str, list[Timing]] = {}
        for _ in range(args.repeat):
            # Each round moves the run to the other key: read where it is now.
            [manifest_path] = site.share.rglob("manifest.json")
            manifest = json.loads(manifest_path.read_text())
            dump = next(
                manifest_path.parent / record["file"]
                for record in manifest["databases"]
                if record["name"] == spec.name
            )
            current = 0 if manifest["key_fingerprint"] == keys[0].fingerprint else 1
            old, target = keys[current], keys[1 - current]
            for name, script in pipelines(old, target, dump, scratch / "new.gpg").items():
                (scratch / "new.gpg").unlink(missing_ok=True)
                took = lab.shell(f"set -e; {script}", {"PATH": "/usr/bin:/bin"})
                times.setdefault(name, []).append(took)
                print(f"  {name} {took}", flush=True)
            cpu, began = children_cpu(), time.perf_counter()
            result = site.run(
                "rekey",
                CLIENT,
                backup_urls[1 - current],
                "-",
                "-",
                "--restore-vault",
                restore,
                "--run",
                "all",
                timeout=JOB_TIMEOUT_SECONDS,
            )
            took = Timing(time.perf_counter() - began, children_cpu() - cpu)
            if result.code != 0 or "1 runs re-encrypted" not in result.stdout:
                raise BenchError(f"rekey failed: {result.stdout} {result.stderr[-2000:]}")
            times.setdefault("rekey job (`python -m entrypoints.rekey --run all`)", []).append(took)
            print(f"  rekey job {took}", flush=True)
    finally:
        stop_agent(new.homedir)
    stored = sum(path.stat().st_size for path in site.share.rglob("*.gpg"))
    checked = min(t.wall for t in list(times.values())[1])
    rows = [
        [
            name,
            seconds(min(t.wall for t in runs)),
            ", ".join(seconds(t.wall) for t in runs),
            seconds(min(t.cpu for t in runs)),
            f"{min(t.wall for t in runs) / checked:.2f}",
        ]
        for name, runs in times.items()
    ]
    job = min(t.wall for t in list(times.values())[2])
    return [
        "## i. Rekey job vs raw `gpg --decrypt | gpg --encrypt`",
        f"Database `{spec.name}`: {spec.describe()}; pg_database_size {mib(size)}; the run stores "
        f"{mib(stored)} (its dump and globals).",
        "Same gpg, same options (AES256, `--compress-algo none`), unprotected keys, same file "
        "system. The job re-encrypts every file of the run, decrypts each new file again and "
        "compares the plaintext's sha256, then switches the manifest.",
        "",
        *table(
            [
                "measure",
                f"best of {args.repeat} (s)",
                "all runs (s)",
                "least CPU (s)",
                "ratio to raw with checks",
            ],
            rows,
        ),
        "",
        f"**Ratio job / raw with the same checks (wall, best of each): {job / checked:.2f}**.",
    ]


def main(argv: Sequence[str], lab: Lab | None = None) -> int:
    """Run figure i; write its section of RESULTS.md unless `--no-write`."""
    options = parser(FIGURE, __doc__)
    options.add_argument("--repeat", type=int, default=3, help="rounds (default 3)")
    options.add_argument(
        "--database", choices=["big", "small"], default="big", help="the >= 1 GiB one or 100 MiB"
    )
    return run_figure(FIGURE, argv, options, measure, lab)
