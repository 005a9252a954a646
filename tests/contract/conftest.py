"""Fixtures that build every FileShare adapter the contract runs against.

Each adapter is one fixture named in SHARE_FIXTURES; `share` runs a test once per name. To add an
adapter (SmbFileShare against a real Samba server, say), write its fixture here (it may depend on
session fixtures that start servers, and must return a mounted, empty share) and append
`pytest.param("smb_share", marks=pytest.mark.integration)` to SHARE_FIXTURES.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from adapters.files.local_share import LocalDirFileShare
from adapters.memory.file_share import InMemoryFileShare
from adapters.smb.share import SmbFileShare
from domain.models.redaction import Redactor
from ports.file_share import FileShare, ShareTarget
from tests.support.samba import SambaServer, samba_server

__all__ = ["samba_server"]

SHARE_FIXTURES = [
    pytest.param("memory_share", id="memory"),
    pytest.param("local_share", id="local"),
    pytest.param("smb_share", id="smb", marks=pytest.mark.integration),
]


@pytest.fixture
def memory_share() -> FileShare:
    share = InMemoryFileShare()
    share.mount()
    return share


@pytest.fixture
def local_share(tmp_path: Path) -> Iterator[FileShare]:
    root = tmp_path / "share"
    root.mkdir()
    share = LocalDirFileShare(root)
    share.mount()
    yield share
    share.unmount()


@pytest.fixture
def smb_share(samba_server: SambaServer) -> Iterator[FileShare]:
    """Return an SmbFileShare on a fresh folder of the session's real Samba server."""
    unc, _ = samba_server.fresh_folder()
    target = ShareTarget("acme", unc, samba_server.user, SecretStr(samba_server.password))
    share = SmbFileShare(target, redactor=Redactor(), port=samba_server.port)
    share.mount()
    yield share
    share.unmount()


@pytest.fixture(params=SHARE_FIXTURES)
def share(request: pytest.FixtureRequest) -> FileShare:
    """Return a fresh, mounted, empty share of each adapter in turn."""
    built: FileShare = request.getfixturevalue(request.param)
    return built
