"""A compact map from company id to a small int (the index's name slot): ~12 bytes per company.

A `dict[int, int]` costs ~100 bytes per entry once its int objects are counted (~100 MB at a million
companies). Here the ids live in one sorted `array('q')` with their slots in a parallel `array('I')`,
looked up by bisection. Ids usually arrive in ascending order (the cache is read in id order, and CATS
gives new companies higher ids), so most inserts are appends; the others wait in a small dict that is
merged into the arrays once it grows. Removal marks the entry dead; dead entries are compacted away
when they are numerous.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterator
from itertools import compress
from typing import Final

#: The slot value of a removed entry.
_DEAD: Final = 0xFFFFFFFF
#: The out-of-order dict is merged into the arrays beyond this size (or 1/16 of the arrays).
_MERGE_MIN: Final = 4096


class IdSlots:
    """Company id -> slot (0 <= slot < 2**32 - 1).

    Invariant: every id waiting in the out-of-order dict is below the arrays' last id (it went there for
    being below it, the last id only grows between merges, and a merge empties the dict), so an id above
    the last is in neither.
    """

    def __init__(self) -> None:
        self._ids = array("q")
        self._slots = array("I")
        self._extra: dict[int, int] = {}
        self._dead = 0

    def __len__(self) -> int:
        return len(self._ids) - self._dead + len(self._extra)

    def __contains__(self, company_id: object) -> bool:
        return isinstance(company_id, int) and self.get(company_id) is not None

    def _position(self, company_id: int) -> int:
        """The index of `company_id` in the arrays (dead or alive), or -1."""
        ids = self._ids
        position = bisect_left(ids, company_id)
        return position if position < len(ids) and ids[position] == company_id else -1

    def get(self, company_id: int) -> int | None:
        ids = self._ids
        if not ids or company_id > ids[-1]:
            # Beyond the arrays, so not waiting in the dict either (see the class doc): a new company,
            # as nearly every company of a first sync is.
            return None
        slot = self._extra.get(company_id)
        if slot is not None:
            return slot
        position = self._position(company_id)
        if position < 0:
            return None
        slot = self._slots[position]
        return None if slot == _DEAD else slot

    def set(self, company_id: int, slot: int) -> None:
        ids = self._ids
        if ids and company_id > ids[-1]:
            ids.append(company_id)
            self._slots.append(slot)
            return
        if company_id in self._extra:
            self._extra[company_id] = slot
            return
        position = self._position(company_id)
        if position >= 0:
            if self._slots[position] == _DEAD:
                self._dead -= 1
            self._slots[position] = slot
        elif not self._ids or company_id > self._ids[-1]:
            self._ids.append(company_id)
            self._slots.append(slot)
        else:
            self._extra[company_id] = slot
            if len(self._extra) > max(_MERGE_MIN, len(self._ids) >> 4):
                self._merge()

    def pop(self, company_id: int) -> int | None:
        """Remove `company_id`; its slot, or None when it was not there."""
        slot = self._extra.pop(company_id, None)
        if slot is not None:
            return slot
        position = self._position(company_id)
        if position < 0 or self._slots[position] == _DEAD:
            return None
        slot = self._slots[position]
        self._slots[position] = _DEAD
        self._dead += 1
        if self._dead > max(_MERGE_MIN, len(self._ids) >> 1):
            self._merge()
        return slot

    def items(self) -> Iterator[tuple[int, int]]:
        """(id, slot) pairs, in no particular order."""
        yield from self._extra.items()
        for company_id, slot in zip(self._ids, self._slots, strict=True):
            if slot != _DEAD:
                yield company_id, slot

    def _merge(self) -> None:
        """Drop dead entries and fold the out-of-order ids into the sorted arrays."""
        alive = [slot != _DEAD for slot in self._slots]
        ids = array("q", compress(self._ids, alive))
        slots = array("I", compress(self._slots, alive))
        merged_ids = array("q")
        merged_slots = array("I")
        start = 0
        for company_id in sorted(self._extra):
            # Slices copy in C: the Python loop runs once per out-of-order id, not once per company.
            end = bisect_left(ids, company_id, start)
            merged_ids.extend(ids[start:end])
            merged_slots.extend(slots[start:end])
            merged_ids.append(company_id)
            merged_slots.append(self._extra[company_id])
            start = end
        merged_ids.extend(ids[start:])
        merged_slots.extend(slots[start:])
        self._ids, self._slots = merged_ids, merged_slots
        self._extra = {}
        self._dead = 0
