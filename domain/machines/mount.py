"""Prepare a client and its share, run a job's machine on it, always let go (SPEC section 4).

`MountShareMachine` is the one share lifecycle every job on a client's share runs in: it reads and
validates the client config, takes the client's lock (jobs that change the share), opens and
mounts the share, runs the job's machine, then unmounts (only what it mounted) and releases the
lock, also after failures and exceptions. Failure prefix: `<client>`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from domain.framework.definition import node
from domain.framework.machine import Machine, Step
from domain.framework.results import Result, failures
from domain.framework.slot import Slot
from domain.models.client_config import ClientConfig, ClientConfigError
from domain.models.metrics import JobMeasurements, Measured
from domain.models.redaction import Redactor
from domain.services.configs import read_client_config
from domain.services.share_lock import ShareLock
from ports.clock import Clock
from ports.config_source import ConfigSource
from ports.file_share import FileShare, MountOutcome, ShareOpener, ShareTarget
from ports.host_processes import HostProcesses
from ports.lock import HeldLock, Lock

logger = logging.getLogger("lts.mount")


@dataclass(frozen=True, slots=True)
class ClientContext:
    """What a job's machine receives: the validated config and the mounted share.

    `config_url` is the job's KEY_VAULT, the store the config was read from: a restore config
    must name it as its `backup-config-host` (SPEC 6.3); empty when the host did not say.
    """

    config: ClientConfig
    share: FileShare
    config_url: str = ""

    def share_lock(
        self,
        clock: Clock,
        owner: str,
        max_age: timedelta,
        processes: HostProcesses | None = None,
    ) -> ShareLock:
        """Return the lock marker on this client's share for a job that writes to it."""
        return ShareLock(
            share=self.share,
            clock=clock,
            client=self.config.client_name,
            owner=owner,
            max_age=max_age,
            processes=processes,
        )


JobMachineFactory = Callable[[ClientContext], Machine]
"""Builds a job's machine for a prepared client (the container passes `<job>_machine`)."""


class MountShareMachine(Machine):
    """Read config, lock, mount, run the job's machine, unmount, unlock.

    Args:
        inner: builds the job's machine.
        job: the job's name, for the summary when its machine never ran.
        client: CLIENT_NAME; the config's `client-name` must equal it.
        source: the client's config source.
        opener: builds the share adapter for `storage-unc`.
        redactor: learns the config's secrets.
        lock: the client's lock, for jobs that change the share; None for read-only jobs.
        config_url: the job's KEY_VAULT, handed on in the ClientContext.
    """

    config = Slot[ClientConfig]("read_config")
    share = Slot[FileShare]("open_share")

    def __init__(
        self,
        inner: JobMachineFactory,
        *,
        job: str,
        client: str,
        source: ConfigSource,
        opener: ShareOpener,
        redactor: Redactor,
        lock: Lock | None = None,
        config_url: str = "",
    ) -> None:
        super().__init__()
        self._config_url = config_url
        self._job = job
        self._client = client
        self._source = source
        self._opener = opener
        self._inner_factory = inner
        self._redactor = redactor
        self._lock = lock
        self._held: HeldLock | None = None
        self._mounted = False
        self.inner: Machine | None = None

    @property
    def prefix(self) -> str:
        """Return the client name."""
        return self._client

    @node(
        entry=True, happy=("take_lock",), unhappy=("report_results",), on_exception="report_results"
    )
    def read_config(self) -> Step:
        """Read every config key once and validate them into one model."""
        try:
            self.config = read_client_config(self._source, self._client, self._redactor)
        except ClientConfigError as exc:
            return self.failure(self.report_results, f"invalid client config: {exc}")
        return self.success(self.take_lock)

    @node(happy=("open_share",), unhappy=("report_results",), on_exception="report_results")
    def take_lock(self) -> Step:
        """Take the client's local lock, so two runs never work on one client at once."""
        if self._lock is not None:
            self._held = self._lock.acquire(self._client)
        return self.success(self.open_share)

    @node(happy=("mount_share",), unhappy=("release_lock",), on_exception="release_lock")
    def open_share(self) -> Step:
        """Build the share adapter that fits `storage-unc`."""
        config = self.config
        target = ShareTarget(
            client=self._client,
            unc=config.storage_unc,
            user=config.storage_name,
            key=config.storage_key,
        )
        self.share = self._opener.open(target)
        return self.success(self.mount_share)

    @node(happy=("run_machine",), unhappy=("release_lock",), on_exception="release_lock")
    def mount_share(self) -> Step:
        """Mount the share, or reuse a mount of the same share that is already there."""
        outcome = self.share.mount()
        self._mounted = outcome is MountOutcome.MOUNTED
        logger.info("share %s: %s", self.config.storage_unc, outcome)
        return self.success(self.run_machine)

    @node(happy=("unmount_share",), unhappy=("unmount_share",), on_exception="unmount_share")
    def run_machine(self) -> Step:
        """Run the job's machine on the mounted share; its results land before this one."""
        self.inner = self._inner_factory(ClientContext(self.config, self.share, self._config_url))
        self.add_results(self.inner.execute())
        return self.success(self.unmount_share)

    @node(
        happy=("release_lock",),
        unhappy=("release_lock",),
        on_exception="release_lock",
        cleanup=True,
    )
    def unmount_share(self) -> Step:
        """Unmount the share if this run mounted it."""
        if self._mounted:
            self._mounted = False
            self.share.unmount()
        return self.success(self.release_lock)

    @node(
        happy=("report_results",),
        unhappy=("report_results",),
        on_exception="report_results",
        cleanup=True,
    )
    def release_lock(self) -> Step:
        """Release the client's lock."""
        held, self._held = self._held, None
        if held is not None:
            held.release()
        return self.success(self.report_results)

    def release_all(self) -> None:
        """Unmount and unlock whatever is still held; the end point's last guard."""
        share = MountShareMachine.share.get(self)
        if self._mounted and share is not None:
            self._mounted = False
            try:
                share.unmount()
            except Exception:
                logger.exception("emergency unmount failed")
        held, self._held = self._held, None
        if held is not None:
            held.release()

    def measurements(self) -> JobMeasurements:
        """Return what the job's machine measured (nothing when it never ran)."""
        inner: object = self.inner  # mypy cannot picture a Machine that is also Measured
        if isinstance(inner, Measured):
            return inner.measurements()
        return JobMeasurements()

    def summary(self, results: list[Result]) -> str:
        """Return the job machine's summary, or say that the job never started."""
        if self.inner is not None:
            return self.inner.summary(results)
        return not_started(self._job, self._client, results)


def not_started(job: str, client: str, results: list[Result]) -> str:
    """Return the summary of a job that did not start (a lock refused it, say).

    The words are the same whichever machine refused, so one alert rule reads them all.
    """
    count = len(failures(results))
    return f"{job} {client}: not started, {count} failure{'s' if count != 1 else ''}"
