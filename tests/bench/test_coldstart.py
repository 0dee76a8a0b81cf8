"""`cats-companion bench coldstart`: the host against the bare echo host in the same run, as a ratio."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from companion.bench.coldstart import TARGET_RATIO, ColdStart, echo_command, measure


def test_the_headline_is_the_ratio_of_the_p50s_against_the_target() -> None:
    fast = ColdStart(host={"p50_ms": 40.0}, echo={"p50_ms": 20.0})
    assert fast.ratio == 2.0 and fast.meets_target()
    assert "2.00x (meets the 2.5x target)" in fast.report()
    slow = ColdStart(host={"p50_ms": 84.0}, echo={"p50_ms": 20.0})
    assert not slow.meets_target() and "MISSES" in slow.report()
    assert slow.to_json()["ratio"] == 4.2 and slow.to_json()["target_ratio"] == TARGET_RATIO


def test_the_echo_host_answers_a_frame_like_a_host_started_the_same_way() -> None:
    # The echo host measured against itself: both sides run, each answers, the ratio is a number.
    result = measure(echo_command(), dict(os.environ), runs=2)
    assert result.echo["p50_ms"] > 0 and result.host["p50_ms"] > 0
    assert "-S" in echo_command()


def test_a_short_run_against_a_real_daemon_ends_with_the_json_line(tmp_path: Path) -> None:
    env = {**os.environ, "CATS_COMPANION_HOME": str(tmp_path / "home")}
    done = subprocess.run(
        [sys.executable, "-m", "companion", "bench", "coldstart", "--runs", "2", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout.splitlines()[-1])
    assert figures["ratio"] > 0 and figures["host"]["p50_ms"] > 0 and figures["echo_host"]["p50_ms"] > 0
    assert "ratio host/echo p50" in done.stdout
