"""50 concurrent lookups from several clients while a full sync of thousands of companies and a push batch run
on the same daemon: no "database is locked", every answer right, none much slower than with an idle daemon.

The latency bound is a timing assertion, which the project otherwise avoids in tests; it is made robust for a
busy 2-core CI machine by comparing the slowest of thousands of loaded lookups with ten times the idle p99 of
the same 50-at-once rounds (which already includes queueing behind 49 others), never below LATENCY_FLOOR.
benchmarks/concurrency_bench.py prints the same figures for a bigger run.
"""

from __future__ import annotations

import pytest

from companion.bench.concurrency import Scenario, run_scenario

#: Below this, a "10x slower" lookup is still instant for a recruiter; it absorbs scheduler noise.
LATENCY_FLOOR = 0.05
PUSHES = 40


@pytest.mark.timeout(240)
async def test_lookups_stay_fast_and_right_during_a_full_sync_and_a_push_batch() -> None:
    figures = await run_scenario(Scenario(companies=3000, pushes=PUSHES, seed=11), say=print)
    print(figures.table())

    assert figures.errors == []
    assert figures.db_locked == 0 and figures.log_errors == 0
    assert figures.pushes_synced == PUSHES
    assert len(figures.idle.samples) >= 300 and len(figures.loaded.samples) >= 300
    bound = max(10 * figures.idle.p99, LATENCY_FLOOR)
    assert figures.loaded.max <= bound, (
        f"slowest loaded lookup {figures.loaded.max * 1000:.0f} ms > {bound * 1000:.0f} ms "
        f"(10 x idle p99 {figures.idle.p99 * 1000:.1f} ms)"
    )
