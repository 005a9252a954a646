"""A backup of two databases whose names differ only in case, onto a real Samba share.

The job runs in-process with the real container (real PostgreSQL, real gpg, the userspace SMB
driver); only the share opener is overridden, to reach the test's Samba on its free port. Under
the earlier naming rule this failed: Samba is case-insensitive, `Sales.dump.gpg` and
`sales.dump.gpg` are one file, and one database was never stored.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest
from dependency_injector import providers
from psycopg import sql

from adapters.files.opener import SchemeShareOpener
from adapters.os.logging import close_client_logging
from adapters.smb.share import SmbFileShare
from entrypoints.container import Container, run_job
from entrypoints.requests import BackupJob, ConfigStore
from ports.file_share import ShareTarget
from tests.support.gpg import KeyPair, decrypt, generate_key_pair
from tests.support.jobs import Site, b64
from tests.support.postgres import PostgresServer
from tests.support.samba import SambaServer, samba_server
from tests.support.zstd import unzstd

__all__ = ["samba_server"]

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def key_pair(tmp_path_factory: pytest.TempPathFactory) -> KeyPair:
    return generate_key_pair(tmp_path_factory.mktemp("keys"), "acme", "acme@backup.test", "pass-2")


def test_two_databases_differing_only_in_case_are_both_stored_on_samba(
    tmp_path: Path,
    postgres_server: PostgresServer,
    samba_server: SambaServer,
    key_pair: KeyPair,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    tag = secrets.token_hex(3)
    names = [f"Sales_{tag}", f"sales_{tag}"]
    role, password = f"smb_{tag}", "pw-" + secrets.token_urlsafe(20)
    postgres_server.create_role(role, password, "pg_read_all_data")
    for number, name in enumerate(names):
        postgres_server.create_database(name)
        postgres_server.execute(
            sql.SQL(
                "CREATE TABLE t AS SELECT g AS id, {} AS label FROM generate_series(1, 500) g"
            ).format(sql.Literal(f"row of {number}")),
            dbname=name,
        )
    with postgres_server.connect() as conn:
        rows = conn.execute("SELECT datname FROM pg_database WHERE NOT datistemplate").fetchall()
    others = ",".join(str(row[0]) for row in rows if row[0] not in names)
    unc, backing = samba_server.fresh_folder()
    site = Site(tmp_path)
    url = site.write_client_config(
        "acme",
        {
            "client-name": "acme",
            "postgresql-host": postgres_server.host,
            "postgresql-port": str(postgres_server.port),
            "postgresql-auth": "password",
            "postgresql-user": role,
            "postgresql-secret": password,
            "postgresql-sslmode": "disable",
            "key-name": "acme",
            "public-key": b64(key_pair.public_armored),
            "exclude-databases": others,
            "storage-unc": unc,
            "storage-name": samba_server.user,
            "storage-key": samba_server.password,
            "end-of-month-retention": "400",
            "end-of-year-retention": "3650",
        },
    )
    site.settings = {"share": {"cifs_driver": "smb"}}
    site.write_master_config()
    monkeypatch.setenv("LTS_CONFIG", str(site.config_path))
    request = BackupJob(
        client_name="acme", config=ConfigStore(url=url, client_id="-", client_secret="-"),
        eoy_month=6,
    )  # fmt: skip
    container = Container(request=request)

    def smb(target: ShareTarget) -> SmbFileShare:
        return SmbFileShare(target, redactor=container.redactor(), port=samba_server.port)

    container.share_opener.override(providers.Object(SchemeShareOpener({"cifs": smb})))
    try:
        with pytest.raises(SystemExit) as exited:
            run_job(request, container)
    finally:
        close_client_logging()

    out = capsys.readouterr().out
    assert exited.value.code == 0, out
    [manifest_path] = backing.glob("end-of-*/*/*/manifest.json")
    manifest = json.loads(manifest_path.read_text())
    files = {entry["name"]: entry["file"] for entry in manifest["databases"]}
    assert {entry["status"] for entry in manifest["databases"]} == {"ok"}
    # The default compression (zstd:1) adds `.zst`; the stems follow the file-name rule.
    assert files == {
        f"Sales_{tag}": f"%53ales_{tag}.dump.zst.gpg",
        f"sales_{tag}": f"sales_{tag}.dump.zst.gpg",
    }
    for file in files.values():
        dump = unzstd(decrypt(key_pair, manifest_path.parent / file))
        assert dump.startswith(b"PGDMP")
    assert sorted(p.name for p in manifest_path.parent.iterdir()) == sorted(
        [*files.values(), "globals.sql.zst.gpg", "manifest.json", "SHA256SUMS", "RESTORE.txt"]
    )
