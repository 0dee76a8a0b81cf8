"""Words that say what a part of a company's name is: a unit of an organisation, a legal vehicle, a bank.

The match model (`scoring.MATCH_FEATURES`) asks what the words one name has and the other lacks are. Two
kinds tell opposite stories:

- a unit of the organisation ("KDDI R&D Labs", "Atos Research and Innovation", "Hainan University College
  of ...", "IETF Executive Director"): the longer name is a part of the shorter one's organisation, and a
  person there works for it;
- a legal vehicle ("Cheniere Energy Partners", "Eaton Vance ... Income Fund II", "Community Trust
  Bancorp"): registries hold a family's funds, trusts and partnerships as separate entities, so the
  longer name is most often another entity of the family.

And one family of words names one bank whichever is used: "Bank of Marin" is "Bank of Marin Bancorp", "Bank
of the Ozarks" is "Ozarks Bancorp" (a bank and its holding company, as profiles and registries write
them). All are words as `normalize.normalize_name` writes them ("R&D" -> "r and d").
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
        "fund", "funds", "trust", "partners", "partnership", "reit", "acquisition", "capital", "income",
        "municipal", "municipals", "etf", "portfolio", "series", "opportunities", "royalty", "realty",
        "investors", "investment", "investments",
    }
)  # fmt: skip


BANK_WORDS: Final = frozenset(
    {"bank", "banks", "bancorp", "bancorporation", "bankcorp", "bancshares", "bankshares", "banc", "banco"}
)


def unit_share(words: Collection[str]) -> float:
    """The share of `words` that name a unit of an organisation (0 for no words)."""
    return sum(word in UNIT_WORDS for word in words) / len(words) if words else 0.0


def names_a_vehicle(words: Collection[str]) -> bool:
    """Whether any of `words` names a legal vehicle: a fund, trust, partnership, bank holding company."""
    return any(word in VEHICLE_WORDS for word in words)
