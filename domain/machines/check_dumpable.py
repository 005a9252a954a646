"""Find what would make pg_dump fail, database by database, before the first run (SPEC 5, 13).

Children of the check job. `CheckReadableMachine` asks the server which tables, sequences and
large objects of one database the backup role cannot read (a missing SELECT or USAGE, row-level
security without BYPASSRLS, a large object of another owner: `pg_read_all_data` does not cover
large objects) and reports each one as a result line of its own (`UnreadableObjectMachine`), the
first `MAX_OBJECTS_SHOWN` by name, the rest counted in one more line and listed in the log.
`ProbeDumpMachine` then runs the chosen pg_dump itself on the database's schema, to nowhere: the
ground truth for anything else pg_dump would refuse. Failure prefix: `<client> <database>`.
"""

from __future__ import annotations

import logging

from domain.framework.definition import node
from domain.framework.machine import Machine, Step
from domain.framework.slot import Slot
from ports.database import Database, ServerTarget
from ports.dumper import DumpTool

logger = logging.getLogger("lts.check")

MAX_OBJECTS_SHOWN = 10
"""Unreadable objects of one database named one per result line; the rest are counted."""


def hint(finding: str) -> str:
    """Return what to grant the backup role so that it can read the object of `finding`."""
    if finding.startswith("large object"):
        return "grant it SELECT on the large object, or make it a member of the owner"
    if "row-level security" in finding:
        return "give it BYPASSRLS (pg_dump reads every row, policies or not)"
    if "no USAGE on schema" in finding:
        return "grant it USAGE on the schema, or pg_read_all_data"
    return "grant it SELECT, or pg_read_all_data"


class OneDatabaseMachine(Machine, abstract=True):
    """A check of one database of a client: failure prefix `<client> <database>`."""

    def __init__(self, *, client: str, database: str) -> None:
        super().__init__()
        self._client = client
        self.database = database

    @property
    def prefix(self) -> str:
        """Return `<client> <database>`."""
        return f"{self._client} {self.database}"


class UnreadableObjectMachine(OneDatabaseMachine):
    """Report one object the backup role cannot read: one result line naming it."""

    def __init__(self, *, client: str, database: str, role: str, finding: str) -> None:
        super().__init__(client=client, database=database)
        self._role = role
        self.finding = finding

    @node(
        entry=True,
        happy=("report_results",),
        unhappy=("report_results",),
        on_exception="report_results",
    )
    def report_unreadable(self) -> Step:
        """Name the object, why pg_dump would fail on it, and what to grant."""
        return self.failure(
            self.report_results,
            f"{self.finding} cannot be read by the backup role {self._role}, so pg_dump would "
            f"fail: {hint(self.finding)}",
        )


class CheckReadableMachine(OneDatabaseMachine):
    """Find everything of one database pg_dump must read and the backup role cannot."""

    found = Slot[list[str]]("find_unreadable")

    def __init__(
        self, *, client: str, database: str, role: str, target: ServerTarget, server: Database
    ) -> None:
        super().__init__(client=client, database=database)
        self._role = role
        self._target = target
        self._server = server

    @property
    def unreadable(self) -> bool:
        """Tell whether something of the database cannot be read (or could not be checked)."""
        found = CheckReadableMachine.found.get(self)
        return found is None or bool(found)

    @node(
        entry=True,
        happy=("report_unreadable", "report_results"),
        unhappy=("report_results",),
        on_exception="report_results",
    )
    def find_unreadable(self) -> Step:
        """Ask the server for the tables, sequences and large objects the role cannot read."""
        server, target = self._server, self._target
        self.found = [
            *server.unreadable_tables(target, self.database),
            *server.unreadable_large_objects(target, self.database),
        ]
        if not self.found:
            return self.success(self.report_results)
        logger.warning("%s cannot read in %s: %s", self._role, self.database, self.found)
        return self.success(self.report_unreadable)

    @node(happy=("report_results",), unhappy=("report_results",), on_exception="report_results")
    def report_unreadable(self) -> Step:
        """Report each unreadable object as a line of its own (the first ones by name)."""
        found = self.found
        shown = found[:MAX_OBJECTS_SHOWN]
        if len(found) > MAX_OBJECTS_SHOWN:
            shown.append(f"and {len(found) - MAX_OBJECTS_SHOWN} more objects (listed in the log)")
        for finding in shown:
            child = UnreadableObjectMachine(
                client=self._client, database=self.database, role=self._role, finding=finding
            )
            self.add_results(child.execute())
        return self.success(self.report_results)


class ProbeDumpMachine(OneDatabaseMachine):
    """Run pg_dump of one database's schema into nowhere, as the backup role."""

    def __init__(self, *, client: str, database: str, target: ServerTarget, tool: DumpTool) -> None:
        super().__init__(client=client, database=database)
        self._target = target
        self._tool = tool

    @node(
        entry=True,
        happy=("report_results",),
        unhappy=("report_results",),
        on_exception="report_results",
    )
    def probe_dump(self) -> Step:
        """Run `pg_dump --schema-only` to /dev/null; its refusal names what it cannot read."""
        self._tool.probe(self._target, self.database)
        return self.success(self.report_results)
