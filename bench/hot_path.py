"""Figure k: the job's hot path, storing a child's output on the share while hashing it.

What the job does with gpg's output is the only work on the data that happens in Python: read
it from the pipe, sha256 it, write it to the share. The figure stores the same data (random
bytes, like gpg's output, from a file in the page cache, written by a `cat` child) into a file
on the same file system, and checks that the sha256 computed on the way is the sha256 of exactly
what was stored. Variants, alternating in one run, best of `--repeat`:

  (a) iteration: a new `bytes` per read, hashed and written (how the job stored before);
  (b) readinto: one reusable buffer, hashed from a memoryview and written from it, the job's
      path today (`LocalDirFileShare.write_stream` reading a `ProcessStream` into its buffer);
  (c) splice: the kernel moves the pipe's pages into the file, the job reads them back (pread,
      page cache) to hash what the file now holds;
  (d) tee + splice: `tee(2)` duplicates the pipe's pages into a second pipe that Python reads to
      hash, while `splice(2)` moves the originals into the file (Python has no `os.tee`: ctypes).

CPU is this process's (user + system), the cost the job adds on top of the children's. A second
table measures the relay that checks pg_dump's first bytes on their way to zstd (relay.py):
`cat | cat > /dev/null` connected directly against the same through the relay.
"""

from __future__ import annotations

import argparse
import ctypes
import fcntl
import hashlib
import os
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from pathlib import Path
from pathlib import PurePosixPath as P

from adapters.files.local_share import LocalDirFileShare
from adapters.process import ProcessStream, Stage
from bench.figure import table
from bench.results import command, measured_on, mib, publish, seconds

FIGURE = "hot-path"
ENV = {"PATH": "/usr/bin:/bin", "LC_ALL": "C"}
MIB = 1024 * 1024
PIPE_SIZE = MIB


class BenchChildError(Exception):
    """A child of the figure failed."""


def cat(path: Path, **options: object) -> Stage:
    """Return a stage writing `path` to its stdout."""
    return Stage(("cat", str(path)), ENV, "cat", BenchChildError, **options)  # type: ignore[arg-type]


def store_iterating(source: Path, root: Path) -> str:
    """(a) iterate the child's output and store it through the share (a new bytes per read)."""
    stream = ProcessStream([cat(source)])
    chunks: Iterator[bytes] = (chunk for chunk in stream)
    return LocalDirFileShare(root).write_stream(P("out.bin"), chunks).sha256


def store_reading_into(source: Path, root: Path) -> str:
    """(b) the job's path: the share reads the child's output into its reusable buffer."""
    stream = ProcessStream([cat(source)])
    return LocalDirFileShare(root).write_stream(P("out.bin"), stream).sha256


def _child_pipe(source: Path) -> tuple[subprocess.Popen[bytes], int]:
    process = subprocess.Popen(["cat", str(source)], stdout=subprocess.PIPE, bufsize=0)
    assert process.stdout is not None
    fd = process.stdout.fileno()
    fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_SIZE)
    return process, fd


def store_splicing(source: Path, root: Path) -> str:
    """(c) splice pipe -> file, then pread the stored bytes back from the page cache to hash."""
    process, fd = _child_pipe(source)
    digest = hashlib.sha256()
    buffer = bytearray(MIB)
    view = memoryview(buffer)
    out = os.open(root / "out.bin", os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
    offset = 0
    try:
        while moved := os.splice(fd, out, MIB):
            got = 0
            while got < moved:
                got += os.preadv(out, [view[got:moved]], offset + got)
            digest.update(view[:moved])
            offset += moved
        os.fsync(out)
    finally:
        os.close(out)
        process.wait()
    return digest.hexdigest()


_LIBC = ctypes.CDLL(None, use_errno=True)
_LIBC.tee.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_size_t, ctypes.c_uint]
_LIBC.tee.restype = ctypes.c_ssize_t


