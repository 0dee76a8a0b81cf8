"""Words that say what a part of a company's name is: a unit of an organisation, or a legal vehicle.

The match model (`scoring.MATCH_FEATURES`) asks what the words one name has and the other lacks are. Two
kinds tell opposite stories:

- a unit of the organisation ("KDDI R&D Labs", "Atos Research and Innovation", "Hainan University College
  of ...", "IETF Executive Director"): the longer name is a part of the shorter one's organisation, and a
  person there works for it;
- a legal vehicle ("Cheniere Energy Partners", "Eaton Vance ... Income Fund II", "Community Trust
  Bancorp"): registries hold a family's funds, trusts, partnerships and bank holding companies as
  separate entities, so the longer name is most often another entity of the family.

Both lists are words as `normalize.normalize_name` writes them ("R&D" -> "r and d").
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Final

UNIT_WORDS: Final = frozenset(
    {
        "lab", "labs", "laboratory", "laboratories", "research", "r", "d", "division", "department",
        "dept", "center", "centre", "institute", "school", "college", "faculty", "team", "office", "unit",
        "innovation", "development", "group",
    }
)  # fmt: skip

VEHICLE_WORDS: Final = frozenset(
    {
        "fund", "funds", "trust", "partners", "partnership", "bancorp", "bancshares", "bankshares",
        "reit", "acquisition", "capital", "income", "municipal", "municipals", "etf", "portfolio",
        "series", "opportunities", "royalty", "realty", "investors", "investment", "investments",
    }
)  # fmt: skip


def unit_share(words: Collection[str]) -> float:
    """The share of `words` that name a unit of an organisation (0 for no words)."""
    return sum(word in UNIT_WORDS for word in words) / len(words) if words else 0.0


def names_a_vehicle(words: Collection[str]) -> bool:
    """Whether any of `words` names a legal vehicle: a fund, trust, partnership, bank holding company."""
    return any(word in VEHICLE_WORDS for word in words)
