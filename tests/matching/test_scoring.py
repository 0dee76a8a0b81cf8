"""The batch scorer gives the blended score exactly wherever it reaches the threshold."""

from __future__ import annotations

import functools

from hypothesis import given, settings
from hypothesis import strategies as st

from companion.matching import MatchThresholds, normalize_name
from companion.matching.index import TrigramIndex
from companion.matching.scoring import (
    holds_rare,
    match_score,
    match_scores,
    name_similarity,
    rare_forms,
    rarity_overlap,
    same_name,
    similarities,
    word_overlap,
)
from tests.matching.names import real_names

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
    everything = match_scores("acme", choices, weight)
    assert [choices[position] for position, _ in everything][:2] == ["acme", "acme systems"]
    floor = everything[1][1]
    scored = match_scores("acme", choices, weight, min_score=floor)
    assert [choices[position] for position, _ in scored] == ["acme", "acme systems"]
    assert all(score >= floor for _, score in scored)
    assert [score for _, score in scored] == sorted((score for _, score in scored), reverse=True)


# --- the match model, on a realistic cache: the sandbox's ~25,000 real organisation names -----------------


@functools.cache
def _real_index(extra: tuple[str, ...]) -> tuple[TrigramIndex, list[str]]:
    names = [*real_names(), *extra]
    return TrigramIndex(enumerate(names, start=1)), names


def _ranked(extra: tuple[str, ...], query: str) -> list[tuple[str, float]]:
    index, names = _real_index(extra)
    return [(names[hit.company_id - 1], hit.score) for hit in index.rank_key(normalize_name(query), limit=3)]


def test_an_abbreviated_word_counts_as_the_word_but_one_more_letter_is_another_word() -> None:
    def weight(word: str) -> float:
        return 1.0

    assert word_overlap("kookmin univ", "kookmin university", weight).query_share > 0.9
    assert word_overlap("sun micro", "sun microsystems", weight).choice_share > 0.9
    assert word_overlap("nova", "novas", weight).query_share == 0.0


def test_subsidiary_with_extra_words_matches_its_organisation() -> None:
    [(name, score), *_] = _ranked(("Mozilla",), "The Mozilla Foundation")
    assert name == "Mozilla" and score >= MatchThresholds().similar_match


def test_an_abbreviated_name_matches_the_spelt_out_one() -> None:
    [(name, score), *_] = _ranked(("Kookmin University",), "Kookmin Univ")
    assert name == "Kookmin University" and score >= MatchThresholds().similar_match


def test_a_name_near_namesakes_share_is_less_sure_than_a_name_alone() -> None:
    funds = ("Vandelay Municipal Income Trust", "Vandelay California Municipal Income Trust")
    [(_, alone), *_] = _ranked(funds[:1], "Vandelay Texas Municipal Income Trust")
    [(_, crowded), *_] = _ranked(funds, "Vandelay Texas Municipal Income Trust")
    assert crowded < alone


def test_a_brand_is_not_matched_to_a_longer_name_by_a_common_word_alone() -> None:
    hits = _ranked((), "Nova")
    assert all(score < MatchThresholds().similar_match for _, score in hits)


def test_the_same_letters_spaced_differently_are_the_same_name() -> None:
    assert same_name("red hat", "redhat") and same_name("w w grainger", "ww grainger")
    assert not same_name("nova", "novas")
    [(name, score), *_] = _ranked(("RedHat",), "Red Hat")
    assert (name, score) == ("RedHat", 100.0)


def test_rare_shared_word_outranks_common_group() -> None:
    [(name, _), *_] = _ranked(("Vandelay Industries", "Acme Networks Group"), "Vandelay Networks")
    assert name == "Vandelay Industries"


def test_a_unit_of_an_organisation_matches_the_organisation() -> None:
    [(name, score), *_] = _ranked(("Vandelay",), "Vandelay Research Labs")
    assert name == "Vandelay" and score >= MatchThresholds().similar_match


def test_a_legal_vehicle_of_a_family_is_less_sure_than_a_unit_of_it() -> None:
    [(_, unit), *_] = _ranked(("Vandelay Energy",), "Vandelay Energy Research Center")
    [(_, vehicle), *_] = _ranked(("Vandelay Energy",), "Vandelay Energy Partners")
    assert vehicle < unit


def test_a_bank_and_its_holding_company_are_one_bank() -> None:
    weight = _weights(COMMON).word_weight
    assert word_overlap("bank of marin", "bank of marin bancorp", weight).choice_extra == frozenset()
    assert word_overlap("bank of the ozarks", "ozarks bancorp", weight).choice_extra == frozenset()
    [(name, score), *_] = _ranked(("Bank of Vandelay Bancorp",), "Bank of Vandelay")
    assert name == "Bank of Vandelay Bancorp" and score >= MatchThresholds().similar_match
    [(name, score), *_] = _ranked(("Vandelay Bancorp",), "Bank of Vandelay")
    assert name == "Vandelay Bancorp" and score >= MatchThresholds().similar_warning


def test_words_written_together_are_the_same_words() -> None:
    weight = _weights(COMMON).word_weight
    together = word_overlap("vandyke software", "van dyke", weight)
    assert (together.query_extra, together.choice_extra) == ({"software"}, frozenset())
    assert word_overlap("jp morgan chase", "jpmorgan", weight).query_extra == {"chase"}
    # Only consecutive words join, in their order: "xylo ab" is not "abxylo".
    assert word_overlap("abxylo", "xylo ab", weight).choice_extra == {"xylo", "ab"}
    [(name, _), *_] = _ranked(("Van Dyke",), "VanDyke Software")
    assert name == "Van Dyke"


def test_the_rare_word_is_held_alone_written_apart_or_written_together_with_its_neighbour() -> None:
    weight = _weights(COMMON).word_weight
    forms = rare_forms("rain willow communications", weight)
    assert set(forms) >= {"rainwillow"} and forms[0] in {"rain", "willow"}
    assert holds_rare("rainwillow", forms) and holds_rare("willow labs", rare_forms("willow", weight))
    assert holds_rare("van dyke", rare_forms("vandyke software", weight))
    assert not holds_rare("communications", forms) and rare_forms("", weight) == ()
