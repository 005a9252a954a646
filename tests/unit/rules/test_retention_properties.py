"""plan_retention over generated histories, checked against the SPEC section 8 rules as written.

The reference below is deliberately naive (quadratic, one rule at a time) so that it reads like
the SPEC; the planner must agree with it on every generated history.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.models.manifest import DumpStatus
from domain.models.retention import (
    DeletionRule,
    KeepRail,
    RetentionPlan,
    RetentionPolicy,
    RunFacts,
)
from domain.models.run import RunId, Tier
from domain.rules.retention import plan_retention

EPOCH = datetime(2015, 1, 1, tzinfo=UTC)
NAMES = ("a", "b", "c", "d")
SETTINGS = settings(max_examples=200, deadline=None)


STATUSES = (None, DumpStatus.OK, DumpStatus.FAILED)  # per name: absent, ok, failed
UNREADABLE = len(STATUSES) ** len(NAMES)


def to_run(slot: int, tier: Tier, databases_code: int, held: int, partial: int) -> RunFacts:
    """Build a run from a few small integers: cheap to draw and to shrink."""
    # A coarse grid of start times (about monthly, over ten years, two per day) makes equal run
    # ids across tiers happen now and then.
    started = EPOCH + timedelta(days=30 * (slot // 2), hours=12 * (slot % 2))
    period = f"FY{started.year}" if tier is Tier.END_OF_YEAR else started.strftime("%Y-%m")
    databases: dict[str, DumpStatus] | None = None
    if databases_code != UNREADABLE:
        databases = {}
        for name in NAMES:
            databases_code, digit = divmod(databases_code, len(STATUSES))
            status = STATUSES[digit]
            if status is not None:
                databases[name] = status
    return RunFacts(tier, period, RunId(started), databases, held=held == 9, partial=partial == 5)


run_facts = st.builds(
    to_run,
    st.integers(0, 241),
    st.sampled_from(Tier),
    st.integers(0, UNREADABLE),
    st.integers(0, 9),
    st.integers(0, 5),
)


def place(run: RunFacts) -> tuple[datetime, Tier, bool]:
    return (run.run_id.started, run.tier, run.partial)


# Hypothesis favours short lists; drawing the length first gives long histories their share.
histories = st.integers(0, 30).flatmap(
    lambda size: st.lists(run_facts, min_size=size, max_size=size, unique_by=place)
)
policies = st.builds(
    RetentionPolicy,
    end_of_month_days=st.integers(1, 3 * 365),
    end_of_year_days=st.integers(1, 6 * 365),
    minimum_keep=st.integers(0, 3),
    partial_max_age=st.integers(1, 72 * 3600).map(lambda s: timedelta(seconds=s)),
)
nows = st.integers(2 * 365 * 86400, 13 * 365 * 86400).map(lambda s: EPOCH + timedelta(seconds=s))


class Reference:
    """The SPEC section 8 rules, one at a time, without cleverness."""

    def __init__(self, runs: list[RunFacts], policy: RetentionPolicy, now: datetime):
        self.runs, self.policy, self.now = runs, policy, now
        # Published runs with a readable manifest, with their statuses.
        self.readable = {r: r.databases for r in runs if not r.partial and r.databases is not None}

    def expired(self, run: RunFacts) -> bool:
        age = self.policy.partial_max_age if run.partial else timedelta(self.policy.days(run.tier))
        return run.run_id.started < self.now - age

    def protected(self, run: RunFacts) -> bool:
        complete = [
            r
            for r, databases in self.readable.items()
            if r.tier is run.tier and all(s is DumpStatus.OK for s in databases.values())
        ]
        complete.sort(key=lambda r: r.run_id, reverse=True)
        return run in complete[: self.policy.minimum_keep]

    def last_good_of(self, run: RunFacts) -> tuple[str, ...]:
        if run not in self.readable:
            return ()
        newer = [dbs for r, dbs in self.readable.items() if r.run_id > run.run_id]
        held: list[str] = []
        for name, status in self.readable[run].items():
            if status is not DumpStatus.OK:
                continue
            if any(databases.get(name) is DumpStatus.OK for databases in newer):
                continue  # a newer good copy exists
            if newer and not any(name in databases for databases in newer):
                continue  # dropped or excluded: missing from every newer run
            held.append(name)
        return tuple(sorted(held))

    def rails(self, run: RunFacts) -> tuple[KeepRail, ...]:
        found = []
        if run.held:
            found.append(KeepRail.LEGAL_HOLD)
        if not run.partial and self.protected(run):
            found.append(KeepRail.MINIMUM_KEEP)
        if not run.partial and self.last_good_of(run):
            found.append(KeepRail.LAST_GOOD_COPY)
        return tuple(found)


def deleted(plan: RetentionPlan) -> list[RunFacts]:
    return [d.run for d in plan.deletions]


@SETTINGS
@given(histories, policies, nows)
def test_the_plan_never_deletes_a_held_newest_complete_last_good_or_unexpired_run(
    runs, policy, now
):
    plan = plan_retention(runs, policy, now)
    ref = Reference(runs, policy, now)

    for run in deleted(plan):
        assert ref.expired(run)
        assert not run.held
        assert run.partial or not ref.protected(run)
        assert not ref.last_good_of(run)


@SETTINGS
@given(histories, policies, nows)
def test_the_plan_deletes_every_other_expired_run_by_the_right_rule(runs, policy, now):
    plan = plan_retention(runs, policy, now)
    ref = Reference(runs, policy, now)

    expected = {
        place(run): DeletionRule.PARTIAL_DEBRIS if run.partial else DeletionRule.EXPIRED
        for run in runs
        if ref.expired(run) and not ref.rails(run)
    }
    assert {place(d.run): d.rule for d in plan.deletions} == expected


@SETTINGS
@given(histories, policies, nows)
def test_kept_runs_are_exactly_the_expired_ones_a_rail_saves_and_name_every_rail(runs, policy, now):
    plan = plan_retention(runs, policy, now)
    ref = Reference(runs, policy, now)

    expected = {
        place(run): (ref.rails(run), ref.last_good_of(run))
        for run in runs
        if ref.expired(run) and ref.rails(run)
    }
    assert {place(k.run): (k.rails, k.last_good_of) for k in plan.kept} == expected


@SETTINGS
@given(histories, policies, nows)
def test_every_expired_last_good_copy_raises_one_alert_naming_its_databases(runs, policy, now):
    plan = plan_retention(runs, policy, now)
    ref = Reference(runs, policy, now)

    expected = {
        place(run): ref.last_good_of(run)
        for run in runs
        if not run.partial and ref.expired(run) and ref.last_good_of(run)
    }
    assert {place(a.run): a.databases for a in plan.alerts} == expected
    assert len(plan.alerts) == len(expected)


@SETTINGS
@given(histories, policies, nows)
def test_each_run_appears_at_most_once_and_deletions_come_oldest_first(runs, policy, now):
    plan = plan_retention(runs, policy, now)

    places = [place(d.run) for d in plan.deletions] + [place(k.run) for k in plan.kept]
    assert len(places) == len(set(places))
    times = [d.run.run_id for d in plan.deletions]
    assert times == sorted(times)


@SETTINGS
@given(histories, policies, nows, st.randoms(use_true_random=False))
def test_the_plan_does_not_depend_on_the_order_of_the_runs(runs, policy, now, rng: random.Random):
    shuffled = runs[:]
    rng.shuffle(shuffled)

    assert plan_retention(shuffled, policy, now) == plan_retention(runs, policy, now)


@SETTINGS
@given(histories.filter(bool), policies, st.data())
def test_a_run_expires_only_once_strictly_older_than_its_retention(runs, policy, data):
    run = data.draw(st.sampled_from(runs))
    age = policy.partial_max_age if run.partial else timedelta(days=policy.days(run.tier))
    at_boundary = run.run_id.started + age

    ref = Reference(runs, policy, at_boundary + timedelta(seconds=1))
    later = plan_retention(runs, policy, at_boundary + timedelta(seconds=1))

    assert run not in deleted(plan_retention(runs, policy, at_boundary))
    assert (run in deleted(later)) == (not ref.rails(run))
