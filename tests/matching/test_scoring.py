"""The batch scorer gives the blended score exactly wherever it reaches the threshold."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from companion.matching.scoring import name_similarity, similarities

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
