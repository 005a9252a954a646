"""MountShareMachine and DynamicMountingEndPoint: config, lock, mount, always unmount."""

import pytest

from adapters.memory.config_source import InMemoryConfigSource
from adapters.memory.console import RecordingConsole
from adapters.memory.exit import RecordingExit
from adapters.memory.file_share import InMemoryFileShare, InMemoryShareOpener
from adapters.memory.lock import InMemoryLock
from domain.framework.definition import node
from domain.framework.endpoints import DynamicMountingEndPoint
from domain.framework.machine import Machine, Step
from domain.framework.slot import SlotUnsetError
from domain.machines.mount import MountShareMachine
from domain.models.redaction import Redactor
from ports.errors import ConfigSourceError, ShareUnavailableError
from tests.support.memory_world import PG_SECRET, client_values

MOUNT_NODES = ["read_config", "take_lock", "open_share", "mount_share"]
AFTER = ["run_machine", "unmount_share", "release_lock"]


class Inner(Machine):
    """A wrapped machine that succeeds, fails or raises."""

    def __init__(self, context, mode="ok"):
        super().__init__()
        self.context = context
        self.mode = mode

    @node(
        entry=True,
        happy=("report_results",),
        unhappy=("report_results",),
        on_exception="report_results",
    )
    def work(self) -> Step:
        if self.mode == "fail":
            return self.failure(self.report_results, "inner failed")
        return self.success(self.report_results)


class Exploding(Machine):
    """A wrapped machine whose exception escapes it."""

    def __init__(self, context):
        super().__init__()

    @node(entry=True, happy=("report_results",), on_exception="<let exceptions through>")
    def work(self) -> Step:
        raise RuntimeError("inner crashed")


def build(
    *,
    values=None,
    share=None,
    inner=Inner,
    lock_table=None,
    source_error=None,
    opener_error=None,
    redactor=None,
):
    share = share or InMemoryFileShare()
    machine = MountShareMachine(
        inner,
        job="backup",
        client="acme",
        source=InMemoryConfigSource(values or client_values(), error=source_error),
        opener=InMemoryShareOpener(share, error=opener_error),
        redactor=redactor or Redactor(),
        lock=InMemoryLock(lock_table if lock_table is not None else {}),
    )
    return machine, share


def nodes(results):
    return [r.node for r in results]


def test_a_clean_run_mounts_runs_the_inner_machine_then_unmounts_and_unlocks():
    table: dict[str, str] = {}
    machine, share = build(lock_table=table)
    results = machine.execute()
    assert nodes(results) == [*MOUNT_NODES, "work", *AFTER]
    assert all(r.ok for r in results)
    assert (share.mounts, share.unmounts, share.mounted) == (1, 1, False)
    assert table == {}


def test_every_config_key_is_read_exactly_once():
    source = InMemoryConfigSource(client_values())
    MountShareMachine(
        Inner,
        job="backup",
        client="acme",
        source=source,
        opener=InMemoryShareOpener(InMemoryFileShare()),
        redactor=Redactor(),
    ).execute()
    assert source.reads
    assert set(source.reads.values()) == {1}


def test_an_invalid_config_lists_every_problem_in_one_failure_and_mounts_nothing():
    values = client_values(**{"postgresql-port": "http", "key-name": None})
    machine, share = build(values=values)
    results = machine.execute()
    assert nodes(results) == ["read_config"]
    message = results[0].message
    assert message.startswith("acme invalid client config: ")
    assert "postgresql-port" in message
    assert "key-name is missing" in message
    assert share.mounts == 0


def test_a_config_for_another_client_is_refused():
    machine, _ = build(values=client_values(**{"client-name": "globex"}))
    results = machine.execute()
    assert "client-name is 'globex' but the job is for 'acme'" in results[0].message


def test_an_unreadable_config_source_is_one_failure():
    machine, _ = build(source_error=ConfigSourceError("cannot read Key Vault https://v: 404"))
    results = machine.execute()
    assert [(r.node, r.message) for r in results] == [
        ("read_config", "acme cannot read Key Vault https://v: 404")
    ]


def test_config_values_are_registered_as_secrets():
    redactor = Redactor()
    machine, _ = build(redactor=redactor)
    machine.execute()
    assert redactor.redact(f"password {PG_SECRET}") == "password *****"


