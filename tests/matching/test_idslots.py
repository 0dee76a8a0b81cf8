"""IdSlots behaves exactly like a dict from company id to slot, whatever order ids come and go in."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from companion.matching import idslots
from companion.matching.idslots import IdSlots

_IDS = st.integers(min_value=0, max_value=60)
_OPERATIONS = st.lists(
    st.one_of(
        st.tuples(st.just("set"), _IDS, st.integers(min_value=0, max_value=2**32 - 2)),
        st.tuples(st.just("pop"), _IDS, st.just(0)),
    ),
    max_size=300,
)


@settings(max_examples=200, deadline=None)
@given(_OPERATIONS)
def test_any_sequence_of_sets_and_pops_agrees_with_a_dict(operations: list[tuple[str, int, int]]) -> None:
    slots, model = IdSlots(), dict[int, int]()
    for action, company_id, slot in operations:
        if action == "set":
            slots.set(company_id, slot)
            model[company_id] = slot
        else:
            assert slots.pop(company_id) == model.pop(company_id, None)
        assert len(slots) == len(model)
    assert dict(slots.items()) == model
    for company_id in range(62):
        assert slots.get(company_id) == model.get(company_id)
        assert (company_id in slots) == (company_id in model)


def test_merges_keep_the_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    # Merges happen past 4096 out-of-order or dead entries: force them early to check the folding.
    monkeypatch.setattr(idslots, "_MERGE_MIN", 4)
    slots, model = IdSlots(), dict[int, int]()
    for company_id in [*range(100, 200, 3), *range(0, 300, 7), *range(150, 100, -1)]:
        slots.set(company_id, company_id % 17)
        model[company_id] = company_id % 17
    for company_id in range(0, 300, 5):
        assert slots.pop(company_id) == model.pop(company_id, None)
    assert dict(slots.items()) == model
    assert all(slots.get(company_id) == model.get(company_id) for company_id in range(320))
