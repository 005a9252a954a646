"""The onboarding adapters on real files: the TOML writer, reading local files, key expiry."""

import stat
from datetime import UTC, datetime

import pytest
from pydantic import SecretStr

from adapters.files.toml_config import TomlFileConfigSource
from adapters.files.toml_writer import TomlFileConfigWriter
from adapters.gpg.listing import parse_listing
from adapters.os.local_files import PrivateLocalFiles
from adapters.os.paths import make_private_dirs
from ports.errors import ConfigSourceError, LocalFileError

TRICKY = 'quote " backslash \\ tab \t newline \n del \x7f é'


def test_a_new_config_is_written_0600_and_reads_back_unchanged(tmp_path):
    url = f"file://{tmp_path}/configs/acme.toml"
    # The composition root passes the OS adapter's 0700 directory maker (adapters stay independent).
    writer = TomlFileConfigWriter(url, make_dirs=make_private_dirs)
    assert not writer.holds_config()
    writer.write({"client-name": "acme", "postgresql-secret": SecretStr(TRICKY)})
    path = tmp_path / "configs" / "acme.toml"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert writer.holds_config()
    values = TomlFileConfigSource(url).read(["client-name", "postgresql-secret"])
    assert values == {"client-name": "acme", "postgresql-secret": TRICKY}
    assert [p.name for p in path.parent.iterdir()] == ["acme.toml"]


def test_an_existing_config_is_never_overwritten(tmp_path):
    path = tmp_path / "acme.toml"
    path.write_text('client-name = "other"\n')
    with pytest.raises(ConfigSourceError, match="already exists; refusing to overwrite it"):
        TomlFileConfigWriter(f"file://{path}").write({"client-name": "acme"})
    assert path.read_text() == 'client-name = "other"\n'
    assert [p.name for p in tmp_path.iterdir()] == ["acme.toml"]


def test_overwrite_replaces_a_config(tmp_path):
    path = tmp_path / "acme.toml"
    path.write_text("x = 1\n")
    TomlFileConfigWriter(f"file://{path}").write({"client-name": "acme"}, overwrite=True)
    assert TomlFileConfigSource(f"file://{path}").read(["client-name"]) == {"client-name": "acme"}


@pytest.mark.parametrize("url", ["file://host/x.toml", "file://relative", "file:///dir/"])
def test_a_url_that_names_no_local_file_is_refused(url):
    with pytest.raises(ConfigSourceError):
        TomlFileConfigWriter(url).holds_config()


def test_a_key_that_toml_cannot_hold_bare_is_refused(tmp_path):
    with pytest.raises(ConfigSourceError, match="cannot be a TOML key"):
        TomlFileConfigWriter(f"file://{tmp_path}/a.toml").write({"a key": "x"})
    assert list(tmp_path.iterdir()) == []


def test_a_local_file_is_read_in_chunks(tmp_path):
    path = tmp_path / "big.bin"
    path.write_bytes(b"x" * (3 * 1024 * 1024 + 5))
    chunks = list(PrivateLocalFiles(tmp_path / "work").read_chunks(path))
    assert [len(c) for c in chunks] == [1024 * 1024] * 3 + [5]


def test_reading_a_missing_file_a_directory_or_a_symlink_fails_with_one_line(tmp_path):
    files = PrivateLocalFiles(tmp_path / "work")
    (tmp_path / "target").write_text("x")
    (tmp_path / "link").symlink_to(tmp_path / "target")
    for path, reason in (
        (tmp_path / "missing", "No such file"),
        (tmp_path, "is not a regular file"),
        (tmp_path / "link", "Too many levels of symbolic links"),
    ):
        with pytest.raises(LocalFileError, match=reason):
            list(files.read_chunks(path))


LISTING = """\
pub:u:255:22:AAAA:1700000000:{primary}::u:::scESC:::::ed25519:::0:
fpr:::::::::AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA:
uid:u::::1700000000::X::acme <acme@x.test>::::::::::0:
sub:{sub_validity}:255:18:BBBB:1700000000:{sub}:::::e:::::cv25519::
fpr:::::::::BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB:
"""


@pytest.mark.parametrize(
    ("primary", "sub", "sub_validity", "expires"),
    [
        ("", "", "u", None),
        ("1800000000", "", "u", 1800000000),
        ("", "1750000000", "u", 1750000000),
        ("1800000000", "1750000000", "u", 1750000000),
        ("1800000000", "1900000000", "u", 1800000000),
        ("", "1750000000", "e", None),
    ],
)
def test_a_key_stops_encrypting_when_its_primary_or_its_last_encryption_subkey_expires(
    primary, sub, sub_validity, expires
):
    text = LISTING.format(primary=primary, sub=sub, sub_validity=sub_validity)
    key = parse_listing(text)[0]
    assert key.encryption_expires == expires
    if expires is not None:
        assert datetime.fromtimestamp(expires, UTC).year in (2025, 2027, 2030)
