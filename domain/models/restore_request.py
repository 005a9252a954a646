"""What an operator asked a restore, decrypt or verify job to do (from the command line)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import PurePath

from domain.models.run import RunId


class RunChoiceKind(StrEnum):
    """How runs are chosen: the newest, every one, or one by its id."""

    LATEST = "latest"
    ALL = "all"
    ONE = "one"


@dataclass(frozen=True, slots=True)
class RunChoice:
    """`--run RUN_ID|latest|all`."""

    kind: RunChoiceKind
    run_id: RunId | None = None

    @classmethod
    def parse(cls, text: str, *, allow_all: bool = False) -> RunChoice:
        """Parse `latest`, `all` (when allowed) or a run id; raise ValueError otherwise."""
        value = text.strip()
        if value == RunChoiceKind.LATEST:
            return cls(RunChoiceKind.LATEST)
        if value == RunChoiceKind.ALL and allow_all:
            return cls(RunChoiceKind.ALL)
        try:
            return cls(RunChoiceKind.ONE, RunId.parse(value))
        except ValueError:
            accepted = "a run id (YYYYMMDDTHHMMSSZ), latest" + (" or all" if allow_all else "")
            raise ValueError(f"--run must be {accepted}, not {text!r}") from None

    def __str__(self) -> str:
        return str(self.run_id) if self.run_id is not None else str(self.kind)


LATEST = RunChoice(RunChoiceKind.LATEST)
ALL = RunChoice(RunChoiceKind.ALL)


@dataclass(frozen=True, slots=True)
class RestoreRequest:
    """`restore`: one database of one run into a target database.

    Without any of `target_host`, `target_port`, `target_user` the target is the client's own
    server with the client's credentials; with any of them, the operator's (PGPASSWORD or
    ~/.pgpass).
    """

    database: str
    target_database: str
    run: RunChoice = LATEST
    target_host: str | None = None
    target_port: int | None = None
    target_user: str | None = None
    jobs: int = 1
    clean: bool = False
    keep_owners: bool = False
    globals: bool = False

    @property
    def other_target(self) -> bool:
        """Tell whether the operator named another server or login than the client's."""
        return any(v is not None for v in (self.target_host, self.target_port, self.target_user))


@dataclass(frozen=True, slots=True)
class DecryptRequest:
    """`decrypt`: one database's dump of one run into a local 0600 file, or plain SQL."""

    database: str
    output: PurePath
    run: RunChoice = LATEST
    sql: bool = False


@dataclass(frozen=True, slots=True)
class VerifyRequest:
    """`verify`: which runs to check, and whether to check the audit logs' chains (`--logs`).

    `runs` is False for `verify --logs` without `--run`: the logs alone are checked.
    """

    run: RunChoice = LATEST
    logs: bool = False
    runs: bool = True


@dataclass(frozen=True, slots=True)
class RekeyRequest:
    """`rekey`: which runs to re-encrypt to the current keys, or only list them (`--dry-run`)."""

    run: RunChoice = ALL
    dry_run: bool = False


@dataclass(frozen=True, slots=True)
class DrillRequest:
    """`drill`: restore a run's databases into scratch databases on a server, compare the rows.

    `databases` empty means every database the run holds an ok dump of. The target login's
    password comes from PGPASSWORD or ~/.pgpass, as for a restore to another server.
    """

    target_host: str
    run: RunChoice = LATEST
    target_port: int | None = None
    target_user: str | None = None
    databases: tuple[str, ...] = ()
