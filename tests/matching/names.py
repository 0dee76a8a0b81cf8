"""Real organisation names for matching tests, and the realistic variants a CATS account accumulates."""

from __future__ import annotations

import random

from companion.sandbox.seed import organisation_names

LEGAL_FORMS = ["Inc", "Inc.", "Corp", "Corporation", "Ltd", "Ltd.", "GmbH", "LLC", "S.A.", "Co., Ltd.", "AG"]


def real_names() -> tuple[str, ...]:
    """The sandbox's real organisation names (no fallback: a missing file must fail the tests loudly)."""
    return organisation_names()


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
