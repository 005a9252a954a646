"""Read one client's share and keys for the fleet report, changing nothing (SPEC section 16).

Runs inside MountShareMachine without the client's lock: it takes no share lock marker and
writes nothing to the share. It reads every run directory's manifest and HOLD file, the drills
log, asks the retention planner what retention would keep past its retention (without deleting
anything), and loads the public key (into a throw-away keyring off the share) to learn when it
expires. Failure prefix: `<client>`.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from pathlib import PurePosixPath

from domain.framework.definition import node
from domain.framework.machine import Machine, Step
from domain.framework.slot import Slot
from domain.machines.mount import ClientContext
from domain.machines.retention import RetentionOptions
from domain.models.manifest import ManifestDigest
from domain.models.report import ClientSurvey, DrillRecord, SurveyedDump, SurveyedRun
from domain.models.retention import (
    RetentionConfigError,
    RetentionPolicy,
    RunFacts,
    database_statuses,
)
from domain.models.run import StoredRun, Tier
from domain.rules.retention import plan_retention
from domain.services.audit_log import AuditLog
from domain.services.catalog import RunCatalog
from domain.services.holds import read_hold
from domain.services.job_metrics import key_expiries
from ports.clock import Clock
from ports.encryptor import Encryptor, Recipients
from ports.errors import InvalidManifestError
from ports.file_share import FileShare

logger = logging.getLogger("lts.report")

DRILLS_LOG = PurePosixPath("drills.jsonl")
"""The drill job's log at the share root (SPEC 13): one JSON object per drill."""


class SurveyClientMachine(Machine):
    """Survey a client's runs, holds, drills, retention alerts and keys."""

    recipients = Slot[Recipients]("load_public_key")

    def __init__(
        self,
        context: ClientContext,
        *,
        encryptor: Encryptor,
        clock: Clock,
        retention: RetentionOptions,
    ) -> None:
        super().__init__()
        self._config = context.config
        self._share = context.share
        self._encryptor = encryptor
        self._clock = clock
        self._retention = retention
        self._read: list[tuple[StoredRun, ManifestDigest | None, SurveyedRun]] = []
        self._drills: list[DrillRecord] = []
        self._alerts: list[str] = []
        self._retention_problem = ""
        self.surveyed = False

    @property
    def prefix(self) -> str:
        """Return the client name."""
        return self._config.client_name

    @node(
        entry=True,
        happy=("read_drills",),
        unhappy=("report_results",),
        on_exception="report_results",
    )
    def survey_runs(self) -> Step:
        """Read every run directory's manifest and HOLD file."""
        catalog = RunCatalog(self._share)
        for tier in Tier:
            for run in catalog.runs(tier, include_partial=True):
                digest = None if run.partial else self._digest(catalog, run)
                self._read.append((run, digest, _surveyed(run, digest, self._share)))
        self.surveyed = True
        return self.success(self.read_drills)

    @node(happy=("plan_retention",), unhappy=("plan_retention",), on_exception="plan_retention")
    def read_drills(self) -> Step:
        """Read the drills log, if the drill job ever ran."""
        for line in AuditLog(self._share, DRILLS_LOG).lines():
            drill = parse_drill(line)
            if drill is not None:
                self._drills.append(drill)
        return self.success(self.plan_retention)

    @node(happy=("load_public_key",), unhappy=("load_public_key",), on_exception="load_public_key")
    def plan_retention(self) -> Step:
        """Ask the retention planner what it would keep past retention; delete nothing."""
        config = self._config
        try:
            policy = RetentionPolicy(
                end_of_month_days=config.end_of_month_retention,
                end_of_year_days=config.end_of_year_retention,
                minimum_keep=self._retention.minimum_keep,
                partial_max_age=self._retention.partial_max_age,
            )
        except RetentionConfigError as exc:
            self._retention_problem = f"retention is not sane: {exc}"
            return self.success(self.load_public_key)
        facts = [
            RunFacts(
                tier=run.tier,
                period=run.period,
                run_id=run.run_id,
                databases=database_statuses(digest),
                held=surveyed.hold is not None,
                partial=run.partial,
            )
            for run, digest, surveyed in self._read
        ]
        plan = plan_retention(facts, policy, self._clock.now())
        self._alerts = [alert.message for alert in plan.alerts]
        return self.success(self.load_public_key)

    @node(happy=("dispose_public_key",), unhappy=("report_results",), on_exception="report_results")
    def load_public_key(self) -> Step:
        """Load the public key (and escrow key) to learn when they stop encrypting."""
        config = self._config
        self.recipients = self._encryptor.load(
            config.public_key, config.key_name, config.escrow_public_key
        )
        return self.success(self.dispose_public_key)

    @node(
        happy=("report_results",),
        unhappy=("report_results",),
        on_exception="report_results",
        cleanup=True,
    )
    def dispose_public_key(self) -> Step:
        """Remove the throw-away keyring."""
        self.recipients.close()
        return self.success(self.report_results)

    @property
    def survey(self) -> ClientSurvey:
        """Return what was found (call after the run; `surveyed` tells whether runs were read)."""
        recipients = SurveyClientMachine.recipients.get(self)
        return ClientSurvey(
            runs=tuple(surveyed for _, _, surveyed in self._read),
            end_of_month_days=self._config.end_of_month_retention,
            end_of_year_days=self._config.end_of_year_retention,
            drills=tuple(self._drills),
            retention_alerts=tuple(self._alerts),
            retention_problem=self._retention_problem,
            keys=key_expiries(recipients.info) if recipients is not None else (),
        )

    @staticmethod
    def _digest(catalog: RunCatalog, run: StoredRun) -> ManifestDigest | None:
        try:
            return catalog.digest(run)
        except InvalidManifestError as exc:
            logger.warning("%s", exc)
            return None


def _surveyed(run: StoredRun, digest: ManifestDigest | None, share: FileShare) -> SurveyedRun:
    return SurveyedRun(
        run=run,
        readable=digest is not None,
        databases=tuple(
            SurveyedDump(entry.name, entry.status, entry.bytes, entry.error)
            for entry in (digest.databases if digest else [])
        ),
        eoy_month=digest.eoy_month if digest else None,
        hold=read_hold(share, run.path),
    )


def parse_drill(line: str) -> DrillRecord | None:
    """Read one line of drills.jsonl leniently; None for a line that names no run.

    The run is `run` or `run_id` (a run id, or a run path ending in one); the outcome `ok`
    (true or false), or `status`/`result` (`ok`, `passed`, `success` or `failed`, `error`); the
    time `time`, `finished` or `started`; a `detail`, `error` or `message` explains a failure.
    """
    try:
        value = json.loads(line)
    except ValueError:
        return None
    if not isinstance(value, dict):
        return None
    run = value.get("run_id", value.get("run"))
    if not isinstance(run, str) or not run:
        return None
    ok = value.get("ok")
    if not isinstance(ok, bool):
        status = str(value.get("status", value.get("result", ""))).lower()
        ok = True if status in ("ok", "passed", "success") else False if status else None
        if status not in ("", "ok", "passed", "success", "failed", "error", "failure"):
            ok = None
    when = value.get("time", value.get("finished", value.get("started")))
    try:
        time = datetime.fromisoformat(when) if isinstance(when, str) else None
    except ValueError:
        time = None
    detail = next((str(value[k]) for k in ("detail", "error", "message") if value.get(k)), "")
    return DrillRecord(PurePosixPath(run).name, time, ok, detail[:300])
