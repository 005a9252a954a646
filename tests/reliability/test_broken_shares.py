"""Shares that break: full, read-only, and a CIFS mount that is refused.

The full and read-only shares are real file systems mounted as root (a 2 MiB tmpfs, a read-only
bind mount); without root the tests are skipped with that reason. The refused mount uses a
stand-in `mount` on the job's PATH, as the kernel CIFS client cannot run here.
"""

from __future__ import annotations

import json
import secrets

import pytest

from adapters.files.local_share import LocalDirFileShare
from tests.reliability.conftest import MakeSite
from tests.reliability.world import (
    SPY,
    Cluster,
    captured,
    client_values,
    failing_mount_dir,
    mounted,
    partial_debris,
    path_with,
    pg_bin_dir,
    published_runs,
    snapshot,
)
from tests.support.gpg import KeyPair
from tests.support.seeding import at, seed_run

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_a_full_share_fails_each_database_that_does_not_fit_and_publishes_no_partial_file(
    make_site: MakeSite, cluster: Cluster, key_pair: KeyPair
) -> None:
    site = make_site(cluster.password)
    bin_dir = pg_bin_dir(site.root, cluster.server, site, SPY)
    site.configure(backup={"pg_bin_dir": str(bin_dir)})
    url = site.write_client_config("acme", client_values(cluster, key_pair, site.share))

    with mounted(site.share, "size=2m", "mode=0700"):
        result = site.run("backup", "acme", "6", url, "-", "-")
        site.remember_share()
        runs = published_runs(site.share)
        debris = partial_debris(site.share)
        manifest = json.loads((runs[0] / "manifest.json").read_text()) if runs else {}

    assert result.code == 1, result.stdout + result.stderr
    [failure] = result.failures
    assert failure.startswith(f"Failure: dump_database acme 127.0.0.1 {cluster.big} ")
    assert "No space left on device" in failure
    assert result.stderr == ""
    assert debris == []
    assert len(runs) == 1
    statuses = {entry["name"]: entry["status"] for entry in manifest["databases"]}
    assert statuses == {cluster.big: "failed", **dict.fromkeys(cluster.small, "ok")}


def test_a_read_only_share_is_a_clean_one_line_failure_and_loses_nothing(
    make_site: MakeSite, cluster: Cluster, key_pair: KeyPair
) -> None:
    site = make_site(cluster.password)
    bin_dir = pg_bin_dir(site.root, cluster.server, site, SPY)
    site.configure(backup={"pg_bin_dir": str(bin_dir)})
    url = site.write_client_config("acme", client_values(cluster, key_pair, site.share))
    seed_run(LocalDirFileShare(site.share), at(2026, 1), statuses={cluster.small[0]: "ok"})
    before = snapshot(site.share)

    with mounted(site.share, bind=True):
        result = site.run("backup", "acme", "6", url, "-", "-")

    assert result.code == 1, result.stdout + result.stderr
    assert result.failures == [f"Failure: mount_share acme share root {site.share} is not writable"]
    assert result.stderr == ""
    assert captured(site, "pg_dump", "dump") == [], "nothing was dumped for nowhere"
    assert snapshot(site.share) == before


def test_a_refused_cifs_mount_is_one_failure_exit_one_and_no_dump_is_attempted(
    make_site: MakeSite, cluster: Cluster, key_pair: KeyPair
) -> None:
    storage_key = "storage-key-" + secrets.token_urlsafe(24)
    site = make_site(cluster.password, storage_key)
    bin_dir = pg_bin_dir(site.root, cluster.server, site, SPY)
    site.configure(backup={"pg_bin_dir": str(bin_dir)}, share={"cifs_driver": "mount"})
    values = client_values(cluster, key_pair, site.share)
    values.update(
        {
            "storage-unc": "//files.acme.test/backups",
            "storage-name": "acmestorage",
            "storage-key": storage_key,
        }
    )
    url = site.write_client_config("acme", values)
    fakes = failing_mount_dir(site.root, site)

    result = site.run("backup", "acme", "6", url, "-", "-", env=path_with(fakes))

    point = site.root / "mnt" / "acme"
    assert result.code == 1, result.stdout + result.stderr
    assert result.failures == [
        f"Failure: mount_share acme cannot mount //files.acme.test/backups at {point}: "
        "mount error(13): Permission denied; "
        "Refer to the mount.cifs(8) manual page (e.g. man mount.cifs)"
    ]
    assert result.stderr == ""
    assert len(captured(site, "mount", "argv")) == 1
    assert captured(site, "umount", "argv") == [], "nothing was mounted, nothing is unmounted"
    assert captured(site, "pg_dump", "argv") == [], "pg_dump never ran"
    assert not any(path.is_file() for path in (site.root / "mnt").rglob("*"))
