"""adapters.process with real processes: pipelines, feeding, collecting, killing, run_command."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from adapters.process import (
    CHILDREN,
    ChildError,
    ChildFailure,
    Completed,
    ProcessStream,
    Stage,
    Tap,
    collect,
    kill_all,
    run_command,
    stream_through,
)
from adapters.process.registry import ChildRegistry
from adapters.process.threads import STDERR_TAIL_BYTES
from domain.models.redaction import MASK, Redactor
from tests.support.processes import child_processes

pytestmark = pytest.mark.integration

ENV = {"PATH": "/usr/bin:/bin", "LC_ALL": "C"}
MIB = 1024 * 1024


class ToolError(Exception):
    """The error the test stages raise; it keeps the failure for the assertions."""

    def __init__(self, failure: ChildFailure) -> None:
        super().__init__(failure.message)
        self.failure = failure


def stage(*argv: str, tool: str | None = None, **options: Any) -> Stage:
    return Stage(argv, ENV, tool or argv[0], ToolError, **options)


def shell(script: str, tool: str = "sh", **options: Any) -> Stage:
    return stage("sh", "-c", script, tool=tool, **options)


_EARLIER: set[int] = set()
"""Children that existed before the test (servers of session fixtures): not the test's."""


def children() -> list[tuple[int, str, str]]:
    """Return (pid, command, state) of every child the test started, zombies included."""
    return [child for child in _all_children() if child[0] not in _EARLIER]


def _all_children() -> list[tuple[int, str, str]]:
    return child_processes(os.getpid())


def our_threads() -> list[str]:
    return [thread.name for thread in threading.enumerate() if thread.name.startswith("lts-")]


def assert_nothing_left() -> None:
    assert children() == []
    assert CHILDREN.live_pids() == []
    assert our_threads() == []


