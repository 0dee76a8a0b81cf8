"""`cats-companion bench roundtrip`: its statistics, and a short real run in Chromium ending in its JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from companion.bench.roundtrip import Percentiles, RoundTrip, report

CHROMIUM = Path("/usr/bin/chromium")
REQUIRED_KEYS = {"lookup_p50_ms", "lookup_p99_ms", "echo_p50_ms", "ratio", "host_cold_start_ms"}


def test_percentiles_use_the_nearest_rank_so_a_p99_is_a_real_sample() -> None:
    samples = [float(n) for n in range(1, 101)]
    stats = Percentiles.of(samples)
    assert (stats.p50, stats.p90, stats.p99, stats.max) == (50.5, 90.0, 99.0, 100.0)
    assert Percentiles.of([3.0]).p99 == 3.0


def test_the_verdict_needs_both_targets() -> None:
    fast = Percentiles.of([1.0, 1.2])
    echo = Percentiles.of([0.5, 0.6])
    result = RoundTrip(fast, echo, fast, fast, fast, fast, samples=2, companies=10)
    assert result.ratio == pytest.approx(1.1 / 0.55)
    assert result.meets_targets() and "meets" in report(result)
    slow_against_echo = RoundTrip(
        fast, Percentiles.of([0.1]), fast, fast, fast, fast, samples=2, companies=10
    )
    assert not slow_against_echo.meets_targets() and "MISSES" in report(slow_against_echo)
    assert set(result.to_json()) >= REQUIRED_KEYS


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (./dev test installs it)")
def test_a_short_run_in_chromium_ends_with_the_json_line(tmp_path: Path) -> None:
    env = {**os.environ, "CATS_COMPANION_HOME": str(tmp_path / "home")}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "companion",
            "bench",
            "roundtrip",
            "--samples",
            "8",
            "--batch",
            "3",
            "--warmup",
            "2",
            "--companies",
            "30",
            "--cold-starts",
            "1",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=150,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(result) >= REQUIRED_KEYS
    assert result["samples"] == 8 and result["batch"] == 3
    for key in ("lookup_p50_ms", "lookup_p99_ms", "echo_p50_ms", "host_cold_start_ms", "card_lookup_p50_ms"):
        assert isinstance(result[key], int | float) and result[key] > 0
    assert result["ratio"] == pytest.approx(result["lookup_p50_ms"] / result["echo_p50_ms"], rel=0.05)
    assert "lookup / echo" in done.stdout
    # The headline is the ratio to the echo host, first.
    assert done.stdout.startswith(f"Lookup / echo round trip: {result['ratio']:.2f}x")
