"""`cats-companion bench push`, short form: requests equal the minimum without faults, and with faults every
person still has exactly one record and one note (counted in the sandbox's own store)."""

from __future__ import annotations

import json

import pytest

from companion import cli
from companion.bench.push import EXISTING_COST, NEW_COST, bench


async def test_without_faults_the_requests_are_exactly_the_minimum() -> None:
    result = await bench(people=10, fault_rate=0.0)
    assert result.minimum_requests == 5 * NEW_COST + 5 * EXISTING_COST
    assert result.requests == result.minimum_requests
    assert (result.records_found, result.notes_found) == (10, 10)
    assert (result.duplicates, result.lost, result.rate_limited, result.failed_items) == (0, 0, 0, 0)


async def test_with_faults_nothing_is_lost_or_duplicated_and_the_extra_requests_are_counted() -> None:
    result = await bench(people=12, fault_rate=0.3, retry_after=0, seed=3)
    assert sum(result.faults.values()) > 0
    assert result.requests > result.minimum_requests
    assert result.rate_limited == result.faults.get("429", 0)
    assert (result.records_found, result.records_expected) == (12, 12)
    assert (result.notes_found, result.notes_expected) == (12, 12)
    assert (result.duplicates, result.lost) == (0, 0)


def test_the_command_prints_a_report_and_json_as_its_last_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["bench", "push", "--people", "4", "--fault-rate", "0", "--json"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    data = json.loads(lines[-1])
    for key in (
        "people", "requests", "minimum_requests", "rate_limited", "records_expected", "records_found",
        "notes_expected", "notes_found", "duplicates", "lost", "seconds",
    ):  # fmt: skip
        assert key in data
    assert data["requests"] == data["minimum_requests"] == 2 * NEW_COST + 2 * EXISTING_COST
    assert any(line.startswith("CATS requests") for line in lines)


def test_a_fault_rate_out_of_range_is_a_usage_error() -> None:
    with pytest.raises(SystemExit) as usage:
        cli.main(["bench", "push", "--fault-rate", "2"])
    assert usage.value.code == 2
