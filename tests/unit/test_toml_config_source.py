"""TomlFileConfigSource on real files in a temporary directory."""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import quote

import pytest

from adapters.files.toml_config import TomlFileConfigSource
from ports.errors import ConfigSourceError

SECRET = "s3cr3t-Pa55w0rd-value"

CLIENT_TOML = f"""
client-name = "acme"
postgresql-host = "db.example.org"
postgresql-port = 5432
postgresql-secret = "{SECRET}"
exclude-databases = ["template0", "scratch"]
empty-list = []
verbose = true
quiet = false
ratio = 1.5
since = 2024-01-31
"""


def write_config(directory: Path, text: str, name: str = "client.toml") -> str:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    return f"file://{quote(str(path))}"


def test_values_come_back_as_strings(tmp_path: Path) -> None:
    source = TomlFileConfigSource(write_config(tmp_path, CLIENT_TOML))

    values = source.read(
        [
            "client-name",
            "postgresql-port",
            "postgresql-secret",
            "exclude-databases",
            "empty-list",
            "verbose",
            "quiet",
            "ratio",
            "since",
        ]
    )

    assert values == {
        "client-name": "acme",
        "postgresql-port": "5432",
        "postgresql-secret": SECRET,
        "exclude-databases": "template0,scratch",
        "empty-list": "",
        "verbose": "true",
        "quiet": "false",
        "ratio": "1.5",
        "since": "2024-01-31",
    }


def test_missing_keys_are_left_out(tmp_path: Path) -> None:
    source = TomlFileConfigSource(write_config(tmp_path, CLIENT_TOML))

    assert source.read(["postgresql-host", "storage-key", "key-name"]) == {
        "postgresql-host": "db.example.org"
    }


def test_the_file_is_read_once(tmp_path: Path) -> None:
    url = write_config(tmp_path, CLIENT_TOML)
    source = TomlFileConfigSource(url)
    first = source.read(["client-name"])

    (tmp_path / "client.toml").unlink()

    assert source.read(["client-name"]) == first


def test_a_percent_encoded_path_is_decoded(tmp_path: Path) -> None:
    url = write_config(tmp_path, 'client-name = "acme"\n', name="my client.toml")

    assert "%20" in url
    assert TomlFileConfigSource(url).read(["client-name"]) == {"client-name": "acme"}


def test_a_missing_file_is_one_line_naming_the_path(tmp_path: Path) -> None:
    source = TomlFileConfigSource(f"file://{tmp_path}/absent.toml")

    with pytest.raises(ConfigSourceError) as caught:
        source.read(["client-name"])

    assert str(caught.value) == f"config file {tmp_path}/absent.toml does not exist"


def test_invalid_toml_gives_the_line_but_never_the_content(tmp_path: Path) -> None:
    text = f'client-name = "acme"\npostgresql-secret = {SECRET}\n'
    source = TomlFileConfigSource(write_config(tmp_path, text))

    with pytest.raises(ConfigSourceError) as caught:
        source.read(["client-name"])

    message = str(caught.value)
    assert message.startswith(f"config file {tmp_path}/client.toml is not valid TOML at line 2")
    assert "\n" not in message
    assert SECRET not in message


def test_a_duplicate_key_does_not_echo_the_key(tmp_path: Path) -> None:
    text = f'{SECRET} = "a"\n{SECRET} = "b"\n'
    source = TomlFileConfigSource(write_config(tmp_path, text))

    with pytest.raises(ConfigSourceError, match="line 2") as caught:
        source.read(["anything"])

    assert SECRET not in str(caught.value)


def test_a_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    url = write_config(tmp_path, "")
    (tmp_path / "client.toml").write_bytes(b'client-name = "\xff\xfe"\n')

    with pytest.raises(ConfigSourceError, match="not valid UTF-8"):
        TomlFileConfigSource(url).read(["client-name"])


def test_an_unreadable_file_is_one_line(tmp_path: Path) -> None:
    directory = tmp_path / "client.toml"
    directory.mkdir()

    with pytest.raises(ConfigSourceError, match="cannot read config file") as caught:
        TomlFileConfigSource(f"file://{directory}").read(["client-name"])

    assert "\n" not in str(caught.value)


def test_a_requested_table_is_refused_without_its_content(tmp_path: Path) -> None:
    text = f'[postgresql-secret]\nvalue = "{SECRET}"\n'
    source = TomlFileConfigSource(write_config(tmp_path, text))

    with pytest.raises(ConfigSourceError, match=r"'postgresql-secret'.*table") as caught:
        source.read(["postgresql-secret"])

    assert SECRET not in str(caught.value)


@pytest.mark.parametrize(
    "url", ["https://vault.example/", "file://otherhost/client.toml", "file:client.toml"]
)
def test_urls_that_are_not_local_file_urls_are_refused(url: str) -> None:
    with pytest.raises(ConfigSourceError, match="file:///"):
        TomlFileConfigSource(url).read(["client-name"])


def test_a_file_open_to_others_is_read_with_a_warning_without_values(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = write_config(tmp_path, CLIENT_TOML)
    (tmp_path / "client.toml").chmod(0o644)

    with caplog.at_level(logging.WARNING, logger="lts"):
        values = TomlFileConfigSource(url).read(["postgresql-secret"])

    assert values == {"postgresql-secret": SECRET}
    assert "open to group or others (mode 644)" in caplog.text
    assert SECRET not in caplog.text
    # Under "lts", so the client log and its masking filter get it, never bare stderr.
    assert [record.name for record in caplog.records] == ["lts.files"]


def test_a_private_file_is_read_without_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = write_config(tmp_path, CLIENT_TOML)

    with caplog.at_level(logging.DEBUG):
        TomlFileConfigSource(url).read(["client-name"])

    assert caplog.records == []
