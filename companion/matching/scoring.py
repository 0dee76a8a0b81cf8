"""How alike two normalised company names are: look-alike similarity, and the score that ranks a match.

The score is the mean of rapidfuzz's `token_set_ratio` and `token_sort_ratio` (0-100). `token_set_ratio`
alone gives 100 whenever one name's words are a subset of the other's ("power" vs "american electric power"),
which would make every short name a near-identical match; `token_sort_ratio` alone punishes extra words
too hard ("acme" vs "acme systems"). Their mean ranked real variants best in the field measurements.

`match_score` decides which company a name is: it also counts one name inside the other and weighs the
shared words by their rarity across the cache (measured on real pairs by `bench match-quality`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

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


#: Candidates (by `token_set_ratio`, scored in C) that `match_scores` weighs word by word, per query: on
#: `bench match-quality` 10, 20 and 40 gave the same figures; 20 leaves room for a card's look-alikes.
RARITY_SHORTLIST = 20


#: Two words this alike (`fuzz.ratio`) count as one word misspelt ("sofware" for "software").
TYPO_SIMILARITY = 85.0
#: A misspelt shared word weighs this share of its weight.
TYPO_WEIGHT = 0.9
#: Words shorter than this are compared as they are: "ab" and "abc" are different words.
TYPO_MIN_LENGTH = 5


def rarity_overlap(query: str, choice: str, weight: Callable[[str], float]) -> float:
    """How much of each name the shared words make up, each word weighted by its rarity, 0-100.

    The mean of the shared words' weight over the query's words and over the choice's: a shared rare
    word ("kddi") means more than a shared "systems" or "bank", and a name that is the other's words
    plus a common one ("kddi r and d labs" vs "kddi") still scores well. A word misspelt on one side
    ("sofware") still counts, a little less.
    """
    words, other = set(query.split()), set(choice.split())
    if not words or not other:
        return 0.0
    same = words & other
    # Each side's share is weighed with its own words' weights: a misspelt word is rare on the side
    # that misspells it, and must not count as rare on the other.
    shared = sum(weight(word) for word in same)
    shared_other = shared
    alone = [word for word in words - same if len(word) >= TYPO_MIN_LENGTH]
    rest = [word for word in other - same if len(word) >= TYPO_MIN_LENGTH]
    for word in alone:
        if not rest:
            break
        typo = process.extractOne(word, rest, scorer=fuzz.ratio, score_cutoff=TYPO_SIMILARITY)
        if typo is not None:
            shared += TYPO_WEIGHT * weight(word)
            shared_other += TYPO_WEIGHT * weight(typo[0])
            rest.remove(typo[0])
    return 50 * (
        shared / sum(weight(word) for word in words) + shared_other / sum(weight(word) for word in other)
    )


def match_score(query: str, choice: str, weight: Callable[[str], float]) -> float:
    """Whether `choice` is `query`'s company, 0-100 (100: the same key): the score that ranks a match.

    The mean of `token_set_ratio` (spelling: typos, joined or split words, one name inside the other) and
    `rarity_overlap` (which words the names share, and how telling they are). Calibrated with
    `cats-companion bench match-quality`.
    """
    if not query or not choice:
        return 0.0
    if query == choice:
        return 100.0
    return (fuzz.token_set_ratio(query, choice) + rarity_overlap(query, choice, weight)) / 2


def match_scores(
    query: str, choices: Sequence[str], weight: Callable[[str], float], min_score: float = 0.0
) -> list[tuple[int, float]]:
    """(position, `match_score`) of the choices scoring at least `min_score`, best first.

    Only the `RARITY_SHORTLIST` best by `token_set_ratio` are weighed word by word (in Python), and only
    those whose `token_set_ratio` can still reach `min_score` (`rarity_overlap` adds at most 100).
    """
    if not query or not choices:
        return []
    cutoff = max(0.0, 2 * min_score - 100)
    shortlist = process.extract(
        query,
        choices,
        scorer=fuzz.token_set_ratio,
        processor=None,
        limit=RARITY_SHORTLIST,
        score_cutoff=cutoff,
    )
    # The same words come up again and again among the shortlist: weigh each once per call.
    weights: dict[str, float] = {}

    def weigh(word: str) -> float:
        known = weights.get(word)
        if known is None:
            known = weights[word] = weight(word)
        return known

    scored = []
    for _, spelling, position in shortlist:
        choice = choices[position]
        score = 100.0 if choice == query else (spelling + rarity_overlap(query, choice, weigh)) / 2
        if score >= min_score:
            scored.append((position, score))
    scored.sort(key=lambda item: -item[1])
    return scored
