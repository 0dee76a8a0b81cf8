"""The batch scorer gives the blended score exactly wherever it reaches the threshold."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from companion.matching.index import TrigramIndex
from companion.matching.scoring import (
    match_score,
    match_scores,
    name_similarity,
    rarity_overlap,
    similarities,
)

_WORDS = st.sampled_from(
    ["acme", "acne", "systems", "sistems", "group", "power", "american", "electric", "co"]
)
_NAMES = st.lists(_WORDS, min_size=1, max_size=4).map(" ".join)


@settings(max_examples=200, deadline=None)
@given(_NAMES, st.lists(_NAMES, max_size=30), st.sampled_from([0.0, 50.0, 88.0, 95.0]))
def test_scores_at_or_above_the_threshold_are_exact_and_the_rest_never_overstated(
    query: str, choices: list[str], min_score: float
) -> None:
    scores = similarities(query, choices, min_score)
    assert len(scores) == len(choices)
    for choice, score in zip(choices, scores, strict=True):
        exact = name_similarity(query, choice)
        if exact >= min_score:
            assert score == exact
        else:
            assert score in (0.0, exact)


def _weights(names: list[str]) -> TrigramIndex:
    return TrigramIndex(enumerate(names, start=1))


COMMON = ["Acme Systems", "Globex Systems", "Initech Systems", "Umbrella Systems", "Hooli Systems", "Kddi"]


def test_a_shared_rare_word_counts_more_than_a_shared_common_one() -> None:
    weight = _weights(COMMON).word_weight
    assert weight("kddi") > weight("systems")
    assert rarity_overlap("kddi labs", "kddi", weight) > rarity_overlap(
        "vandelay systems", "acme systems", weight
    )


def test_a_name_inside_a_longer_one_outscores_a_common_word_shared() -> None:
    weight = _weights(COMMON).word_weight
    assert match_score("kddi r and d labs", "kddi", weight) > match_score(
        "kddi r and d labs", "acme systems", weight
    )
    assert match_score("acme", "acme", weight) == 100.0


def test_a_misspelt_word_still_counts_as_shared() -> None:
    weight = _weights(["Initech Sofware Systems", *COMMON]).word_weight
    assert rarity_overlap("initech software systems", "initech sofware systems", weight) > 90
    assert rarity_overlap("initech software systems", "initech hardware", weight) < 60


def test_match_scores_are_best_first_and_respect_the_floor() -> None:
    weight = _weights(COMMON).word_weight
    choices = ["acme systems", "kddi", "acme"]
    scored = match_scores("acme", choices, weight, min_score=70)
    assert [choices[position] for position, _ in scored] == ["acme", "acme systems"]
    assert all(score >= 70 for _, score in scored)
    assert [score for _, score in scored] == sorted((score for _, score in scored), reverse=True)
