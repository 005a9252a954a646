"""Class-time checks of machine declarations: each mistake has its own message."""

import pytest

from domain.framework.definition import LET_THROUGH, MachineDefinitionError, node
from domain.framework.machine import Machine, Step


def test_a_machine_without_an_entry_is_refused():
    with pytest.raises(MachineDefinitionError, match="declares no entry node"):

        class NoEntry(Machine):
            @node(happy=("report_results",), on_exception=LET_THROUGH)
            def act(self) -> Step:
                return self.success(self.report_results)


def test_a_machine_with_two_entries_is_refused_naming_both():
    with pytest.raises(MachineDefinitionError, match="several entry nodes: first, second"):

        class TwoEntries(Machine):
            @node(entry=True, happy=("second",), on_exception=LET_THROUGH)
            def first(self) -> Step:
                return self.success(self.second)

            @node(entry=True, happy=("report_results",), on_exception=LET_THROUGH)
            def second(self) -> Step:
                return self.success(self.report_results)


def test_an_exit_to_an_unknown_node_is_refused():
    with pytest.raises(MachineDefinitionError, match=r"Typo\.act exits to unknown node 'reprot'"):

        class Typo(Machine):
            @node(entry=True, happy=("report_results", "reprot"), on_exception=LET_THROUGH)
            def act(self) -> Step:
                return self.success(self.report_results)


def test_an_unreachable_node_is_refused():
    with pytest.raises(MachineDefinitionError, match="unreachable from 'act': orphan"):

        class Orphaned(Machine):
            @node(entry=True, happy=("report_results",), on_exception=LET_THROUGH)
            def act(self) -> Step:
                return self.success(self.report_results)

            @node(happy=("report_results",), on_exception=LET_THROUGH)
            def orphan(self) -> Step:
                return self.success(self.report_results)


def test_a_terminal_node_with_exits_is_refused():
    with pytest.raises(MachineDefinitionError, match=r"terminal node Looping\.report_results"):

        class Looping(Machine):
            @node(entry=True, happy=("report_results",), on_exception=LET_THROUGH)
            def act(self) -> Step:
                return self.success(self.report_results)

            @node(terminal=True, happy=("act",))
            def report_results(self) -> None:
                pass


def test_a_terminal_node_with_an_exception_target_is_refused():
    with pytest.raises(MachineDefinitionError, match="declares an exception target"):

        class Catching(Machine):
            @node(entry=True, happy=("report_results",), on_exception=LET_THROUGH)
            def act(self) -> Step:
                return self.success(self.report_results)

            @node(terminal=True, on_exception="act")
            def report_results(self) -> None:
                pass


def test_a_node_without_exits_that_is_not_terminal_is_refused():
    with pytest.raises(MachineDefinitionError, match=r"Dead\.act has no exits and is not terminal"):

        class Dead(Machine):
            @node(entry=True, on_exception=LET_THROUGH)
            def act(self) -> Step:
                return self.success(self.report_results)


def test_an_exception_target_that_is_not_an_unhappy_exit_is_refused():
    with pytest.raises(MachineDefinitionError, match="not an unhappy exit"):

        class WrongTarget(Machine):
            @node(entry=True, happy=("report_results",), on_exception="report_results")
            def act(self) -> Step:
                return self.success(self.report_results)


def test_a_node_must_say_where_exceptions_go():
    with pytest.raises(MachineDefinitionError, match="must declare on_exception"):

        class Silent(Machine):
            @node(entry=True, happy=("report_results",))
            def act(self) -> Step:
                return self.success(self.report_results)


def test_a_node_exiting_to_itself_is_refused():
    with pytest.raises(MachineDefinitionError, match="exits to itself"):

        class Self(Machine):
            @node(entry=True, happy=("act", "report_results"), on_exception=LET_THROUGH)
            def act(self) -> Step:
                return self.success(self.report_results)


def test_the_entry_cannot_be_terminal():
    with pytest.raises(MachineDefinitionError):

        class TerminalEntry(Machine):
            @node(entry=True, terminal=True)
            def report_results(self) -> None:
                pass


def test_a_machine_without_report_results_is_refused():
    with pytest.raises(MachineDefinitionError, match="no terminal node 'report_results'"):

        class NoReport(Machine):
            @node(entry=True, happy=("done",), on_exception=LET_THROUGH)
            def act(self) -> Step:
                return self.success(self.done)

            @node(terminal=False, happy=("act",), on_exception=LET_THROUGH)
            def done(self) -> Step:
                return self.success(self.act)

            @node(terminal=False, happy=("act",), on_exception=LET_THROUGH)
            def report_results(self) -> Step:  # type: ignore[override]
                return self.success(self.act)


def test_an_abstract_base_is_not_checked_but_its_subclasses_inherit_its_nodes():
    class Base(Machine, abstract=True):
        @node(happy=("report_results",), on_exception=LET_THROUGH)
        def shared(self) -> Step:
            return self.success(self.report_results)

    class Concrete(Base):
        @node(entry=True, happy=("shared",), on_exception=LET_THROUGH)
        def start(self) -> Step:
            return self.success(self.shared)

    assert [r.node for r in Concrete().execute()] == ["start", "shared"]
