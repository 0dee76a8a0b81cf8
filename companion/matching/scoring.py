"""How alike two normalised company names are: look-alike similarity, and the score that ranks a match.

The score is the mean of rapidfuzz's `token_set_ratio` and `token_sort_ratio` (0-100). `token_set_ratio`
alone gives 100 whenever one name's words are a subset of the other's ("power" vs "american electric power"),
which would make every short name a near-identical match; `token_sort_ratio` alone punishes extra words
too hard ("acme" vs "acme systems"). Their mean ranked real variants best in the field measurements.

`match_scores` decides which company a name is. A first pass (`match_score`: spelling, and the shared
words weighed by their rarity across the cache) orders the candidates; the best few are then scored by
the match model (`shipped_model`): boosted trees (`trees`) over what tells one organisation
from another (how much of each name the shared words make up, how rare they are, whether one name holds
the other whole, what is left over, and how far ahead of the other candidates the name is), fitted on
`bench match-quality`'s development set (`cats-companion bench match-quality --fit --write` refits it).
Its score is a probability times 100: the match thresholds (`models.MatchThresholds`) are calibrated on
the same set and the card's words follow them.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from rapidfuzz import fuzz, process

from companion.matching.trees import load_model
from companion.matching.vocabulary import BANK_WORDS, names_a_vehicle, unit_share


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
#: `bench match-quality` 10, 20 and 40 gave the same figures (with the match model too); 10 costs least.
RARITY_SHORTLIST = 10
#: Candidates holding the query's rarest word that join the shortlist besides (see `match_features`).
RARE_WORD_SHORTLIST = 10
#: The best of the shortlist by `match_score` that the match model scores: the card shows five at most.
MODEL_SHORTLIST = 5


#: Two words this alike (`fuzz.ratio`) count as one word misspelt ("sofware" for "software").
TYPO_SIMILARITY = 85.0
#: A misspelt or abbreviated shared word weighs this share of its weight.
TYPO_WEIGHT = 0.9
#: Words shorter than this are compared as they are: "ab" and "abc" are different words.
TYPO_MIN_LENGTH = 5
#: A word at least this long that starts another word at least `ABBREVIATION_CUT` letters longer is that
#: word abbreviated ("univ" for "university", "micro" for "microsystems"); a letter or two more is most
#: often another word ("nova" and "novas", "royal" and "royalty").
ABBREVIATION_MIN_LENGTH = 3
ABBREVIATION_CUT = 3


@dataclass(frozen=True, slots=True)
class WordOverlap:
    """Which words two names share, each weighed by its rarity (see `word_overlap`)."""

    #: Share of the query's weight, and of the choice's, that the shared words make up (0-1).
    query_share: float
    choice_share: float
    #: The weight of the rarest word shared, exactly or misspelt or abbreviated (then at `TYPO_WEIGHT`
    #: of its weight): 0 when none is.
    rarest_shared: float
    #: The weight of the rarest word of the query, and of the choice, left unshared (0 when none is).
    query_left: float
    choice_left: float
    #: The total weight of the choice's words: how specific the choice's name is.
    choice_weight: float
    #: The words of the query, and of the choice, left unshared.
    query_extra: frozenset[str] = frozenset()
    choice_extra: frozenset[str] = frozenset()


def _abbreviates(short: str, long: str) -> bool:
    return (
        len(short) >= ABBREVIATION_MIN_LENGTH
        and len(long) - len(short) >= ABBREVIATION_CUT
        and long.startswith(short)
    )


def _joined(
    left: set[str], other: list[str], left_other: set[str] | None = None
) -> list[tuple[str, tuple[str, ...]]]:
    """(word, the other name's words it joins): a word of `left` written as two or three consecutive
    words of the other name ("vandyke" / "van dyke", "teliasonera" / "telia sonera"), all of them in
    `left_other` (the other name's unshared words) unless that is None."""
    found: list[tuple[str, tuple[str, ...]]] = []
    taken: set[str] = set()
    for size in (3, 2):
        for start in range(len(other) - size + 1):
            parts = tuple(other[start : start + size])
            joined = "".join(parts)
            if (
                joined in left
                and joined not in taken
                and all((left_other is None or p in left_other) and p not in taken for p in parts)
            ):
                found.append((joined, parts))
                taken.update((joined, *parts))
    return found


def word_overlap(query: str, choice: str, weight: Callable[[str], float]) -> WordOverlap:
    """The shared words of two normalised names: exactly, as one bank's name ("bank" and "bancorp"),
    written together ("vandyke" / "van dyke"), misspelt ("sofware") or abbreviated ("univ").

    Each side's share is weighed with its own words' weights: a misspelt word is rare on the side that
    misspells it, and must not count as rare on the other.
    """
    words, other = set(query.split()), set(choice.split())
    same = words & other
    # fsum: exact, so the same whatever order the sets give (a refit must reproduce the model).
    shared = math.fsum(weight(word) for word in same)
    shared_other = shared
    rarest = max((weight(word) for word in same), default=0.0)
    left, left_other = words - same, other - same

    def pair(word: str, partner: str) -> None:
        """Count `word` of the query and `partner` of the choice as one word, a little less."""
        pair_words((word,), (partner,))

    def pair_words(mine: tuple[str, ...], theirs: tuple[str, ...]) -> None:
        """Count the query's `mine` and the choice's `theirs` as the same words, a little less."""
        nonlocal shared, shared_other, rarest
        mine_weight, theirs_weight = sum(map(weight, mine)), sum(map(weight, theirs))
        shared += TYPO_WEIGHT * mine_weight
        shared_other += TYPO_WEIGHT * theirs_weight
        rarest = max(rarest, TYPO_WEIGHT * min(mine_weight, theirs_weight))
        left.difference_update(mine)
        left_other.difference_update(theirs)

    # Sorted throughout: which word pairs with which must not depend on set order.
    for word in sorted(left & BANK_WORDS):
        partner = min(left_other & BANK_WORDS, default=None)
        if partner is not None:
            pair(word, partner)
    # A bank word beside another of the other name's ("Bank of Marin" / "Bank of Marin Bancorp") says
    # the same again: shared on its own side.
    if words & BANK_WORDS and other & BANK_WORDS:
        for word in sorted(left & BANK_WORDS):
            shared += TYPO_WEIGHT * weight(word)
            left.discard(word)
        for word in sorted(left_other & BANK_WORDS):
            shared_other += TYPO_WEIGHT * weight(word)
            left_other.discard(word)
    for word, parts in _joined(left, choice.split(), left_other):
        pair_words((word,), parts)
    for word, parts in _joined(left_other, query.split(), left):
        pair_words(parts, (word,))
    rest = sorted(word for word in left_other if len(word) >= TYPO_MIN_LENGTH)
    for word in sorted(left):
        if len(word) < TYPO_MIN_LENGTH or not rest:
            continue
        typo = process.extractOne(word, rest, scorer=fuzz.ratio, score_cutoff=TYPO_SIMILARITY)
        if typo is not None:
            pair(word, typo[0])
            rest.remove(typo[0])
    for word in sorted(left):
        full = next((f for f in sorted(left_other) if _abbreviates(word, f) or _abbreviates(f, word)), None)
        if full is not None:
            pair(word, full)
    total, total_other = math.fsum(map(weight, words)), math.fsum(map(weight, other))
    return WordOverlap(
        query_share=shared / total if total else 0.0,
        choice_share=shared_other / total_other if total_other else 0.0,
        rarest_shared=rarest,
        query_left=max((weight(word) for word in left), default=0.0),
        choice_left=max((weight(word) for word in left_other), default=0.0),
        choice_weight=total_other,
        query_extra=frozenset(left),
        choice_extra=frozenset(left_other),
    )


def rarity_overlap(query: str, choice: str, weight: Callable[[str], float]) -> float:
    """How much of each name the shared words make up, each word weighted by its rarity, 0-100.

    The mean of the shared words' weight over the query's words and over the choice's: a shared rare
    word ("kddi") means more than a shared "systems" or "bank", and a name that is the other's words
    plus a common one ("kddi r and d labs" vs "kddi") still scores well. A word misspelt ("sofware") or
    abbreviated ("univ") on one side still counts, a little less.
    """
    if not query.split() or not choice.split():
        return 0.0
    return _rarity(word_overlap(query, choice, weight))


def _rarity(overlap: WordOverlap) -> float:
    """`rarity_overlap` from the names' overlap."""
    return 50 * (overlap.query_share + overlap.choice_share)


def match_score(query: str, choice: str, weight: Callable[[str], float]) -> float:
    """The first pass of the match ranking, 0-100 (100: the same key).

    The mean of `token_set_ratio` (spelling: typos, joined or split words, one name inside the other) and
    `rarity_overlap` (which words the names share, and how telling they are). `match_scores` orders the
    candidates by it, then lets the match model (`shipped_model`) score the best few.
    """
    if not query or not choice:
        return 0.0
    if query == choice:
        return 100.0
    return _first_pass(fuzz.token_set_ratio(query, choice), word_overlap(query, choice, weight))


def _first_pass(token_set: float, overlap: WordOverlap) -> float:
    """`match_score` from its parts: the spelling, and the `rarity_overlap` the overlap makes."""
    return (token_set + _rarity(overlap)) / 2


def rare_forms(query: str, weight: Callable[[str], float]) -> tuple[str, ...]:
    """The query's rarest word, then that word written together with the word before it and with the word
    after it ("rain willow communications" -> "willow", "rainwillow", "willowcommunications"): how a name
    of the same organisation may hold it (see `holds_rare`). Ties go to the word first in the alphabet.
    """
    words = query.split()
    if not words:
        return ()
    rarest = max(words, key=lambda word: (weight(word), word))
    at = words.index(rarest)
    joined = [words[at - 1] + rarest] if at > 0 else []
    joined += [rarest + words[at + 1]] if at + 1 < len(words) else []
    return (rarest, *joined)


def holds_rare(choice: str, forms: Sequence[str]) -> bool:
    """Whether a normalised name holds the query's rarest word (`rare_forms`): as a word, written as two or
    three of its words ("van dyke" for "vandyke"), or written together with its neighbour ("rainwillow")."""
    # The letters first (every form holds the rarest word's): a quick test that most names fail.
    if not forms or forms[0] not in choice.replace(" ", ""):
        return False
    words = choice.split()
    return any(form in words for form in forms) or bool(_joined({forms[0]}, words))


def same_name(query: str, choice: str) -> bool:
    """Two normalised names with the same letters, spaced alike or not: "red hat" and "redhat", "w w
    grainger" and "ww grainger" ("W. W. Grainger", "W.W. GRAINGER"), "nuagenetworks" and "nuage networks".
    """
    return query == choice or query.replace(" ", "") == choice.replace(" ", "")


#: What the match model (`shipped_model`) weighs about a (query, candidate) pair, in order; each has a reason:
MATCH_FEATURES = (
    "token_set",  # spelling, one name inside the other ("kddi labs" / "kddi")
    "token_sort",  # spelling of the whole names: extra words cost
    "query_share",  # how much of the query the shared words make up, by rarity
    "choice_share",  # how much of the candidate they make up
    "least_share",  # the smaller of the two: both names explained
    "rarest_shared",  # a shared rare word ("kddi") means more than a shared "systems"
    "choice_inside",  # every word of the candidate is in the query: a name with its business line or site
    "query_inside",  # every word of the query is in the candidate: a brand vs the registered name
    "letters",  # the names' letters alike, spaces aside ("peraton labs" / "peratonlabs")
    "margin",  # how far ahead of the best other candidate: a name many near-namesakes share is unsure
    "query_left",  # the rarest query word left unshared: another organisation's name ("owens corning")
    "choice_left",  # the rarest candidate word left unshared ("azul systems" for "azul")
    "choice_weight",  # how specific the candidate's name is ("city" alone says little)
    "query_units",  # the query's extra words name a unit of the organisation ("kddi r and d labs")
    "choice_units",  # the candidate's extra words do
    "vehicle",  # an extra word names a legal vehicle: another entity of a family ("... partners", "fund")
)


class MatchModel(Protocol):
    """What scores a (query, candidate) pair from its `MATCH_FEATURES`: P(same organisation)."""

    def probability(self, features: Sequence[float]) -> float: ...


@functools.cache
def shipped_model() -> MatchModel:
    """Boosted trees fitted by `cats-companion bench match-quality --fit --write` on the development set
    (seeds 1 and 3-13; seed 2 checks it), shipped as companion/matching/match_model_data.py (see `trees`).

    Loaded on first use rather than on import, so that a refit after the features changed can run.
    """
    return load_model(MATCH_FEATURES)


def pair_features(
    query: str,
    choice: str,
    weight: Callable[[str], float],
    margin: float,
    known: tuple[float, WordOverlap] | None = None,
) -> tuple[float, ...]:
    """`MATCH_FEATURES` of a pair of normalised names; `margin` is the pair's `match_score` lead (0-100);
    `known`, the pair's `token_set_ratio` and `word_overlap` when the first pass has them already."""
    token_set, overlap = known or (fuzz.token_set_ratio(query, choice), word_overlap(query, choice, weight))
    return (
        token_set / 100,
        fuzz.token_sort_ratio(query, choice) / 100,
        overlap.query_share,
        overlap.choice_share,
        min(overlap.query_share, overlap.choice_share),
        overlap.rarest_shared,
        float(overlap.choice_left == 0.0 and overlap.choice_share > 0.0),
        float(overlap.query_left == 0.0 and overlap.query_share > 0.0),
        fuzz.ratio(query.replace(" ", ""), choice.replace(" ", "")) / 100,
        margin / 100,
        overlap.query_left,
        overlap.choice_left,
        min(overlap.choice_weight, 2.0),
        unit_share(overlap.query_extra),
        unit_share(overlap.choice_extra),
        float(names_a_vehicle(overlap.query_extra | overlap.choice_extra)),
    )


def match_features(
    query: str, choices: Sequence[str], weight: Callable[[str], float]
) -> list[tuple[int, tuple[float, ...]]]:
    """(position, `pair_features`) of the choices the match model scores: the best `MODEL_SHORTLIST` by
    `match_score` among the `RARITY_SHORTLIST` best by `token_set_ratio`, best first. A choice equal to
    the query (`same_name`) is left out: it is the query's name, not a question for the model.
    """
    if not query or not choices:
        return []
    shortlist = process.extract(
        query, choices, scorer=fuzz.token_set_ratio, processor=None, limit=RARITY_SHORTLIST
    )
    # The same words come up again and again among the shortlist: weigh each once per call.
    weights: dict[str, float] = {}

    def weigh(word: str) -> float:
        known = weights.get(word)
        if known is None:
            known = weights[word] = weight(word)
        return known

    positions = [position for _, _, position in shortlist]
    # The names holding the query's rarest word join the shortlist: spelling alone ranks "anda networks"
    # above "vandelay industries" for "vandelay networks", and the shared rare word is the better clue.
    forms = rare_forms(query, weigh)
    # `holds_rare`'s quick test inline: a call per choice was a fifth of a lookup's time.
    rarest = forms[0]
    holding = {
        position
        for position, choice in enumerate(choices)
        if rarest in choice.replace(" ", "") and holds_rare(choice, forms)
    }
    taken = set(positions)
    positions += sorted(holding - taken)[:RARE_WORD_SHORTLIST]
    # The first pass's parts, kept for the model's features: a lookup scores each pair once.
    parts = {
        position: (
            fuzz.token_set_ratio(query, choices[position]),
            word_overlap(query, choices[position], weigh),
        )
        for position in positions
        if choices[position] != query
    }
    first = sorted(
        ((position, _first_pass(*parts[position]) if position in parts else 100.0) for position in positions),
        key=lambda item: -item[1],
    )
    scored = first[:MODEL_SHORTLIST]
    if not holding.intersection(position for position, _ in scored):
        # The first pass scores spelling too, and a name writing the rare word apart spells it badly:
        # the best name holding it is always one the model scores.
        scored += [item for item in first[MODEL_SHORTLIST:] if item[0] in holding][:1]
    features: list[tuple[int, tuple[float, ...]]] = []
    for position, score in scored:
        if same_name(query, choices[position]):
            continue
        # The lead over the best candidate of another name (its namesakes are the same name). A name
        # the same as the query is no rival: it is the match already, and this one a look-alike of it.
        rivals = [
            other
            for p, other in first
            if choices[p] != choices[position] and not same_name(query, choices[p])
        ]
        margin = score - max(rivals, default=0.0)
        known = parts.get(position)
        features.append((position, pair_features(query, choices[position], weigh, margin, known)))
    return features


def match_scores(
    query: str,
    choices: Sequence[str],
    weight: Callable[[str], float],
    min_score: float = 0.0,
    model: MatchModel | None = None,
) -> list[tuple[int, float]]:
    """(position, score) of the choices scoring at least `min_score`, best first.

    A choice that is the query's `same_name` scores 100; the others `model`'s probability times 100, for
    the few that `match_features` picks (see there).
    """
    if not query or not choices:
        return []
    compact = query.replace(" ", "")
    scored = [
        (position, 100.0)
        for position, choice in enumerate(choices)
        if choice == query or choice.replace(" ", "") == compact
    ]
    model = model or shipped_model()
    scored += [
        (position, 100 * model.probability(features))
        for position, features in match_features(query, choices, weight)
    ]
    scored = [(position, score) for position, score in scored if score >= min_score]
    scored.sort(key=lambda item: -item[1])
    return scored
