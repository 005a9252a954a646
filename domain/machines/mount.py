"""Prepare a client, mount its share, run a job's machine, always unmount (SPEC section 4).

`MountShareMachine` reads and validates the client config, takes the client's lock, opens and
mounts the share, runs the wrapped machine, then unmounts (only what it mounted) and releases the
lock, also after failures and exceptions. Failure prefix: `<client>`.
`DynamicMountingEndPoint` runs it and, as a last guard, unmounts and unlocks even when the
machine itself breaks.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from domain.framework.definition import node
from domain.framework.endpoints import EndPoint
from domain.framework.machine import Machine, Step
from domain.framework.results import Result
from domain.models.client_config import ClientConfig, ClientConfigError
from domain.models.redaction import Redactor
from ports.config_source import ConfigSource
from ports.file_share import FileShare, MountOutcome, ShareOpener, ShareTarget
from ports.lock import Lock

logger = logging.getLogger("lts.mount")


@dataclass(frozen=True, slots=True)
class ClientContext:
    """What a job's machine receives: the validated config and the mounted share."""

    config: ClientConfig
    share: FileShare


def read_client_config(source: ConfigSource, client: str, redactor: Redactor) -> ClientConfig:
    """Read every client config key once, mask its secrets, and validate the whole.

    Raises:
        ClientConfigError: every problem of the config, at once.
        ConfigSourceError: the store cannot be read.
    """
    raw = source.read(ClientConfig.keys())
    redactor.add(*(raw.get(key) for key in ClientConfig.secret_keys()))
    return ClientConfig.from_raw(raw, client)


class MountShareMachine(Machine):
    """Read config, lock, mount, run the wrapped machine, unmount, unlock."""

    def __init__(
        self,
        *,
        client: str,
        source: ConfigSource,
        opener: ShareOpener,
        inner: Callable[[ClientContext], Machine],
        redactor: Redactor,
        lock: Lock | None = None,
    ) -> None:
        super().__init__()
        self._client = client
        self._source = source
        self._opener = opener
        self._inner_factory = inner
        self._redactor = redactor
        self._lock = lock
        self._config: ClientConfig | None = None
        self._share: FileShare | None = None
        self._inner: Machine | None = None
        self._mounted = False
        self._locked = False

    @property
    def prefix(self) -> str:
        """Return the client name."""
        return self._client

    @property
    def config(self) -> ClientConfig:
        """Return the config read by `read_config`."""
        if self._config is None:
            raise RuntimeError("read_config has not run")
        return self._config

    @node(
        entry=True, happy=("take_lock",), unhappy=("report_results",), on_exception="report_results"
    )
    def read_config(self) -> Step:
        """Read every config key once and validate them into one model."""
        try:
            self._config = read_client_config(self._source, self._client, self._redactor)
        except ClientConfigError as exc:
            return self.failure(self.report_results, f"invalid client config: {exc}")
        return self.success(self.take_lock)

    @node(happy=("open_share",), unhappy=("report_results",), on_exception="report_results")
    def take_lock(self) -> Step:
        """Take the client's local lock, so two runs never work on one client at once."""
        if self._lock is not None:
            self._lock.acquire(self._client)
            self._locked = True
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
        self._share = self._opener.open(target)
        return self.success(self.mount_share)

    @node(happy=("run_machine",), unhappy=("release_lock",), on_exception="release_lock")
    def mount_share(self) -> Step:
        """Mount the share, or reuse a mount of the same share that is already there."""
        outcome = self._opened().mount()
        self._mounted = outcome is MountOutcome.MOUNTED
        logger.info("share %s: %s", self.config.storage_unc, outcome)
        return self.success(self.run_machine)

    @node(happy=("unmount_share",), unhappy=("unmount_share",), on_exception="unmount_share")
    def run_machine(self) -> Step:
        """Run the job's machine on the mounted share; its results land before this one."""
        self._inner = self._inner_factory(ClientContext(self.config, self._opened()))
        self.add_results(self._inner.execute())
        return self.success(self.unmount_share)

    @node(happy=("release_lock",), unhappy=("release_lock",), on_exception="release_lock")
    def unmount_share(self) -> Step:
        """Unmount the share if this run mounted it."""
        if self._mounted:
            self._mounted = False
            self._opened().unmount()
        return self.success(self.release_lock)

    @node(happy=("report_results",), unhappy=("report_results",), on_exception="report_results")
    def release_lock(self) -> Step:
        """Release the client's lock."""
        if self._locked:
            self._locked = False
            if self._lock is not None:
                self._lock.release()
        return self.success(self.report_results)

    def release_all(self) -> None:
        """Unmount and unlock whatever is still held; used when the machine itself broke."""
        if self._mounted and self._share is not None:
            self._mounted = False
            try:
                self._share.unmount()
            except Exception:
                logger.exception("emergency unmount failed")
        if self._locked and self._lock is not None:
            self._locked = False
            self._lock.release()

    def summary(self, results: list[Result]) -> str:
        """Return the wrapped machine's summary, or this machine's when it never ran."""
        if self._inner is not None:
            return self._inner.summary(results)
        return super().summary(results)

    def _opened(self) -> FileShare:
        if self._share is None:
            raise RuntimeError("open_share has not run")
        return self._share


class DynamicMountingEndPoint(EndPoint):
    """An end point around a MountShareMachine that never leaves a mount or a lock behind."""

    def _after(self, machine: Machine) -> None:
        if isinstance(machine, MountShareMachine):
            machine.release_all()
