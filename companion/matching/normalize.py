"""Company-name normalisation: the key under which two spellings of one company's name are equal.

The rules, applied in this order (each step has a test in tests/matching/test_normalize.py):

1. Case-fold, then transliterate to ASCII with anyascii ("Société" -> "societe", "Газпром" -> "gazprom").
   anyascii is ISC-licensed; Unidecode is GPL and must not be used.
2. ``&`` and ``+`` become the word ``and`` ("AT&T" -> "at and t", "Procter & Gamble" -> "procter and gamble").
3. Dots inside initialisms are dropped ("S.A." -> "sa", "E.ON" -> "eon", "J.P. Morgan" -> "jp morgan"), so the
   dotted and undotted spellings of a legal form meet; apostrophes are dropped ("McDonald's" -> "mcdonalds");
   every other non-alphanumeric character separates words ("Coca-Cola" -> "coca cola", "amazon.com" ->
   "amazon com"); whitespace collapses.
4. Leading "the"s are dropped while other words follow.
5. Legal forms are stripped from the end REPEATEDLY, longest term first ("Nokia Shanghai Bell Co., Ltd." ->
   "nokia shanghai bell"), using cleanco's term lists (all types and countries) normalised by steps 1-3.
6. Stripping never removes the first remaining word: a name made only of legal-form words keeps its first
   word ("The Company Ltd" -> "company", "Inc." -> "inc"), so every name with a letter or digit has a
   non-empty key. A name without any letter or digit normalises to "".
"""

from __future__ import annotations

import functools
import re

from anyascii import anyascii
from cleanco.termdata import terms_by_country, terms_by_type

# cleanco terms that, at the end of an English company name, are far more often an ordinary word or a
# place than a legal form ("Acme UK", "Fitness Unlimited", "Made in Japan OK"): stripping them would
# make different companies share a key and be reported as "same name apart from the legal form".
_NOT_LEGAL_FORMS = frozenset({"uk", "at", "ok", "et", "ep", "ba", "bl", "fa", "ps", "ee", "eg", "unlimited"})

_AMPERSAND = re.compile(r"[&+]")
# A single letter or digit that starts a word and is followed by a dot: "s.a." -> "sa", "e.on" -> "eon".
_INITIAL_DOT = re.compile(r"(?<![a-z0-9])([a-z0-9])\.")
_APOSTROPHE = re.compile(r"['`]")
_SEPARATOR = re.compile(r"[^a-z0-9]+")


def _words(name: str) -> list[str]:
    """Steps 1-3: the ASCII words of a name, before "the" and legal forms are considered."""
    text = anyascii(name.casefold()).lower()
    text = _AMPERSAND.sub(" and ", text)
    text = _INITIAL_DOT.sub(r"\1", text)
    text = _APOSTROPHE.sub("", text)
    return _SEPARATOR.sub(" ", text).split()


def _build_legal_forms() -> dict[int, frozenset[tuple[str, ...]]]:
    """cleanco's terms, normalised exactly like names, grouped by their length in words."""
    terms: set[tuple[str, ...]] = set()
    for group in (*terms_by_type.values(), *terms_by_country.values()):
        for term in group:
            words = tuple(_words(term))
            if words and " ".join(words) not in _NOT_LEGAL_FORMS:
                terms.add(words)
    by_length: dict[int, set[tuple[str, ...]]] = {}
    for words in terms:
        by_length.setdefault(len(words), set()).add(words)
    return {length: frozenset(group) for length, group in by_length.items()}


_LEGAL_FORMS = _build_legal_forms()
# Longest first, so "gmbh and co kg" is stripped as one form rather than "kg" alone.
_LENGTHS = sorted(_LEGAL_FORMS, reverse=True)


def legal_forms() -> frozenset[str]:
    """Every legal-form term the normaliser strips, in normalised spelling ("sa", "gmbh and co kg")."""
    return frozenset(" ".join(words) for group in _LEGAL_FORMS.values() for words in group)


# Cached: a lookup normalises the query and every company it finds several times over (matching, the
# rerank, the reasons), and a sync writes the same names again and again. The result is immutable.
@functools.lru_cache(maxsize=16384)
def split_legal_forms(name: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The normalised words of `name`, split into (base words, stripped legal-form words).

    "Nokia Shanghai Bell Co., Ltd." -> (("nokia", "shanghai", "bell"), ("co", "ltd")).
    """
    words = _words(name)
    # Every leading "the", not just one, so that normalising a key again gives the same key.
    while len(words) > 1 and words[0] == "the":
        del words[0]
    end = len(words)
    stripped = True
    while stripped:
        stripped = False
        for length in _LENGTHS:
            # `< end` rather than `<= end`: the first word always survives (rule 6).
            if length < end and tuple(words[end - length : end]) in _LEGAL_FORMS[length]:
                end -= length
                stripped = True
                break
    return tuple(words[:end]), tuple(words[end:])


def name_tokens(name: str) -> tuple[str, ...]:
    """The words of the normalised name: "The Coca-Cola Company" -> ("coca", "cola")."""
    return split_legal_forms(name)[0]


def normalize_name(name: str) -> str:
    """The key for "same name apart from legal form, case, accents and punctuation" matches.

    "Société Générale S.A." -> "societe generale"; "AT&T Inc." -> "at and t"; "" and "!!!" -> "".
    """
    return " ".join(name_tokens(name))
