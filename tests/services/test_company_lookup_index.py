"""The compact pieces behind the lookup index: the id -> slot map, pre-normalised keys, the length window."""

from __future__ import annotations

import random

from companion.matching import TrigramIndex, normalize_name, similarities
from companion.matching.idslots import IdSlots
from companion.matching.index import length_window


def test_id_slots_agree_with_a_dict_through_appends_out_of_order_inserts_and_removals() -> None:
    rng = random.Random(4)
    slots = IdSlots()
    expected: dict[int, int] = {}
    next_id = 1
    for step in range(30_000):
        roll = rng.random()
        if roll < 0.5:  # mostly ascending ids, as from the cache or CATS
            next_id += rng.randint(1, 3)
            company_id = next_id
        elif roll < 0.75:
            company_id = rng.randint(1, next_id + 10)
        else:
            if expected:
                gone = rng.choice(list(expected)) if step % 50 == 0 else next(iter(expected))
                assert slots.pop(gone) == expected.pop(gone)
            assert slots.pop(-5) is None
            continue
        expected[company_id] = step
        slots.set(company_id, step)
    assert len(slots) == len(expected)
    assert dict(slots.items()) == expected
    for company_id in range(1, next_id + 11):
        assert slots.get(company_id) == expected.get(company_id)
        assert (company_id in slots) == (company_id in expected)


def test_an_index_fed_normalised_keys_answers_like_one_fed_names() -> None:
    names = ["Cisco Systems, Inc", "CISCO SYSTEMS", "Cisco-Linksys LLC", "Sisco Systems", "The Acme Company"]
    by_name = TrigramIndex(enumerate(names, start=1))
    by_key = TrigramIndex()
    for company_id, name in enumerate(names, start=1):
        by_key.add_key(company_id, normalize_name(name))
    assert by_key.distinct_names == by_name.distinct_names == 4
    assert sorted(by_key.keys()) == sorted(normalize_name(name) for name in names)
    for query in ("cisco systems", "acme"):
        assert by_key.search(query, limit=5) == by_name.search(query, limit=5)
        assert by_key.search_key(query, limit=5) == by_name.search(query, limit=5)


def test_the_length_window_never_excludes_a_name_that_reaches_the_score() -> None:
    rng = random.Random(9)
    words = ["acme", "global", "systems", "international", "bell", "nokia", "x", "technologies", "and"]
    for _ in range(3000):
        a = " ".join(rng.choices(words, k=rng.randint(1, 4)))
        b = " ".join(rng.choices(words, k=rng.randint(1, 4)))
        score = similarities(a, [b])[0]
        for min_score in (60, 75, 88, 95):
            if score >= min_score:
                assert len(b) in length_window(len(a), min_score), (a, b, score, min_score)


def test_similarities_with_a_floor_are_exact_above_it() -> None:
    keys = ["acme systems", "acme sistems", "acme", "zenith", "acme systems international"]
    full = similarities("acme systems", keys)
    floored = similarities("acme systems", keys, 88)
    for exact, fast in zip(full, floored, strict=True):
        assert fast == exact if exact >= 88 else fast < 88
