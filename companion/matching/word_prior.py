"""How common each word is among real organisation names: word rarity for a cache too small to tell.

A recruiter's CATS may hold a few hundred companies. Among so few names nearly every word is in one name
only, so "power" or "energy" would weigh as much as "kddi" and a brand sharing a common word with one
longer name would look like its match. `index.TrigramIndex.word_weight` therefore counts a cache of
fewer than `RARITY_POPULATION` names as a sample of that many: its own names, and the rest drawn from a
reference sample of real organisation names (the SEC's registry names and the IEEE's organisation
names that `cats-companion bench match-quality` uses), in which "power" is in one name of ~300.

The counts are data in `word_prior_data.py` beside this module (matching stays free of I/O), written by
`scripts/extract_word_prior.py` from the reference names with `count_words` and `to_module`; a test
checks that the shipped counts are what the names give.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Final

from companion.matching import word_prior_data
from companion.matching.normalize import normalize_name

#: Words in fewer reference names than this are left out: rare either way, and they would triple the data.
MIN_NAMES: Final = 3
_CHUNK: Final = 100


def count_words(names: Iterable[str]) -> tuple[int, dict[str, int]]:
    """(how many names, how many of them hold each word held by at least `MIN_NAMES`), over the names'
    normalised keys (`normalize_name`), each distinct key once, as the index counts them."""
    keys = {normalize_name(name) for name in names} - {""}
    counts: Counter[str] = Counter()
    for key in keys:
        counts.update(set(key.split()))
    return len(keys), {word: n for word, n in sorted(counts.items()) if n >= MIN_NAMES}


def to_module(sample: int, counts: Mapping[str, int]) -> str:
    """The text of word_prior_data.py holding these counts: "word:count" pairs, a line of them at a time."""
    pairs = " ".join(f"{word}:{n}" for word, n in sorted(counts.items()))
    lines = []
    while pairs:
        cut = pairs.rfind(" ", 0, _CHUNK) if len(pairs) > _CHUNK else len(pairs)
        cut = cut if cut > 0 else len(pairs)
        lines.append(pairs[:cut] + (" " if cut < len(pairs) else ""))
        pairs = pairs[cut + 1 :]
    body = "".join(f'    "{line}"\n' for line in lines)
    return (
        '"""How many reference names hold each word (`word_prior`): `scripts/extract_word_prior.py`."""\n\n'
        f"SAMPLE_NAMES = {sample}\n"
        f"WORD_NAMES = (\n{body})\n"
    )


@functools.cache
def prior_counts() -> tuple[int, Mapping[str, int]]:
    """(names in the reference sample, how many of them hold each word) as shipped."""
    pairs = (pair.split(":") for pair in word_prior_data.WORD_NAMES.split())
    return word_prior_data.SAMPLE_NAMES, {word: int(n) for word, n in pairs}
