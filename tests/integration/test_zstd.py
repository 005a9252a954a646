"""The zstd stages and ZstdDecompressor with the real binary (adapters/process/zstd.py)."""

from __future__ import annotations

import hashlib
import os

import pytest

from adapters.process import ProcessStream, Stage
from adapters.process.zstd import ZstdDecompressor, compress_stage, decompress_stage, zstd_version
from domain.models.redaction import Redactor
from ports.errors import CompressionError, DecryptionError
from tests.support.zstd import ZSTD_MAGIC

pytestmark = pytest.mark.integration

ENV = {"PATH": "/usr/bin:/bin", "LC_ALL": "C"}
MIB = 1024 * 1024


class ToolError(Exception):
    """What the test stages raise."""


def producer(script: str) -> Stage:
    return Stage(("sh", "-c", script), ENV, "sh", lambda f: ToolError(f.message))


def compressed(script: str, level: int = 3, threads: int = 2) -> ProcessStream:
    """`sh -c script | zstd -LEVEL -T<threads>` as one stream."""
    zstd = compress_stage(level, threads, ENV, lambda f: ToolError(f.message), Redactor())
    return ProcessStream([producer(script)]).then(zstd)


def test_a_stream_compressed_by_zstd_decompresses_to_the_same_bytes():
    # Text-like data, several MiB: zstd's multi-threaded mode splits it into jobs.
    script = (
        "i=0; while [ $i -lt 60000 ]; do echo row $i value $((i * 7919 % 1000)); i=$((i+1)); done"
    )
    plain = b"".join(ProcessStream([producer(script)]))
    data = b"".join(compressed(script, level=1, threads=2))

    assert data.startswith(ZSTD_MAGIC)
    assert len(data) < len(plain) / 3
    back = b"".join(ZstdDecompressor(redactor=Redactor(), base_env=ENV).decompress([data]))
    assert hashlib.sha256(back).digest() == hashlib.sha256(plain).digest()


def test_decompression_reads_the_previous_child_through_a_pipe():
    stream = compressed("head -c 3000000 /dev/zero")
    decompressor = ZstdDecompressor(redactor=Redactor(), base_env=ENV)

    plain = decompressor.decompress(stream)

    assert isinstance(plain, ProcessStream)
    assert [stage.tool for stage in plain.stages] == ["sh", "zstd", "zstd"]
    assert sum(len(chunk) for chunk in plain) == 3_000_000


def test_data_that_is_not_zstd_fails_with_one_line_naming_zstd():
    decompressor = ZstdDecompressor(redactor=Redactor(), base_env=ENV)

    with pytest.raises(CompressionError) as caught:
        b"".join(decompressor.decompress([b"this is not a zstd frame" * 100]))

    message = str(caught.value)
    assert message.startswith("zstd failed to decompress (exit 1): ")
    assert "\n" not in message


def test_a_truncated_zstd_stream_fails():
    data = b"".join(compressed("head -c 2000000 /dev/urandom"))
    decompressor = ZstdDecompressor(redactor=Redactor(), base_env=ENV)

    with pytest.raises(CompressionError, match="zstd failed to decompress"):
        b"".join(decompressor.decompress([data[: len(data) // 2]]))


def test_the_compressed_streams_own_failure_is_raised_as_it_is():
    def broken():
        yield b"partial"
        raise DecryptionError("gpg failed to decrypt (exit 2): Bad session key")

    decompressor = ZstdDecompressor(redactor=Redactor(), base_env=ENV)

    with pytest.raises(DecryptionError, match="Bad session key"):
        b"".join(decompressor.decompress(broken()))


def test_the_version_is_read_from_the_binary():
    version = ZstdDecompressor(redactor=Redactor(), base_env=ENV).version()

    assert version == zstd_version(ENV)
    assert [part.isdigit() for part in version.split(".")] == [True, True, True]


def test_a_missing_zstd_says_how_to_install_it(tmp_path):
    decompressor = ZstdDecompressor(redactor=Redactor(), base_env={"PATH": str(tmp_path)})

    with pytest.raises(CompressionError) as caught:
        decompressor.version()

    assert str(caught.value) == (
        "cannot run zstd: No such file or directory; zstd compresses and decompresses dumps: "
        "install it (Debian package zstd)"
    )


def test_the_stages_take_only_the_environment_they_are_given(monkeypatch):
    # A level or thread count in the job's own environment must not change what zstd does.
    monkeypatch.setenv("ZSTD_CLEVEL", "19")
    monkeypatch.setenv("ZSTD_NBTHREADS", "64")
    stage = compress_stage(3, 2, ENV, ToolError, Redactor())

    assert tuple(stage.argv) == ("zstd", "-3", "-T2", "-q", "-c", "--no-progress")
    assert dict(stage.env) == ENV
    assert tuple(decompress_stage(ENV, ToolError, Redactor()).argv) == (
        "zstd",
        "-d",
        "-q",
        "-c",
        "--no-progress",
    )
    assert "ZSTD_CLEVEL" in os.environ