def store_teeing(source: Path, root: Path) -> str:
    """(d) tee the pipe into a second one that Python hashes; splice the original into the file."""
    process, fd = _child_pipe(source)
    digest = hashlib.sha256()
    copy_read, copy_write = os.pipe()
    fcntl.fcntl(copy_write, fcntl.F_SETPIPE_SZ, PIPE_SIZE)
    buffer = bytearray(MIB)
    view = memoryview(buffer)
    out = os.open(root / "out.bin", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        while True:
            teed = _LIBC.tee(fd, copy_write, MIB, 0)
            if teed < 0:
                raise OSError(ctypes.get_errno(), "tee failed")
            if teed == 0:
                break
            left = teed
            while left:
                left -= os.splice(fd, out, left)
            left = teed
            while left:
                got = os.readv(copy_read, [view[:left]])
                digest.update(view[:got])
                left -= got
        os.fsync(out)
    finally:
        for descriptor in (out, copy_read, copy_write):
            os.close(descriptor)
        process.wait()
    return digest.hexdigest()


VARIANTS: dict[str, Callable[[Path, Path], str]] = {
    "(a) iteration: new bytes per read": store_iterating,
    "(b) readinto one buffer (the job)": store_reading_into,
    "(c) splice, pread back to hash": store_splicing,
    "(d) tee + splice, hash the tee": store_teeing,
}


def relay_pipeline(source: Path, *, relayed: bool) -> None:
    """Run `cat source | cat > /dev/null`, the first stage checked (relayed) or not."""
    first = cat(source, magic=b"", require_output=True) if relayed else cat(source)
    sink = Stage(("sh", "-c", "cat > /dev/null"), ENV, "sink", BenchChildError)
    stream = ProcessStream([first, sink])
    for _ in stream:
        pass


def timed(action: Callable[[], object]) -> tuple[float, float, object]:
    """Run `action`; return its wall time, this process's CPU time, and its result."""
    before, began = os.times(), time.perf_counter()
    result = action()
    after = os.times()
    return (
        time.perf_counter() - began,
        after.user - before.user + after.system - before.system,
        result,
    )


def measure(args: argparse.Namespace) -> list[str]:
    """Time every variant, alternating, and the relay; check every hash."""
    with tempfile.TemporaryDirectory(prefix="lts-hot-path-", dir=args.directory) as scratch:
        root = Path(scratch)
        source = root / "source.bin"
        with source.open("wb") as file:
            for _ in range(args.mebibytes):
                file.write(os.urandom(MIB))
        expected = hashlib.sha256(source.read_bytes()).hexdigest()
        store = root / "share"
        store.mkdir()
        runs: dict[str, list[tuple[float, float]]] = {name: [] for name in VARIANTS}
        for _ in range(args.repeat):
            for name, variant in VARIANTS.items():
                wall, cpu, digest = timed(partial(variant, source, store))
                stored = hashlib.sha256((store / "out.bin").read_bytes()).hexdigest()
                if digest != expected or stored != expected:
                    raise SystemExit(f"{name}: the hash is not the hash of what was stored")
                (store / "out.bin").unlink()
                runs[name].append((wall, cpu))
                print(f"  {name}: {wall:.3f} s, {cpu:.3f} s CPU", flush=True)
        relay: dict[str, list[tuple[float, float]]] = {"direct": [], "relayed": []}
        for _ in range(args.repeat):
            for name in relay:
                run = partial(relay_pipeline, source, relayed=name == "relayed")
                wall, cpu, _ = timed(run)
                relay[name].append((wall, cpu))
    base = min(cpu for _, cpu in runs[next(iter(VARIANTS))])
    rows = [
        [
            name,
            seconds(min(wall for wall, _ in taken)),
            seconds(min(cpu for _, cpu in taken)),
            f"{min(cpu for _, cpu in taken) / base:.2f}",
        ]
        for name, taken in runs.items()
    ]
    relay_rows = [
        [name, seconds(min(w for w, _ in taken)), seconds(min(c for _, c in taken))]
        for name, taken in relay.items()
    ]
    return [
        "## k. The hot path: storing gpg's output on the share, hashed on the way",
        "",
        measured_on(),
        "",
        f"Command (from the repository root): `{command(FIGURE, args.shown)}`",
        "",
        f"{mib(args.mebibytes * MIB)} of random bytes (like gpg's output) from a `cat` child,",
        f"stored into a file in {args.directory or tempfile.gettempdir()} with its sha256; every",
        "variant's hash is checked against the stored file's. Best of",
        f"{args.repeat}, alternating; CPU is the job process's own (user + system).",
        "",
        *table(["variant", "wall (s)", "job CPU (s)", "CPU vs (a)"], rows),
        "",
        "The relay that checks pg_dump's first bytes on their way to zstd, splicing the rest:",
        "",
        *table(["pipeline: cat into cat > /dev/null", "wall (s)", "job CPU (s)"], relay_rows),
        "",
        "sha256 is most of the job's cost on every variant; the job keeps (b): it needs no",
        "ctypes, works on every file system (CIFS included: splice into a network file system",
        "and reading it back are not what the hash should depend on), and hashes the very bytes",
        "it writes.",
    ]


def main(argv: Sequence[str]) -> int:
    """Run figure k; write its section of RESULTS.md unless `--no-write`."""
    options = argparse.ArgumentParser(prog=f"python -m bench {FIGURE}", description=__doc__)
    options.add_argument("--no-write", action="store_true", help="print only, leave RESULTS.md")
    options.add_argument("--repeat", type=int, default=5, help="rounds (default 5)")
    options.add_argument("--mebibytes", type=int, default=512, help="data size (default 512)")
    options.add_argument("--directory", default=None, help="where to write (default: temp dir)")
    args = options.parse_args(list(argv))
    args.shown = [arg for arg in argv if arg != "--no-write"]
    publish(FIGURE, measure(args), write=not args.no_write)
    return 0
