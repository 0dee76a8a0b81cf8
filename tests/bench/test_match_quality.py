"""`cats-companion bench match-quality` in its short form: the side-by-side report, the JSON summary last."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from companion.bench.devset import (
    KINDS,
    label_key,
    load_devset,
    reference_names,
    same_organisations,
)
from companion.bench.match_model import examples, fit_devset, training_seeds, without
from companion.cli import main
from companion.matching import trees, word_prior


def test_bench_match_quality_reports_the_companion_beside_brute_force(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["bench", "match-quality", "--per-kind", "25", "--json"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    summary = json.loads(out[-1])
    assert set(summary["scorers"]) == {"companion", "wratio", "token_set_ratio"}
    assert summary["positives"] == 25 * len(KINDS) and summary["negatives"] == 25
    assert summary["companies"] > 30_000
    for figures in summary["scorers"].values():
        assert 0.0 <= figures["top1"] <= figures["hit_at_5"] <= 1.0
        assert 0.0 <= figures["negative_any_match"] <= 1.0
        assert set(figures["by_kind"]) == {*KINDS, "decorated"}
    companion = summary["scorers"]["companion"]
    assert companion["negative_confident"] <= companion["negative_any_match"]
    assert companion["negative_any_match"] <= companion["negative_lookalike"]
    report = "\n".join(out[:-1])
    for label in ("top-1", "hit@5", "not in cache: confident match", "wratio", "token_set_ratio"):
        assert label in report
    # The look-alike threshold's trade-off: a higher threshold warns less and finds no more.
    sweep = summary["lookalike_sweep"]
    assert [row[0] for row in sweep] == sorted(row[0] for row in sweep) and len(sweep) > 10
    assert all(a[1] >= b[1] and a[2] >= b[2] for a, b in itertools.pairwise(sweep))
    [in_use] = [row for row in sweep if row[0] == summary["lookalike_threshold"]]
    assert in_use[1:] == [companion["hit_at_5"], companion["negative_lookalike"]]
    calibrated = summary["calibrated_lookalike"]
    if calibrated is not None:
        assert next(row[0] for row in sweep if row[2] <= summary["lookalike_target"]) == calibrated
    assert "<- in use" in report


def test_the_development_set_is_real_pairs_and_names_absent_from_the_cache() -> None:
    devset = load_devset()
    cached = {label_key(name) for _, name in devset.companies}
    names = dict(devset.companies)
    negatives = [query for query in devset.queries if query.target is None]
    assert len(negatives) >= 400 and not any(label_key(query.text) in cached for query in negatives)
    positives = [query for query in devset.queries if query.kind in KINDS]
    assert len(positives) > 1000
    assert all(query.target in names for query in positives)
    # Some everyday names are the registry's own ("Apple Inc."), as on real profiles; most are not.
    assert sum(query.text != names[query.target] for query in positives) > 0.9 * len(positives)


def test_the_match_model_fitted_on_the_development_set_tells_right_candidates_from_wrong() -> None:
    devset = load_devset(per_kind=80)
    found, exact = examples(devset)
    fitted = fit_devset([devset, load_devset(3, per_kind=80)], load_devset(2, per_kind=80))
    right = [fitted.model.probability(e.features) for e in found if e.right]
    wrong = [fitted.model.probability(e.features) for e in found if not e.right]
    assert right and wrong and exact
    assert sum(right) / len(right) > 2 * sum(wrong) / len(wrong)
    assert 0 < fitted.similar_match <= fitted.similar_likely <= 100


def test_bench_match_quality_fit_prints_the_model_and_its_thresholds(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["bench", "match-quality", "--per-kind", "30", "--fit"]) == 0
    out = capsys.readouterr().out
    assert "fitted 150 trees" in out and "not written" in out
    assert "similar_match = " in out and "similar_likely = " in out


def test_bench_match_quality_refuses_to_write_a_model_fitted_on_a_short_run(
    capsys: pytest.CaptureFixture[str],
) -> None:
    shipped = Path(trees.__file__).with_name(trees.MODEL_MODULE).read_bytes()
    assert main(["bench", "match-quality", "--per-kind", "30", "--fit", "--write"]) == 2
    assert main(["bench", "match-quality", "--per-kind", "30", "--write"]) == 2
    assert "--write goes with --fit" in capsys.readouterr().err
    assert Path(trees.__file__).with_name(trees.MODEL_MODULE).read_bytes() == shipped


def test_a_cached_name_the_sources_give_an_organisation_counts_as_that_organisation() -> None:
    companies = [(1, "Riverbed"), (2, "RIVERBED TECHNOLOGY, INC."), (3, "Riverbed Networks Ltd"), (4, "Acme")]
    # The IETF maps the affiliation "Riverbed Technology" to the organisation Riverbed (company 1).
    same = same_organisations(companies, [("Riverbed Technology", 1)])
    assert same[1] == same[2] == frozenset({1, 2}) and same[4] == frozenset({4})
    # Two sources giving one name to two companies make them one organisation; a name no cached company
    # has joins nothing.
    same = same_organisations(companies, [("Riverbed Technology", 1), ("Riverbed Technology", 4)])
    assert same[4] == frozenset({1, 2, 4})
    assert same_organisations(companies, [("Globex", 1)])[1] == frozenset({1})


def test_a_trailing_holding_or_group_is_the_same_organisation_in_the_labels() -> None:
    assert label_key("Sony Group Corp") == label_key("Sony Corporation") == "sony"
    assert (
        label_key("ASML HOLDING NV") == label_key("ASML")
        and label_key("Arena Group Holdings, Inc.") == "arena"
    )
    # Only trailing: the words that name the organisation stay.
    assert label_key("Group 1 Automotive") == "group 1 automotive" and label_key("The Group") == "the"
    companies = [(1, "Riverbed"), (2, "Riverbed Group Ltd"), (3, "Riverbed Networks Ltd")]
    assert same_organisations(companies, [])[1] == frozenset({1, 2})


def test_fitting_the_match_model_gives_the_same_model_whatever_the_hash_seed() -> None:
    # Set order follows the hash seed; the fit must not, or a refit could not reproduce the shipped model.
    script = (
        "from companion.bench.devset import load_devset\n"
        "from companion.bench.match_model import examples, fit\n"
        "print(fit(examples(load_devset(per_kind=30))[0]).to_json())\n"
    )
    models = [
        subprocess.run(
            [sys.executable, "-c", script],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        ).stdout
        for seed in ("1", "2")
    ]
    assert models[0] == models[1] and '"trees"' in models[0]


def test_the_fit_leaves_out_every_pair_and_name_of_the_held_out_seed() -> None:
    held_out, other = load_devset(2, per_kind=60), load_devset(3, per_kind=60)
    texts = {q.text for q in held_out.queries}
    fitted = fit_devset([other], held_out)
    kept = without(other, texts)
    # Seeds sample the everyday-name pairs too: the two sets share some, and only the others train.
    assert {q.kind for q in kept.queries} >= set(KINDS) and len(kept.queries) < len(other.queries)
    assert fitted.examples == len(examples(kept)[0]) > 0
    assert fitted.calibrated_on == sum(q.target is None for q in held_out.queries)
    assert training_seeds(2) == [1, *range(3, 14)]


def test_each_seed_holds_half_of_the_everyday_name_pairs() -> None:
    one, two = (load_devset(seed) for seed in (1, 2))
    for kind in ("sp500", "sp400_600"):
        pairs = [{q.text for q in devset.queries if q.kind == kind} for devset in (one, two)]
        assert len(pairs[0]) == len(pairs[1]) > 200 and pairs[0] != pairs[1]
    # The decorated names are made from the seed's own everyday names (held out with them).
    decorated = [q for q in two.queries if q.kind == "decorated"]
    assert decorated and {q.target for q in decorated} <= {q.target for q in two.queries if q.kind == "sp500"}


def test_the_shipped_word_counts_are_what_the_reference_names_give() -> None:
    sample, counts = word_prior.count_words(reference_names())
    assert word_prior.prior_counts() == (sample, counts)
    assert counts["power"] > 100 and "kddi" not in counts
