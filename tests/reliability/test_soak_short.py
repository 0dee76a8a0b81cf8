"""The soak's short form: pushes through the daemon's protocol against a sandbox failing 20% of the time in
every way it can, the daemon killed by SIGKILL and restarted; the sandbox's own records show nothing lost or
doubled."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from companion.bench.soak import SoakConfig, report, soak
from companion.sandbox.faults import FaultKind

PUSHES = 60


@pytest.mark.timeout(120)
async def test_pushes_through_faults_and_a_daemon_kill_reach_cats_exactly_once() -> None:
    result = await soak(SoakConfig(pushes=PUSHES, fault_rate=0.2, kills=1, seed=3, deadline=90))
    print(report(result))

    assert result.kills == 1
    assert not result.deadline_reached
    assert result.accepted == PUSHES and result.refused == 0
    assert result.lost == 0
    assert result.duplicates == 0
    assert result.notes_found == result.notes_expected == PUSHES
    assert result.records_found == PUSHES
    assert result.synced == PUSHES and result.failed_items == 0
    assert result.db_locked == 0
    # The faults really were there: about a fifth of the answers, of several kinds.
    injected = sum(result.faults.values())
    assert injected >= 0.1 * result.requests
    assert set(result.faults) <= {kind.value for kind in FaultKind}
    assert len(result.faults) >= 4


def test_the_bench_command_refuses_a_fault_rate_it_cannot_run() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "companion", "bench", "soak", "--fault-rate", "0.9"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "the fault rate must be between 0 and 0.5" in done.stderr


@pytest.mark.timeout(120)
def test_the_bench_command_prints_its_figures_as_json_on_the_last_line() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "companion", "bench", "soak", "--pushes", "6", "--kills", "1", "--json"],
        capture_output=True,
        text=True,
        timeout=110,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    wanted = {"accepted", "synced", "records_created", "duplicates", "notes_expected", "notes_found", "lost"}
    assert wanted | {"requests", "rate_limited", "kills"} <= set(figures)
    assert (figures["accepted"], figures["lost"], figures["duplicates"], figures["kills"]) == (6, 0, 0, 1)
    assert figures["notes_found"] == figures["notes_expected"] == 6
    assert "lost                0" in done.stdout