def wait_for(condition, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


@pytest.fixture(autouse=True)
def _no_leftovers() -> Iterator[None]:
    _EARLIER.clear()
    _EARLIER.update(pid for pid, _, _ in _all_children())
    yield
    assert_nothing_left()


def test_a_pipeline_streams_the_last_childs_output_in_bounded_chunks() -> None:
    stream = ProcessStream(
        [stage("head", "-c", str(3 * MIB), "/dev/zero"), stage("tr", "\\0", "x")],
        chunk_size=64 * 1024,
    )

    chunks = list(stream)

    assert b"".join(chunks) == b"x" * (3 * MIB)
    assert all(0 < len(chunk) <= 64 * 1024 for chunk in chunks)


def test_nothing_starts_before_the_stream_is_iterated(tmp_path: Path) -> None:
    marker = tmp_path / "started"
    stream = ProcessStream([stage("touch", str(marker))])

    time.sleep(0.1)
    assert not marker.exists()
    assert list(stream) == []
    assert marker.exists()


def test_chained_children_are_connected_directly_by_one_os_pipe() -> None:
    first = ProcessStream([shell("echo ready; exec sleep 30", tool="producer")])
    stream = first.then(shell("read line; echo $line; exec cat", tool="consumer"))

    assert next(stream) == b"ready\n"
    pids = {command: pid for pid, command, _ in children()}
    producer_out = str(Path(f"/proc/{pids['sleep']}/fd/1").readlink())
    consumer_in = str(Path(f"/proc/{pids['cat']}/fd/0").readlink())
    stream.close()

    assert producer_out.startswith("pipe:")
    assert producer_out == consumer_in


def test_the_pipes_are_enlarged_to_a_mebibyte() -> None:
    stream = ProcessStream([shell("echo ready; exec sleep 30")])
    next(stream)
    [(pid, _, _)] = children()
    with open(f"/proc/{pid}/fd/1", "rb") as pipe:  # noqa: PTH123 - a /proc link to a pipe
        size = fcntl.fcntl(pipe.fileno(), fcntl.F_GETPIPE_SZ)
    stream.close()

    assert size == MIB


def test_the_most_upstream_failure_explains_the_others() -> None:
    stream = ProcessStream(
        [
            shell("echo partial; echo 'server closed the connection' >&2; exit 3", tool="pg_dump"),
            shell("cat >/dev/null; echo 'unexpected end of input' >&2; exit 4", tool="gpg"),
        ]
    )

    with pytest.raises(ToolError) as raised:
        list(stream)

    assert str(raised.value) == "pg_dump exited with 3: server closed the connection"
    assert raised.value.failure.tool == "pg_dump"


def test_an_upstream_child_killed_by_a_broken_pipe_does_not_hide_the_downstream_failure() -> None:
    stream = ProcessStream(
        [
            stage("yes", tool="pg_dump"),
            shell("head -c 10 >/dev/null; echo 'gpg: keyring gone' >&2; exit 2", tool="gpg"),
        ]
    )

    with pytest.raises(ToolError, match=r"^gpg exited with 2: gpg: keyring gone$"):
        list(stream)


def test_an_upstream_child_cut_off_by_a_reader_that_stopped_early_is_still_a_failure() -> None:
    # A reader that ends before its input did not process all of it: never silently accepted.
    stream = ProcessStream([stage("yes"), stage("head", "-c", "10")])

    with pytest.raises(ToolError, match=r"^yes was killed by signal SIGPIPE$"):
        list(stream)


def test_a_killed_child_is_named_with_its_signal() -> None:
    stream = ProcessStream([shell("echo first; kill -KILL $$", tool="pg_dump")])

    with pytest.raises(ToolError, match=r"^pg_dump was killed by signal SIGKILL$"):
        list(stream)


def test_the_stderr_in_a_failure_is_one_masked_line() -> None:
    redactor = Redactor(["hunter2-secret"])
    stream = ProcessStream(
        [shell("echo 'line one' >&2; echo 'pw hunter2-secret' >&2; exit 1", redactor=redactor)]
    )

    with pytest.raises(ToolError) as raised:
        list(stream)

    assert str(raised.value) == f"sh exited with 1: line one; pw {MASK}"


def test_output_that_does_not_start_with_the_magic_bytes_is_refused() -> None:
    stream = ProcessStream(
        [
            shell(
                "echo 'not a dump'; exec sleep 30",
                tool="pg_dump",
                magic=b"PGDMP",
                expected="a dump",
            )
        ]
    )

    with pytest.raises(ToolError, match=r"^pg_dump output does not start with PGDMP: not a dump$"):
        list(stream)


def test_magic_bytes_split_over_several_reads_are_accepted_and_kept() -> None:
    stream = ProcessStream([shell("printf PG; sleep 0.2; printf DMPrest", magic=b"PGDMP")])

    assert b"".join(stream) == b"PGDMPrest"


def test_a_failed_child_explains_more_than_its_short_output() -> None:
    stream = ProcessStream([shell("printf PG; exit 5", tool="pg_dump", magic=b"PGDMP")])

    with pytest.raises(ToolError, match=r"^pg_dump exited with 5$"):
        list(stream)


def test_output_shorter_than_the_magic_is_refused() -> None:
    stream = ProcessStream([shell("printf PG", tool="pg_dump", magic=b"PGDMP")])

    with pytest.raises(ToolError, match=r"^pg_dump output does not start with PGDMP"):
        list(stream)


def test_empty_output_is_a_failure_only_when_output_is_required() -> None:
    assert list(ProcessStream([stage("true")])) == []
    with pytest.raises(ToolError, match=r"^pg_dump produced no output$"):
        list(ProcessStream([stage("true", tool="pg_dump", require_output=True)]))
    with pytest.raises(ToolError, match=r"^pg_dump exited with 1$"):
        list(ProcessStream([stage("false", tool="pg_dump", require_output=True)]))


def test_a_child_that_cannot_start_is_a_failure_and_the_started_ones_are_reaped() -> None:
    closed = threading.Event()

    def source() -> Iterator[bytes]:
        try:
            yield b"x"
        finally:
            closed.set()

    body = source()
    next(body)
    stream = ProcessStream([stage("cat"), stage("/nonexistent/gpg", tool="gpg")], source=body)

    with pytest.raises(ToolError, match=r"^cannot start gpg: \[Errno 2\] No such file"):
        list(stream)

    assert closed.is_set()


def test_a_fed_stream_passes_its_input_through_the_child() -> None:
    chunks = [os.urandom(size) for size in (1, 4096, MIB + 7, 3 * MIB, 5)]

    stream = ProcessStream([stage("cat")], source=iter(chunks))

    assert b"".join(stream) == b"".join(chunks)


def test_an_input_that_raises_kills_the_child_before_its_stdin_closes(tmp_path: Path) -> None:
    marker = tmp_path / "saw-end-of-input"
    failure = RuntimeError("pg_dump of sales failed: connection reset")

    def dump() -> Iterator[bytes]:
        yield b"line\n" * 100_000
        raise failure

    # The shell would create the marker if it ever saw the end of its input.
    stream = ProcessStream(
        [shell(f"while read -r line; do :; done; touch {marker}")], source=dump()
    )

    with pytest.raises(RuntimeError) as raised:
        list(stream)

    assert raised.value is failure
    time.sleep(0.2)
    assert not marker.exists()


def test_the_input_error_wins_over_the_childs_complaint() -> None:
    def dump() -> Iterator[bytes]:
        yield b"partial"
        raise ValueError("upstream broke")

    stream = ProcessStream([shell("cat >/dev/null; exit 9", tool="gpg")], source=dump())

    with pytest.raises(ValueError, match="upstream broke"):
        list(stream)


def test_a_filter_that_stops_reading_abandons_and_closes_its_input() -> None:
    sent = []
    closed = threading.Event()

    def endless() -> Iterator[bytes]:
        try:
            while True:
                sent.append(1)
                yield b"y" * 65536
        finally:
            closed.set()

    stream = ProcessStream([shell("head -c 10 >/dev/null; exit 2", tool="gpg")], source=endless())

    with pytest.raises(ToolError, match=r"^gpg exited with 2$"):
        list(stream)

    assert closed.is_set()


def test_closing_mid_stream_kills_and_reaps_every_child_and_closes_the_input() -> None:
    closed = threading.Event()

    def endless() -> Iterator[bytes]:
        block = b"z" * MIB
        try:
            while True:
                yield block
        finally:
            closed.set()

    stream = ProcessStream([stage("cat"), stage("cat"), stage("cat")], source=endless())
    next(stream)
    pids = [pid for pid, _, _ in children()]
    assert len(pids) == 3

    stream.close()
    stream.close()

    # Reaped: not even a zombie entry remains.
    assert [pid for pid in pids if Path(f"/proc/{pid}").exists()] == []
    assert closed.is_set()


def test_closing_before_iterating_closes_the_input_and_starts_nothing() -> None:
    closed = threading.Event()

    def source() -> Iterator[bytes]:
        try:
            yield b"x"
        finally:
            closed.set()

    body = source()
    next(body)
    stream = ProcessStream([stage("cat")], source=body)

    stream.close()

    assert closed.is_set()
    with pytest.raises(RuntimeError, match="closed"):
        next(stream)


def test_closing_a_stream_fed_by_another_stream_kills_both() -> None:
    inner = ProcessStream([stage("yes")])
    outer = ProcessStream([stage("cat")], source=inner)
    next(outer)
    assert sorted(command for _, command, _ in children()) == ["cat", "yes"]

    outer.close()

    assert children() == []


def test_a_stderr_flood_never_blocks_and_only_its_tail_is_kept() -> None:
    flood = "head -c 5000000 /dev/zero | tr '\\0' e >&2; echo -n END >&2; echo done"

    collected = collect(shell(flood))

    assert collected.stdout == b"done\n"
    assert len(collected.stderr) == STDERR_TAIL_BYTES
    assert collected.stderr.endswith("eeeEND")


def test_a_flooding_child_in_a_stream_finishes_too() -> None:
    flood = "head -c 5000000 /dev/zero | tr '\\0' e >&2; echo done"

    assert b"".join(ProcessStream([shell(flood)])) == b"done\n"


def test_collect_drains_the_input_after_the_child_stopped_reading() -> None:
    consumed = []

    def archive() -> Iterator[bytes]:
        for index in range(200):
            consumed.append(index)
            yield b"t" * 65536

    collected = collect(stage("head", "-c", "5"), archive())

    assert collected.stdout == b"ttttt"
    assert len(consumed) == 200


def test_collect_raises_the_inputs_failure_at_its_very_end() -> None:
    damaged = RuntimeError("gpg: decryption failed: bad MDC")

    def decrypted() -> Iterator[bytes]:
        yield from (b"toc" * 1000 for _ in range(50))
        raise damaged

    with pytest.raises(RuntimeError) as raised:
        collect(stage("head", "-c", "3"), decrypted())

    assert raised.value is damaged


def test_collect_caps_stdout_and_raises_the_stage_error_on_failure() -> None:
    assert collect(stage("head", "-c", str(MIB), "/dev/zero"), stdout_limit=10).stdout == bytes(10)
    with pytest.raises(ToolError, match=r"^psql exited with 3: no such role$"):
        collect(shell("echo 'no such role' >&2; exit 3", tool="psql"), [b"CREATE ROLE x;\n"])


def test_kill_all_kills_every_live_child_and_their_streams_fail() -> None:
    stream = ProcessStream([shell("echo started; exec sleep 30", tool="pg_dump")])
    next(stream)
    outcome: list[Completed] = []
    worker = threading.Thread(
        target=lambda: outcome.append(run_command(["sleep", "30"], env=ENV, timeout=60))
    )
    worker.start()
    wait_for(lambda: len(CHILDREN.live_pids()) == 2)

    assert kill_all() == 2

    with pytest.raises(ToolError, match=r"^pg_dump was killed by signal SIGKILL$"):
        list(stream)
    worker.join(10)
    [completed] = outcome
    assert completed.returncode == -signal.SIGKILL


def test_a_registry_that_refuses_new_children_kills_them_as_they_start() -> None:
    registry = ChildRegistry()
    registry.kill_all(refuse_new=True)
    refused = subprocess.Popen(["sleep", "30"])
    cleanup = subprocess.Popen(["sleep", "0.1"])

    registry.register(refused)
    registry.register(cleanup, refusable=False)

    assert refused.wait(10) == -signal.SIGKILL
    assert cleanup.wait(10) == 0
    registry.unregister(refused)
    registry.unregister(cleanup)
    assert registry.live_pids() == []


def test_the_child_gets_exactly_the_environment_it_was_given() -> None:
    stream = ProcessStream([Stage(("/usr/bin/env",), {"ONLY": "this"}, "env", ToolError)])

    assert b"".join(stream) == b"ONLY=this\n"


def test_pass_fds_hands_a_descriptor_to_the_child() -> None:
    read_end, write_end = os.pipe()
    os.write(write_end, b"passphrase\n")
    os.close(write_end)
    try:
        stream = ProcessStream([stage("cat", f"/dev/fd/{read_end}", pass_fds=(read_end,))])
        assert b"".join(stream) == b"passphrase\n"
    finally:
        os.close(read_end)


def test_children_stay_in_the_jobs_process_group() -> None:
    stream = ProcessStream([shell("echo ready; exec sleep 30")])
    next(stream)
    [(pid, _, _)] = children()
    group = os.getpgid(pid)
    stream.close()

    assert group == os.getpgrp()


def test_a_stream_hands_itself_over_to_then_and_cannot_be_used_again() -> None:
    first = ProcessStream([stage("echo", "hi")])
    second = first.then(stage("cat"))

    with pytest.raises(RuntimeError, match="handed over"):
        next(first)
    with pytest.raises(RuntimeError, match="handed over"):
        first.then(stage("cat"))
    first.close()
    assert b"".join(second) == b"hi\n"
    with pytest.raises(RuntimeError, match="started"):
        second.then(stage("cat"))


def test_stream_through_chains_an_unstarted_stream_and_feeds_anything_else() -> None:
    chained = stream_through(ProcessStream([stage("echo", "hi")]), stage("cat"))
    fed = stream_through([b"a", b"b"], stage("cat"))
    drained = stream_through(ProcessStream([stage("echo", "x")]), stage("cat"), drain_source=True)

    assert len(chained.stages) == 2
    assert b"".join(chained) == b"hi\n"
    assert len(fed.stages) == 1
    assert b"".join(fed) == b"ab"
    assert len(drained.stages) == 1
    assert b"".join(drained) == b"x\n"


def test_run_command_returns_output_and_status_with_exactly_the_given_environment() -> None:
    completed = run_command(["/usr/bin/env"], env={"A": "1"}, timeout=10, stdin=b"")

    assert completed.ok
    assert completed.stdout == b"A=1\n"
    failed = run_command(
        ["sh", "-c", "cat; echo oops >&2; exit 4"], env=ENV, timeout=10, stdin=b"in"
    )
    assert (failed.returncode, failed.stdout, failed.stderr) == (4, b"in", b"oops\n")


def test_run_command_kills_and_reaps_a_command_past_its_timeout() -> None:
    with pytest.raises(ChildError, match=r"^sleep did not finish within 0.2 s$"):
        run_command(["sleep", "30"], env=ENV, timeout=0.2)


def test_run_command_that_cannot_start_is_a_child_error() -> None:
    with pytest.raises(ChildError, match=r"^cannot run /nonexistent/x: No such file"):
        run_command(["/nonexistent/x"], env=ENV, timeout=1)


def test_run_command_to_a_file_collects_both_streams() -> None:
    completed = run_command(
        ["sh", "-c", "echo out; echo err >&2; exit 1"], env=ENV, timeout=10, to_file=True
    )

    assert (completed.returncode, completed.stdout) == (1, b"")
    assert completed.stderr == b"out\nerr\n"


def test_magic_bytes_that_go_wrong_in_a_later_read_are_refused() -> None:
    stream = ProcessStream(
        [
            shell(
                "printf PG; sleep 0.2; printf XXrest; exec sleep 30", tool="pg_dump", magic=b"PGDMP"
            )
        ]
    )

    with pytest.raises(ToolError, match=r"^pg_dump output does not start with PGDMP"):
        list(stream)


# ---------------------------------------------------------------------- readinto


def read_all(stream: ProcessStream, size: int = 64 * 1024) -> tuple[bytes, list[int]]:
    """Read `stream` to its end through one reusable buffer; return the bytes and read sizes."""
    buffer = bytearray(size)
    data = bytearray()
    counts = []
    while count := stream.readinto(buffer):
        counts.append(count)
        data += buffer[:count]
    return bytes(data), counts


def test_readinto_reads_the_whole_output_into_one_buffer() -> None:
    stream = ProcessStream(
        [stage("head", "-c", str(3 * MIB), "/dev/zero"), stage("tr", "\\0", "y")]
    )
    data, counts = read_all(stream)

    assert data == b"y" * (3 * MIB)
    assert all(0 < count <= 64 * 1024 for count in counts)
    assert stream.readinto(bytearray(10)) == 0


def test_readinto_raises_the_failure_at_the_end_and_reaps_every_child() -> None:
    stream = ProcessStream(
        [
            shell("echo partial; echo 'server closed the connection' >&2; exit 3", tool="pg_dump"),
            stage("cat", tool="gpg"),
        ]
    )

    with pytest.raises(ToolError, match=r"^pg_dump exited with 3: server closed the connection$"):
        read_all(stream)
    assert_nothing_left()
    assert stream.readinto(bytearray(10)) == 0


def test_readinto_checks_the_magic_bytes_and_the_required_output() -> None:
    wrong = ProcessStream(
        [shell("echo 'not a dump'; exec sleep 30", tool="pg_dump", magic=b"PGDMP")]
    )
    with pytest.raises(ToolError, match=r"^pg_dump output does not start with PGDMP"):
        read_all(wrong)
    assert_nothing_left()

    short = ProcessStream([shell("printf PG", tool="pg_dump", magic=b"PGDMP")])
    with pytest.raises(ToolError, match=r"^pg_dump output does not start with PGDMP"):
        read_all(short)

    split = ProcessStream([shell("printf PG; sleep 0.2; printf DMPrest", magic=b"PGDMP")])
    assert read_all(split, size=3)[0] == b"PGDMPrest"

    with pytest.raises(ToolError, match=r"^pg_dump produced no output$"):
        read_all(ProcessStream([stage("true", tool="pg_dump", require_output=True)]))


def test_readinto_re_raises_the_inputs_own_error() -> None:
    def source() -> Iterator[bytes]:
        yield b"x" * 1000
        raise ValueError("the share went away")

    stream = ProcessStream([stage("cat")], source=source())

    with pytest.raises(ValueError, match="the share went away"):
        read_all(stream)


def test_closing_during_readinto_kills_and_reaps_every_child() -> None:
    stream = ProcessStream([stage("yes"), stage("cat")])
    assert stream.readinto(bytearray(4096)) > 0

    stream.close()

    assert_nothing_left()
    assert stream.readinto(bytearray(10)) == 0


def test_a_stream_is_read_by_iteration_or_by_readinto_never_both() -> None:
    iterated = ProcessStream([stage("yes")])
    next(iterated)
    with pytest.raises(RuntimeError, match="being iterated"):
        iterated.readinto(bytearray(10))
    iterated.close()

    closed = ProcessStream([stage("yes")])
    closed.close()
    with pytest.raises(RuntimeError, match="closed"):
        closed.readinto(bytearray(10))


# ---------------------------------------------------------------------- checked output piped on


def test_a_checked_output_piped_into_another_child_is_passed_on_whole(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stream = ProcessStream(
        [
            shell(f"printf PGDMP; head -c {3 * MIB} /dev/zero", tool="pg_dump", magic=b"PGDMP"),
            stage("cat", tool="zstd"),
            stage("cat", tool="gpg"),
        ]
    )

    with caplog.at_level("WARNING", logger="lts.process"):
        data = b"".join(stream)

    assert data == b"PGDMP" + bytes(3 * MIB)
    # The relay thread has ended and was joined: nothing is left running.
    assert caplog.records == []


def test_a_wrong_start_piped_into_another_child_fails_the_whole_stream() -> None:
    stream = ProcessStream(
        [
            shell("echo 'not a dump'; exec sleep 30", tool="pg_dump", magic=b"PGDMP"),
            stage("cat", tool="zstd"),
            stage("cat", tool="gpg"),
        ]
    )

    with pytest.raises(ToolError, match=r"^pg_dump output does not start with PGDMP"):
        b"".join(stream)


def test_no_output_piped_into_another_child_fails_the_whole_stream() -> None:
    # zstd would turn nothing into a valid (empty) frame: the relay stops it first.
    stream = ProcessStream(
        [stage("true", tool="pg_dump", require_output=True), stage("cat", tool="zstd")]
    )

    with pytest.raises(ToolError, match=r"^pg_dump produced no output$"):
        read_all(stream)


def test_magic_bytes_arriving_one_by_one_are_relayed() -> None:
    script = "for c in P G D M P; do printf $c; sleep 0.05; done; printf rest"
    stream = ProcessStream([shell(script, tool="pg_dump", magic=b"PGDMP"), stage("cat")])

    assert b"".join(stream) == b"PGDMPrest"


def test_a_relayed_childs_own_failure_still_explains_the_stream() -> None:
    stream = ProcessStream(
        [
            shell(
                "printf PGDMP; echo 'connection lost' >&2; exit 1", tool="pg_dump", magic=b"PGDMP"
            ),
            stage("cat", tool="zstd"),
        ]
    )

    with pytest.raises(ToolError, match=r"^pg_dump exited with 1: connection lost$"):
        b"".join(stream)


def test_a_downstream_child_that_dies_ends_the_relay_and_the_upstream_child() -> None:
    stream = ProcessStream(
        [
            shell("printf PGDMP; exec yes", tool="pg_dump", magic=b"PGDMP"),
            shell("head -c 100 >/dev/null; echo 'gpg: out of keys' >&2; exit 2", tool="gpg"),
        ]
    )

    with pytest.raises(ToolError, match=r"^gpg exited with 2: gpg: out of keys$"):
        b"".join(stream)


# ---------------------------------------------------------------------- a tapped stage piped on
# pg_dump | tee >(pg_restore --list) | relay | zstd | gpg: the backup's pipeline, with stand-ins.


def tapped(script: str, reader: Stage, outputs: list[bytes], **options: Any) -> Stage:
    """Return a pg_dump stand-in whose output `reader` gets a copy of (tee), as the TOC tap."""
    return shell(script, tool="pg_dump", tap=Tap(reader, outputs.append), **options)


def test_a_tapped_checked_stage_piped_on_is_read_from_a_copy_and_relayed_whole(
    caplog: pytest.LogCaptureFixture,
) -> None:
    outputs: list[bytes] = []
    stream = ProcessStream(
        [
            tapped(
                f"printf PGDMP; head -c {3 * MIB} /dev/zero",
                stage("wc", "-c", tool="pg_restore --list"),
                outputs,
                magic=b"PGDMP",
                require_output=True,
            ),
            stage("cat", tool="zstd"),
            stage("cat", tool="gpg"),
        ]
    )

    with caplog.at_level("WARNING", logger="lts.process"):
        data, _ = read_all(stream)

    assert data == b"PGDMP" + bytes(3 * MIB)
    assert outputs == [f"{3 * MIB + 5}\n".encode()]
    assert caplog.records == []


def test_a_tap_reader_that_stops_early_does_not_cut_the_relayed_stream() -> None:
    # pg_restore --list reads only the table of contents; the dump goes on to zstd whole.
    outputs: list[bytes] = []
    stream = ProcessStream(
        [
            tapped(
                f"printf PGDMP; head -c {4 * MIB} /dev/zero",
                stage("head", "-c", "5", tool="pg_restore --list"),
                outputs,
                magic=b"PGDMP",
            ),
            stage("cat", tool="zstd"),
        ]
    )

    assert b"".join(stream) == b"PGDMP" + bytes(4 * MIB)
    assert outputs == [b"PGDMP"]


def test_a_wrong_start_of_a_tapped_stage_is_refused_before_its_reader_is_judged() -> None:
    outputs: list[bytes] = []
    stream = ProcessStream(
        [
            tapped(
                "echo 'not a dump'; exec sleep 30",
                shell("cat >/dev/null; exit 1", tool="pg_restore --list"),
                outputs,
                magic=b"PGDMP",
            ),
            stage("cat", tool="zstd"),
        ]
    )

    with pytest.raises(ToolError, match=r"^pg_dump output does not start with PGDMP"):
        b"".join(stream)
    assert outputs == []


def test_no_output_of_a_tapped_stage_is_the_refusal_not_its_readers_complaint() -> None:
    # pg_restore --list fails on an empty input too; that nothing was dumped explains more.
    outputs: list[bytes] = []
    stream = ProcessStream(
        [
            tapped(
                "exit 0",
                shell('test -n "$(head -c 1)" || exit 1', tool="pg_restore --list"),
                outputs,
                require_output=True,
            ),
            stage("cat", tool="zstd"),
        ]
    )

    with pytest.raises(ToolError, match=r"^pg_dump produced no output$"):
        read_all(stream)
    assert outputs == []


def test_a_tapped_stages_own_failure_explains_more_than_its_reader() -> None:
    outputs: list[bytes] = []
    stream = ProcessStream(
        [
            tapped(
                "printf PGDMP; echo 'connection lost' >&2; exit 1",
                shell("cat >/dev/null; exit 1", tool="pg_restore --list"),
                outputs,
                magic=b"PGDMP",
            ),
            stage("cat", tool="zstd"),
        ]
    )

    with pytest.raises(ToolError, match=r"^pg_dump exited with 1: connection lost$"):
        b"".join(stream)


def test_the_tap_readers_failure_is_raised_after_a_good_output() -> None:
    outputs: list[bytes] = []
    stream = ProcessStream(
        [
            tapped(
                "printf PGDMP; printf rest",
                shell("cat >/dev/null; echo 'bad toc' >&2; exit 3", tool="pg_restore --list"),
                outputs,
                magic=b"PGDMP",
            ),
            stage("cat", tool="zstd"),
        ]
    )

    with pytest.raises(ToolError, match=r"^pg_restore --list exited with 3: bad toc$"):
        b"".join(stream)
    assert outputs == []
