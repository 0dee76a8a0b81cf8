"""The trigram candidate index: agrees with brute force, ranks sensibly, stays current as companies change."""

from __future__ import annotations

import random

import pytest
from rapidfuzz import fuzz

from companion.matching.index import (
    ACRONYM_SCORE,
    LEADING_NAME_SCORE,
    LEADING_NAMES,
    OWN_ACRONYM_SCORE,
    TrigramIndex,
    initials,
)
from companion.matching.models import MatchThresholds
from companion.matching.normalize import normalize_name, own_acronym
from companion.matching.scoring import name_similarity, similarities
from tests.matching.names import real_names, variant


def _companies(count: int, seed: int) -> list[tuple[int, str]]:
    """`count` companies: real names, then variants of them (the near-duplicates a CATS account holds)."""
    rng = random.Random(seed)
    names = list(real_names())
    rng.shuffle(names)
    chosen = names[: count * 3 // 4]
    while len(chosen) < count:
        chosen.append(variant(rng.choice(chosen), rng))
    return list(enumerate(chosen, start=1))


def test_search_recalls_brute_force_top_results() -> None:
    companies = _companies(5000, seed=11)
    index = TrigramIndex(companies)
    ids = [company_id for company_id, _ in companies]
    keys = [normalize_name(name) for _, name in companies]
    rng = random.Random(12)
    wanted = found = 0
    for _ in range(60):
        query = variant(rng.choice(companies)[1], rng)
        brute = similarities(normalize_name(query), keys)
        top = sorted((score, company_id) for company_id, score in zip(ids, brute, strict=True) if score >= 90)
        top = sorted(top, key=lambda hit: (-hit[0], hit[1]))[:10]
        if not top:
            continue
        cutoff = top[-1][0]
        hits = index.search(query, limit=10, min_score=90)
        wanted += len(top)
        # A hit with the same score as brute force's last one is as good (ties are broken arbitrarily).
        found += min(len(top), sum(1 for hit in hits if hit.score >= cutoff))
    assert wanted > 60  # the queries really had near-duplicates to find
    assert found / wanted >= 0.95


def test_search_scores_match_the_blended_score() -> None:
    index = TrigramIndex([(1, "Cisco Systems, Inc"), (2, "Cisco-Linksys LLC"), (3, "Sisco Systems")])
    for hit in index.search("CISCO SYSTEMS", limit=3):
        assert hit.score == pytest.approx(
            name_similarity("cisco systems", index.key_of(hit.company_id) or ""), abs=1e-9
        )


def test_exact_power_outranks_american_electric_power() -> None:
    # token_set_ratio alone would call these a perfect match: the blend must not.
    assert fuzz.token_set_ratio("power", "american electric power") == 100
    index = TrigramIndex(
        [(1, "American Electric Power Co., Inc."), (2, "Power Ltd"), (3, "Powell Industries")]
    )
    hits = index.search("Power", limit=3)
    assert [hit.company_id for hit in hits][:2] == [2, 1]
    assert hits[0].score == 100
    assert hits[1].score < 75
    assert index.search("American Electric Power", limit=1)[0].company_id == 1


def test_legal_form_case_and_typo_variants_are_found_first() -> None:
    companies = _companies(3000, seed=3)
    index = TrigramIndex([*companies, (99_001, "Nokia Shanghai Bell Co., Ltd.")])
    for query in ("NOKIA SHANGHAI BELL", "Nokia Shanghai Bell Ltd", "Nokia Shanghai Bel Co"):
        assert index.search(query, limit=1)[0].company_id == 99_001


def test_min_score_limit_and_exclude_filter_hits() -> None:
    index = TrigramIndex([(1, "Acme Systems"), (2, "Acme Systems GmbH"), (3, "Acme Sistems"), (4, "Zenith")])
    assert {hit.company_id for hit in index.search("Acme Systems", min_score=99)} == {1, 2}
    assert len(index.search("Acme Systems", limit=1)) == 1
    assert 4 not in {hit.company_id for hit in index.search("Acme Systems", min_score=50)}
    assert {hit.company_id for hit in index.search("Acme Systems", exclude={1, 2})} == {3}


def test_equal_scores_are_ordered_by_company_id() -> None:
    index = TrigramIndex([(30, "Acme Inc"), (10, "ACME GmbH"), (20, "Acme")])
    assert [hit.company_id for hit in index.search("acme")] == [10, 20, 30]


def test_candidates_respect_the_limit_and_prefer_shared_trigrams() -> None:
    index = TrigramIndex(_companies(2000, seed=5))
    index.add(50_000, "Quantum Widgets")
    candidates = index.candidates("Quantum Widgets", limit=25)
    assert len(candidates) == 25
    assert candidates[0] == 50_000


def test_a_small_posting_budget_still_finds_names_through_their_rarer_trigrams() -> None:
    index = TrigramIndex([*_companies(3000, seed=8), (77_777, "Zyxel Communications")], posting_budget=50)
    assert index.search("Zyxel Communication", limit=1)[0].company_id == 77_777


def test_update_replaces_the_old_name() -> None:
    index = TrigramIndex([(1, "Globex Corporation"), (2, "Initech")])
    index.add(1, "Umbrella Corporation")
    assert len(index) == 2
    assert index.key_of(1) == "umbrella"
    assert 1 not in {hit.company_id for hit in index.search("Globex", min_score=50)}
    assert index.search("Umbrella", limit=1)[0].company_id == 1


def test_removed_company_is_never_returned() -> None:
    index = TrigramIndex([(1, "Globex Corporation"), (2, "Globex Corp")])
    assert index.remove(1) is True
    assert 1 not in index
    assert [hit.company_id for hit in index.search("Globex")] == [2]
    assert index.remove(1) is False
    assert index.remove(12345) is False


def test_incremental_changes_give_the_same_answers_as_a_fresh_build() -> None:
    rng = random.Random(21)
    companies = dict(_companies(2000, seed=21))
    index = TrigramIndex(companies.items())
    pool = list(real_names())
    next_id = max(companies) + 1
    for _ in range(1500):
        roll = rng.random()
        if roll < 0.3 and companies:
            company_id = rng.choice(list(companies))
            del companies[company_id]
            index.remove(company_id)
        elif roll < 0.6 and companies:
            company_id = rng.choice(list(companies))
            companies[company_id] = variant(companies[company_id], rng)
            index.add(company_id, companies[company_id])
        else:
            companies[next_id] = rng.choice(pool)
            index.add(next_id, companies[next_id])
            next_id += 1
    fresh = TrigramIndex(sorted(companies.items()))
    assert len(index) == len(fresh) == len(companies)
    for query in rng.sample(sorted(companies.values()), 40):
        assert index.search(query, limit=5) == fresh.search(query, limit=5)


def test_adding_a_batch_answers_exactly_like_adding_one_by_one() -> None:
    rng = random.Random(5)
    companies = _companies(3000, seed=5)
    # Updates and repeated ids inside one batch, as a page batch of a sync can hold them.
    updates = [(company_id, variant(name, rng)) for company_id, name in rng.sample(companies, 300)]
    batch = [(company_id, normalize_name(name)) for company_id, name in companies + updates]
    one_by_one = TrigramIndex()
    for company_id, key in batch:
        one_by_one.add_key(company_id, key)
    bulk = TrigramIndex()
    bulk.add_keys(batch[:1000])
    bulk.add_keys(batch[1000:])
    assert len(bulk) == len(one_by_one) == 3000
    assert bulk.distinct_names == one_by_one.distinct_names
    assert sorted(bulk.keys()) == sorted(one_by_one.keys())
    for query in rng.sample([name for _, name in companies], 60):
        assert bulk.search(query, limit=5, min_score=60) == one_by_one.search(query, limit=5, min_score=60)


@pytest.mark.parametrize("bad", [("7", "acme"), (8, None), (-1, "acme"), (True, "acme")])
def test_a_batch_with_one_bad_entry_is_refused_whole(bad: tuple[object, object]) -> None:
    index = TrigramIndex([(5, "Acme")])
    with pytest.raises((TypeError, ValueError)):
        index.add_keys([(6, "globex"), bad, (9, "initech")])  # type: ignore[list-item]
    assert len(index) == 1
    assert 6 not in index and 9 not in index


def test_names_without_letters_are_kept_but_never_found() -> None:
    index = TrigramIndex([(1, "!!!"), (2, "Acme")])
    assert 1 in index
    assert index.key_of(1) == ""
    assert index.search("!!!") == []
    assert [hit.company_id for hit in index.search("Acme")] == [2]


def test_one_letter_names_are_searchable() -> None:
    index = TrigramIndex([(1, "X"), (2, "Y Ltd")])
    assert index.search("x", limit=1)[0].company_id == 1
    assert index.search("Y", limit=1)[0].company_id == 2


@pytest.mark.parametrize(("company_id", "name"), [("1", "Acme"), (True, "Acme"), (1, None), (1, b"Acme")])
def test_bad_entries_are_refused_and_change_nothing(company_id: object, name: object) -> None:
    index = TrigramIndex([(5, "Acme")])
    with pytest.raises(TypeError):
        index.add(company_id, name)  # type: ignore[arg-type]
    assert len(index) == 1
    assert [hit.company_id for hit in index.search("Acme")] == [5]


@pytest.mark.parametrize("company_id", [-1, 2**63])
def test_out_of_range_company_ids_are_refused_and_change_nothing(company_id: int) -> None:
    index = TrigramIndex([(5, "Acme")])
    with pytest.raises(ValueError, match="company_id"):
        index.add(company_id, "Acme Two")
    assert len(index) == 1
    assert [hit.company_id for hit in index.search("Acme Two", min_score=50)] == [5]


def test_bad_search_arguments_are_refused() -> None:
    index = TrigramIndex([(1, "Acme")])
    with pytest.raises(ValueError, match="limit"):
        index.search("Acme", limit=0)
    with pytest.raises(ValueError, match="posting_budget"):
        TrigramIndex(posting_budget=0)


def test_initials_are_those_of_names_of_three_words_or_more_without_small_words() -> None:
    assert initials("international business machines") == "ibm"
    assert initials("university of new south wales") == "unsw"
    assert initials("acme systems") == ""


def test_acronym_in_parentheses_finds_the_spelt_out_name_as_a_look_alike() -> None:
    names = ["Gwangju Institute of Science and Technology (GIST)", "Gist Software", "Initech"]
    index = TrigramIndex(enumerate(names, start=1))
    hits = {hit.company_id: hit.score for hit in index.rank_key(normalize_name("(GIST"), limit=5)}
    assert hits[1] == ACRONYM_SCORE
    # Initials are a look-alike to check, never a match: between the two thresholds.
    thresholds = MatchThresholds()
    assert thresholds.similar_warning <= ACRONYM_SCORE < thresholds.similar_match
    index.remove(1)
    assert 1 not in {hit.company_id for hit in index.rank_key("gist", limit=5)}


def test_a_word_weighs_a_share_of_the_most_a_word_can_weigh_at_any_cache_size() -> None:
    for size in (3, 20_000):
        index = TrigramIndex()
        index.add_keys((n, f"firm{n} systems") for n in range(size))
        # A word no name has weighs 1.0; a word of one name nearly as much; one in every name least.
        assert index.word_weight("zyx") == 1.0
        assert 0.8 < index.word_weight("firm1") < 1.0
        assert 0.0 < index.word_weight("systems") < index.word_weight("firm1")
    # Among thousands of names, a word of every name tells next to nothing.
    assert index.word_weight("systems") < 0.05


def test_a_typo_of_the_only_name_in_a_small_cache_is_still_its_likely_match() -> None:
    # In a cache of one name every word is in every name: rarity cannot be told, so each counts as rare.
    index = TrigramIndex()
    index.add_key(4, normalize_name("Globex Sytems Ltd"))
    [hit] = index.rank_key(normalize_name("Globex Systems"), limit=1)
    assert hit.company_id == 4 and hit.score >= MatchThresholds().similar_likely


def test_a_common_word_stays_common_in_a_small_cache() -> None:
    # One name cannot tell "power" from "kddi": the reference names can ("power" is in one name of ~300).
    index = TrigramIndex()
    index.add_key(1, normalize_name("American Electric Power Co., Inc."))
    assert index.word_weight("power") < 0.7 * index.word_weight("kddi")
    assert index.word_weight("kddi") == 1.0
    assert all(hit.score < MatchThresholds().similar_warning for hit in index.rank_key("power"))


def test_a_short_name_holding_the_querys_rare_word_is_ranked_among_hundreds_sharing_more_trigrams() -> None:
    # "sbc" shares three trigrams with "sbc communications"; three hundred "... communications" share more.
    names = [f"{word} communications" for word in _filler_words(300)] + ["SBC"]
    index = TrigramIndex(enumerate(names, start=1))
    hits = index.rank_key(normalize_name("SBC Communications"), limit=5)
    assert len(names) in {hit.company_id for hit in hits}
    # Written together with its neighbour ("rainwillow") the rare word is found too.
    index.add(1000, "RainWillow")
    hits = index.rank_key(normalize_name("Rain Willow Communications"), limit=5)
    assert 1000 in {hit.company_id for hit in hits}


def _filler_words(count: int) -> list[str]:
    rng = random.Random(5)
    return [
        "".join(rng.choice("bcdfghklmnprstvz") + rng.choice("aeiou") for _ in range(3)) for _ in range(count)
    ]


def test_a_long_names_initials_find_the_acronym_cached_as_a_look_alike_from_four_letters() -> None:
    index = TrigramIndex(enumerate(["WHOI", "SMP", "Initech"], start=1))
    hits = {
        h.company_id: h.score for h in index.rank_key(normalize_name("Woods Hole Oceanographic Institution"))
    }
    assert hits.get(1) == ACRONYM_SCORE
    # Three letters are some other organisation's name most often: no look-alike.
    assert 2 not in {h.company_id for h in index.rank_key(normalize_name("Standard Motor Products"))}


def test_the_acronym_a_name_gives_itself_is_a_possible_match_not_a_likely_one() -> None:
    index = TrigramIndex(enumerate(["PARC", "Palo Alto Networks"], start=1))
    name = "Palo Alto Research Center (PARC"
    hits = index.rank_key(normalize_name(name), acronym=own_acronym(name))
    assert hits[0].company_id == 1 and hits[0].score == OWN_ACRONYM_SCORE
    thresholds = MatchThresholds()
    assert thresholds.similar_match <= OWN_ACRONYM_SCORE < thresholds.similar_likely
    # Without the acronym written, the name's initials still make PARC a look-alike, never a match.
    unnamed = {hit.company_id: hit.score for hit in index.rank_key(normalize_name(name))}
    assert unnamed[1] == ACRONYM_SCORE < thresholds.similar_match


def test_the_few_names_that_begin_with_the_whole_query_are_look_alikes_never_a_match() -> None:
    # A brand and its registered name ("Elanco" / "Elanco Animal Health"): the model alone scores the
    # pair low (so do namesakes), yet the card should name it to check.
    index = TrigramIndex(enumerate(["Elanco Animal Health Inc", "LANCO, INC.", "Elan Corp"], start=1))
    hits = {h.company_id: h.score for h in index.rank_key(normalize_name("Elanco"))}
    assert hits[1] >= LEADING_NAME_SCORE
    thresholds = MatchThresholds()
    assert thresholds.similar_warning <= LEADING_NAME_SCORE < thresholds.similar_match


def test_a_query_that_begins_many_names_lifts_none_of_them() -> None:
    names = [f"Acme {word}" for word in ("Widgets", "Gadgets", "Tools", "Foods")][: LEADING_NAMES + 1]
    index = TrigramIndex(enumerate(names, start=1))
    assert all(h.score != LEADING_NAME_SCORE for h in index.rank_key("acme"))
    # Asked for nothing under the lift's score, the lift is not computed at all.
    assert index.rank_key("acme", min_score=LEADING_NAME_SCORE + 1) == [
        h for h in index.rank_key("acme") if h.score >= LEADING_NAME_SCORE + 1
    ]
