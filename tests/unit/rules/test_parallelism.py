"""The worker pool and zstd's threads, sized together from the CPUs (domain/rules/parallelism)."""

import pytest

from domain.rules.parallelism import Parallelism, compressor_threads, plan_parallelism


@pytest.mark.parametrize("cpus", [1, 2, 4, 16])
def test_auto_dumps_one_database_per_cpu_with_one_zstd_thread_each(cpus):
    assert plan_parallelism(cpus, "auto") == Parallelism(pool=cpus, compressor_threads=1)


@pytest.mark.parametrize(
    ("cpus", "pool", "threads"),
    [(2, 1, 2), (8, 2, 4), (8, 3, 2), (4, 4, 1), (2, 4, 1), (16, 5, 3)],
)
def test_an_explicit_pool_shares_the_cpus_out_among_the_compressors(cpus, pool, threads):
    plan = plan_parallelism(cpus, pool)
    assert plan == Parallelism(pool=pool, compressor_threads=threads)


@pytest.mark.parametrize(("cpus", "pool"), [(2, 1), (8, 3), (16, 5), (4, "auto"), (3, 2)])
def test_the_compressors_never_get_more_threads_in_all_than_there_are_cpus(cpus, pool):
    plan = plan_parallelism(cpus, pool)
    assert plan.pool * plan.compressor_threads <= max(cpus, plan.pool)


def test_a_host_reporting_no_cpus_still_gets_one_worker_and_one_thread():
    assert plan_parallelism(0) == Parallelism(pool=1, compressor_threads=1)


@pytest.mark.parametrize(
    ("cpus", "pool", "databases", "threads"),
    [(2, 2, 1, 2), (8, 8, 1, 8), (8, 8, 3, 2), (8, 8, 20, 1), (8, 2, 1, 8), (2, 2, 0, 2)],
)
def test_a_run_of_fewer_databases_than_the_pool_gives_each_zstd_the_idle_workers_cpus(
    cpus, pool, databases, threads
):
    assert compressor_threads(cpus, pool, databases) == threads


@pytest.mark.parametrize(("cpus", "pool"), [(2, 2), (8, 3), (16, 5), (4, 1), (3, 2)])
@pytest.mark.parametrize("databases", [1, 2, 3, 7, 40])
def test_the_dumps_that_run_at_once_never_get_more_threads_in_all_than_there_are_cpus(
    cpus, pool, databases
):
    at_once = min(pool, databases)
    assert at_once * compressor_threads(cpus, pool, databases) <= max(cpus, at_once)
