"""Real organisation names for matching tests, and the realistic variants a CATS account accumulates."""

from __future__ import annotations

import random
from functools import cache
from pathlib import Path

import companion

ORGANISATIONS = Path(companion.__file__).parent / "cats" / "sandbox" / "data" / "organisations.txt"

# Used only if the sandbox's data file is missing: well-known companies, written out by hand.
_FALLBACK = [
    "Cisco Systems, Inc", "Nokia Shanghai Bell Co., Ltd.", "Société Générale S.A.", "AT&T Inc.",
    "The Coca-Cola Company", "American Electric Power", "Siemens AG", "Robert Bosch GmbH",
    "Hewlett Packard Enterprise", "Samsung Electronics Co.,Ltd", "Huawei Technologies Co.,Ltd",
    "Apple, Inc.", "Intel Corporate", "Texas Instruments", "Sony Corporation", "Panasonic Corporation",
]  # fmt: skip

LEGAL_FORMS = ["Inc", "Inc.", "Corp", "Corporation", "Ltd", "Ltd.", "GmbH", "LLC", "S.A.", "Co., Ltd.", "AG"]


@cache
def real_names() -> tuple[str, ...]:
    if ORGANISATIONS.exists():
        return tuple(line for line in ORGANISATIONS.read_text(encoding="utf-8").splitlines() if line.strip())
    return tuple(_FALLBACK)


def variant(name: str, rng: random.Random) -> str:
    """Another way a recruiter or a sync might have written `name`: legal form, case, punctuation, typo."""
    roll = rng.random()
    words = name.split()
    if roll < 0.3:
        return " ".join(words[:-1] if len(words) > 1 else words) + " " + rng.choice(LEGAL_FORMS)
    if roll < 0.5:
        return name.upper() if rng.random() < 0.5 else name.replace(",", "").replace(".", "")
    position = rng.randrange(len(name))
    return name[:position] + rng.choice("abcdefghijklmnopqrstuvwxyz") + name[position + 1 :]
