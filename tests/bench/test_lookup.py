"""`cats-companion bench lookup` in its short form: the report, and the JSON summary as the last line."""

from __future__ import annotations

import json
import random

import pytest

from companion.bench.lookup import VARIANT_KINDS, query_variant
from companion.cli import main
from companion.matching import normalize_name

REQUIRED_KEYS = {
    "companies",
    "lookup_p50_ms",
    "lookup_p99_ms",
    "exact_p99_ms",
    "bruteforce_p50_ms",
    "bruteforce_p99_ms",
    "speedup",
    "recall_at_5",
    "ingest_rows_per_s",
    "db_bytes",
    "peak_rss_mb",
}


def test_bench_lookup_prints_a_report_and_a_json_summary_last(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "lookup", "--companies", "2000", "--queries", "120", "--json"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    summary = json.loads(out[-1])
    assert set(summary) >= REQUIRED_KEYS
    assert summary["companies"] == 2000 and summary["queries"] == 120
    assert 0 < summary["lookup_p50_ms"] <= summary["lookup_p99_ms"]
    assert summary["exact_p99_ms"] > 0 and 0 < summary["bruteforce_p50_ms"] <= summary["bruteforce_p99_ms"]
    assert summary["speedup"] == pytest.approx(summary["bruteforce_p50_ms"] / summary["lookup_p50_ms"])
    assert 0.5 <= summary["recall_at_5"] <= 1.0
    assert summary["ingest_rows_per_s"] > 0 and summary["db_bytes"] > 100_000
    assert summary["peak_rss_mb"] is None or summary["peak_rss_mb"] > 10
    assert set(summary["by_kind"]) == set(VARIANT_KINDS)
    report = "\n".join(out[:-1])
    for label in ("full lookup with warnings", "brute force", "recall@5", "peak RSS", "companies/s"):
        assert label in report


def test_without_json_only_the_report_is_printed(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "lookup", "--companies", "300", "--queries", "20", "--brute-queries", "5"]) == 0
    out = capsys.readouterr().out
    assert "speed-up" in out and "{" not in out


@pytest.mark.parametrize("count", ["0", "-5", "many"])
def test_a_bad_company_count_is_refused(count: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", "lookup", "--companies", count])
    assert exit_info.value.code == 2
    assert "--companies" in capsys.readouterr().err


@pytest.mark.parametrize("kind", VARIANT_KINDS)
def test_each_query_variant_changes_the_spelling_but_stays_close(kind: str) -> None:
    rng = random.Random(5)
    for name in (
        "Procter & Gamble Co.",
        "The Coca-Cola Company",
        "Nokia Shanghai Bell Co., Ltd.",
        "Siemens AG",
    ):
        varied = query_variant(name, kind, rng)
        assert varied != name
        # Every kind keeps the company recognisable: most of its normalised name survives.
        assert len(set(normalize_name(varied)) & set(normalize_name(name))) >= 4
