"""How alike two normalised company names are: the one similarity score used by the index and the warnings.

The score is the mean of rapidfuzz's `token_set_ratio` and `token_sort_ratio` (0-100). `token_set_ratio`
alone gives 100 whenever one name's words are a subset of the other's ("power" vs "american electric power"),
which would make every short name a near-identical match; `token_sort_ratio` alone punishes extra words
too hard ("acme" vs "acme systems"). Their mean ranked real variants best in the field measurements.
"""

from __future__ import annotations

from collections.abc import Sequence

from rapidfuzz import fuzz, process


def name_similarity(a: str, b: str) -> float:
    """Similarity of two *normalised* names, 0-100 (100: the same words)."""
    if not a or not b:
        return 0.0
    return (fuzz.token_set_ratio(a, b) + fuzz.token_sort_ratio(a, b)) / 2


def similarities(query: str, choices: Sequence[str], min_score: float = 0.0) -> list[float]:
    """`name_similarity(query, c)` for every choice, computed in rapidfuzz's C loops.

    With `min_score`, every score at or above it is exact and a lower one may be reported as 0: a mean of
    two scores of at most 100 reaches `min_score` only if each is at least `2 * min_score - 100`, so
    rapidfuzz is given that cut-off and skips hopeless pairs early (the index's rerank runs this for every
    lookup, mostly on names that are not look-alikes).
    """
    if not query or not choices:
        return [0.0] * len(choices)
    cutoff = max(0.0, 2 * min_score - 100)
    # processor=None: both sides are already normalised; scorer loops stay in C. `token_sort_ratio` first:
    # it is the stricter of the two, so it leaves `token_set_ratio` the fewest pairs to score (about three
    # times faster on the index's candidates than the other way round).
    token_sort = process.extract(
        query, choices, scorer=fuzz.token_sort_ratio, processor=None, limit=None, score_cutoff=cutoff
    )
    scores = [0.0] * len(choices)
    if not token_sort:
        return scores
    positions = [position for _, _, position in token_sort]
    second_choices: Sequence[str] = (
        choices if len(positions) == len(choices) else [choices[p] for p in positions]
    )
    token_set = process.extract(
        query, second_choices, scorer=fuzz.token_set_ratio, processor=None, limit=None, score_cutoff=cutoff
    )
    first = {position: score for _, score, position in token_sort}
    for _, score, second_position in token_set:
        position = positions[second_position] if second_choices is not choices else second_position
        scores[position] = (first[position] + score) / 2
    return scores
