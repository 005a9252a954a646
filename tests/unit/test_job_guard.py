"""The job guard: stop signals handled in-process, the private work root, the start-up sweep."""

import os
import signal
import stat
import subprocess
from dataclasses import replace

import pytest

from adapters.os.job_guard import guard_job, prepare_work_root
from adapters.os.signals import STOP_SIGNALS, SignalStop, stop_reason
from adapters.process.identity import current_identity
from adapters.process.leftovers import FILE, Leftovers
from adapters.process.registry import CHILDREN
from domain.framework.stop import STOP, StopReason
from ports.errors import ConfigError
from tests.support.stopping import no_stop

__all__ = ["no_stop"]

pytestmark = pytest.mark.usefixtures("no_stop")


@pytest.fixture
def sleeper():
    child = subprocess.Popen(["sleep", "30"])
    CHILDREN.register(child)
    yield child
    child.kill()
    child.wait()
    CHILDREN.unregister(child)
    CHILDREN.accept_new()


def test_the_exit_status_of_a_signal_is_128_plus_its_number():
    assert stop_reason(signal.SIGTERM) == StopReason("SIGTERM", 143)
    assert stop_reason(signal.SIGINT) == StopReason("SIGINT", 130)
    assert stop_reason(signal.SIGHUP) == StopReason("SIGHUP", 129)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_a_stop_signal_records_the_stop_and_kills_every_child_at_once(sleeper, signum):
    handler = SignalStop()
    assert handler.install()
    try:
        os.kill(os.getpid(), signum)
        assert sleeper.wait(timeout=10) == -signal.SIGKILL
        assert STOP.reason == stop_reason(signum)
    finally:
        handler.uninstall()


def test_a_second_signal_changes_nothing_and_new_children_are_refused(sleeper):
    handler = SignalStop()
    handler.install()
    try:
        os.kill(os.getpid(), signal.SIGTERM)
        os.kill(os.getpid(), signal.SIGINT)
        assert STOP.reason == StopReason("SIGTERM", 143)
        late = subprocess.Popen(["sleep", "30"])
        CHILDREN.register(late)
        assert late.wait(timeout=10) == -signal.SIGKILL
        CHILDREN.unregister(late)
    finally:
        handler.uninstall()


def test_the_previous_handlers_come_back_when_the_job_ends():
    before = signal.getsignal(signal.SIGINT)
    handler = SignalStop()
    handler.install()
    assert signal.getsignal(signal.SIGINT) == handler.handle
    handler.uninstall()
    assert signal.getsignal(signal.SIGINT) == before


def test_a_new_job_starts_without_the_last_ones_stop():
    STOP.request(StopReason("SIGTERM", 143))
    handler = SignalStop()
    handler.install()
    handler.uninstall()
    assert STOP.reason is None


@pytest.mark.parametrize("umask", [0o000, 0o022, 0o077])
def test_a_missing_work_root_is_made_private_whatever_the_umask(tmp_path, umask):
    previous = os.umask(umask)
    try:
        prepare_work_root(tmp_path / "lts" / "work")
    finally:
        os.umask(previous)
    for path in (tmp_path / "lts", tmp_path / "lts" / "work"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o700


def test_a_work_root_of_this_user_with_a_wider_mode_is_made_private(tmp_path, caplog):
    work = tmp_path / "work"
    work.mkdir()
    work.chmod(0o755)
    prepare_work_root(work)
    assert stat.S_IMODE(work.stat().st_mode) == 0o700
    assert "made the work root" in caplog.text


def test_a_shared_sticky_work_root_is_refused_and_left_as_it_is(tmp_path):
    shared = tmp_path / "tmp"
    shared.mkdir()
    shared.chmod(0o1777)
    with pytest.raises(ConfigError, match=r"is shared with other users \(mode 1777\)"):
        prepare_work_root(shared)
    assert stat.S_IMODE(shared.stat().st_mode) == 0o1777


def test_another_users_work_root_is_refused(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("making a directory of another user needs root")
    theirs = tmp_path / "theirs"
    theirs.mkdir(mode=0o755)
    theirs.chmod(0o755)
    os.chown(theirs, 65534, 65534)
    with pytest.raises(ConfigError, match="shared with other users"):
        prepare_work_root(theirs)


def test_a_work_root_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "work").write_text("")
    with pytest.raises(ConfigError, match="is not a directory"):
        prepare_work_root(tmp_path / "work")


def test_the_guard_sweeps_dead_jobs_leftovers_at_the_start_and_its_own_at_the_end(tmp_path):
    work = tmp_path / "work"
    dead = Leftovers(work, identity=lambda: replace(current_identity(), pid=2**22 + 5, started=1))
    theirs = work / "scratch-dead.dump"
    dead.claim(FILE, theirs)
    theirs.write_bytes(b"plaintext")
    leftovers = Leftovers(work)
    guard = guard_job(work, leftovers)
    next(guard)
    assert not theirs.exists()
    mine = work / "scratch-mine.dump"
    leftovers.claim(FILE, mine)
    mine.write_bytes(b"plaintext")
    with pytest.raises(StopIteration):
        next(guard)
    assert not mine.exists()
    assert list(work.iterdir()) == []


def test_a_stopped_job_ignores_late_signals_until_it_exits():
    before = signal.getsignal(signal.SIGHUP)
    handler = SignalStop()
    handler.install()
    os.kill(os.getpid(), signal.SIGTERM)
    handler.uninstall(ending=True)
    try:
        assert signal.getsignal(signal.SIGHUP) == signal.SIG_IGN
        assert signal.getsignal(signal.SIGTERM) == signal.SIG_IGN
    finally:
        signal.signal(signal.SIGHUP, before)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)


def test_a_program_ignores_stop_signals_once_its_job_is_done():
    before = {signum: signal.getsignal(signum) for signum in STOP_SIGNALS}
    handler = SignalStop(program=True)
    handler.install()
    handler.uninstall(ending=True)
    try:
        assert {signal.getsignal(signum) for signum in STOP_SIGNALS} == {signal.SIG_IGN}
    finally:
        for signum, previous in before.items():
            signal.signal(signum, previous)