def test_a_held_lock_refuses_the_run_with_its_own_message_and_touches_nothing():
    machine, share = build(lock_table={"acme": "pid 77, since 2026-11-28T01:00:00+00:00"})
    results = machine.execute()
    assert nodes(results) == ["read_config", "take_lock"]
    assert results[1].message == (
        "acme another run for acme is in progress (pid 77, since 2026-11-28T01:00:00+00:00)"
    )
    assert share.mounts == 0


def test_an_unknown_share_driver_releases_the_lock():
    table: dict[str, str] = {}
    machine, _ = build(lock_table=table, opener_error=ShareUnavailableError("no share driver"))
    results = machine.execute()
    assert nodes(results) == ["read_config", "take_lock", "open_share", "release_lock"]
    assert table == {}


def test_a_mount_failure_runs_nothing_and_releases_the_lock():
    table: dict[str, str] = {}
    share = InMemoryFileShare(mount_error=ShareUnavailableError("mount error(13): denied"))
    machine, _ = build(share=share, lock_table=table)
    results = machine.execute()
    assert nodes(results) == [*MOUNT_NODES, "release_lock"]
    assert results[3].message == "acme mount error(13): denied"
    assert table == {}


def test_an_inner_failure_still_unmounts():
    machine, share = build(inner=lambda ctx: Inner(ctx, "fail"))
    results = machine.execute()
    assert nodes(results) == [*MOUNT_NODES, "work", *AFTER]
    assert [r.ok for r in results].count(False) == 1
    assert share.unmounts == 1


def test_an_inner_crash_is_one_failure_and_still_unmounts():
    machine, share = build(inner=Exploding)
    results = machine.execute()
    assert nodes(results) == [*MOUNT_NODES, *AFTER]
    assert results[4].message == "acme unrecognized exception: inner crashed"
    assert share.unmounts == 1


def test_a_share_mounted_before_the_run_is_reused_and_left_mounted():
    share = InMemoryFileShare(already_mounted=True)
    machine, _ = build(share=share)
    machine.execute()
    assert share.unmounts == 0


def test_an_unmount_failure_is_reported_and_the_lock_still_released():
    table: dict[str, str] = {}
    share = InMemoryFileShare(unmount_error=ShareUnavailableError("target is busy"))
    machine, _ = build(share=share, lock_table=table)
    results = machine.execute()
    assert nodes(results) == [*MOUNT_NODES, "work", *AFTER]
    assert results[-2].message == "acme target is busy"
    assert table == {}


class BrokenMount(MountShareMachine):
    """A mount machine whose own node breaks its declaration after mounting."""

    def run_machine(self) -> Step:
        return self.success(self.report_results)  # not a declared exit: a runtime error


def test_the_dynamic_mounting_end_point_unmounts_even_when_the_machine_itself_breaks():
    share, table = InMemoryFileShare(), dict[str, str]()
    console, exit_ = RecordingConsole(), RecordingExit()

    def mount(inner):
        return BrokenMount(
            inner,
            job="backup",
            client="acme",
            source=InMemoryConfigSource(client_values()),
            opener=InMemoryShareOpener(share),
            redactor=Redactor(),
            lock=InMemoryLock(table),
        )

    DynamicMountingEndPoint(mount=mount, job=Inner, console=console, exit=exit_).execute()
    assert console.lines[0].startswith("Critical failure: node BrokenMount.run_machine left by")
    assert exit_.code == 1
    assert (share.mounts, share.unmounts, share.mounted) == (1, 1, False)
    assert table == {}


def test_a_job_that_never_started_is_summarised_by_the_job_name():
    console, exit_ = RecordingConsole(), RecordingExit()
    table = {"acme": "pid 77, since 2026-11-28T01:00:00+00:00"}

    def mount(inner):
        return build(inner=inner, lock_table=table)[0]

    DynamicMountingEndPoint(mount=mount, job=Inner, console=console, exit=exit_).execute()
    assert console.lines[-1] == "backup acme: not started, 1 failure"
    assert exit_.code == 1


def test_an_unset_slot_names_the_node_that_should_have_set_it():
    machine, _ = build()
    with pytest.raises(SlotUnsetError, match=r"MountShareMachine.share is read before open_share"):
        _ = machine.share
