"""Company-name normalisation: the key under which two spellings of one company's name are equal.

The rules, applied in this order (each step has a test in tests/matching/test_normalize.py):

0. Decorations that registries and profiles add around a name are cut from the raw text: a tagline after
   " | " or a spaced dash ("Acme - We're hiring" -> "Acme"), trailing parenthesised groups ("Acme (YC S25)",
   "Coca-Cola Company (The)", "Acme Corp (Delaware)", an unclosed "University of Zurich (UZH"), and a
   registry's trailing jurisdiction tag ("ACME CORP /DE/", "ACME INC/NV", "US BANCORP \\DE\\", "WALT DISNEY
   CO/", a state code after a capitalised legal form: "UNIVERSAL DISPLAY CORP PA"). Each cut
   keeps what precedes it only when that still has a letter or digit.
1. Case-fold, then transliterate to ASCII with anyascii ("Société" -> "societe", "Газпром" -> "gazprom").
   anyascii is ISC-licensed; Unidecode is GPL and must not be used.
2. ``&`` and ``+`` become the word ``and`` ("AT&T" -> "at and t", "Procter & Gamble" -> "procter and gamble").
3. Dots inside initialisms are dropped ("S.A." -> "sa", "E.ON" -> "eon", "J.P. Morgan" -> "jp morgan"), so the
   dotted and undotted spellings of a legal form meet; apostrophes are dropped ("McDonald's" -> "mcdonalds");
   every other non-alphanumeric character separates words ("Coca-Cola" -> "coca cola", "amazon.com" ->
   "amazon com"); whitespace collapses.
4. Leading "the"s are dropped while other words follow.
5. Legal forms are stripped from the end REPEATEDLY, longest term first ("Nokia Shanghai Bell Co., Ltd." ->
   "nokia shanghai bell"), using cleanco's term lists (all types and countries) normalised by steps 1-3,
   and with them the business words that registries add to a name without making it another company
   (`BUSINESS_WORDS`: "Holdings", "Group", "International", a dangling "and" of "& Co", a trailing "The":
   "Acme Holdings International Group, Inc." -> "acme").
6. Stripping never removes the first remaining word: a name made only of legal-form words keeps its first
   word ("The Company Ltd" -> "company", "Inc." -> "inc"), so every name with a letter or digit has a
   non-empty key. A name without any letter or digit normalises to "".
"""

from __future__ import annotations

import functools
import re
from typing import Final

from anyascii import anyascii
from cleanco.termdata import terms_by_country, terms_by_type

# cleanco terms that, at the end of an English company name, are far more often an ordinary word or a
# place than a legal form ("Acme UK", "Fitness Unlimited", "Made in Japan OK"): stripping them would
# make different companies share a key and be reported as "same name apart from the legal form".
_NOT_LEGAL_FORMS = frozenset({"uk", "at", "ok", "et", "ep", "ba", "bl", "fa", "ps", "ee", "eg", "unlimited"})

#: Bumped whenever a rule change gives some name another key: a cache holding keys of an older version is
#: re-keyed when the lookup service opens it (companion.services.company_lookup.refresh_name_keys).
NORMALISER_VERSION = 3

#: Words a registry or a profile appends to a company's name without naming another company: stripped from
#: the end like legal forms. "and" is what is left of "& Co" once "co" is stripped; "the" of "Acme, The".
#: Not countries or places: "Acme UK" and "Acme" are often two companies of one group, told apart by CATS.
BUSINESS_WORDS = frozenset({"holdings", "holding", "group", "international", "intl", "and", "the"})

# A tagline after " | ", or after a dash with a space on each side ("Acme - Co-pilot for cold sales"); a
# hyphen inside a word ("Coca-Cola", "Rolls-Royce") is not one.
_TAGLINE = re.compile(r"\s+(?:\||[-\u2013\u2014])\s+.*$", re.DOTALL)
# A parenthesised group at the end, closed or not: "(YC S25)", "(The)", "(Delaware)", "(Class A)", "(UZH".
_TRAILING_GROUP = re.compile(r"\s*\([^()]*\)?\s*$")
# A registry's jurisdiction tag at the end: "/DE/", "/NV", " /OR/", "\\DE\\", "PLC\\UK", or a bare
# trailing slash ("CO/").
_JURISDICTION = re.compile(r"\s*[/\\]\s*(?:[A-Za-z]{2,3}\s*[/\\]?)?\s*$")
#: The two-letter codes of the US states, DC and Puerto Rico: the SEC writes them bare after a legal form.
US_STATE_CODES: Final = frozenset(
    {
        "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS",
        "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY", "NC",
        "ND", "OH", "OK", "OR", "PA", "PR", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV", "WI",
        "WY",
    }
)  # fmt: skip
# A state code written bare, in capitals, right after a capitalised legal form: "UNIVERSAL DISPLAY CORP
# PA", "RENT A CENTER INC DE". Only there: "Acme PA" or "Hotel Ca" is a name.
_STATE_AFTER_FORM = re.compile(
    "(?:"
    + "|".join(rf"(?<=\b{form})" for form in ("INC", "CORP", "CO", "LTD", "PLC", "LLC", "LP"))
    + ")"
    + r"\.?\s+(?:"
    + "|".join(sorted(US_STATE_CODES))
    + r")\s*$"
)
_HAS_WORD = re.compile(r"[^\W_]")
_AMPERSAND = re.compile(r"[&+]")
# A single letter or digit that starts a word and is followed by a dot: "s.a." -> "sa", "e.on" -> "eon".
_INITIAL_DOT = re.compile(r"(?<![a-z0-9])([a-z0-9])\.")
_APOSTROPHE = re.compile(r"['`]")
_SEPARATOR = re.compile(r"[^a-z0-9]+")


_DECORATIONS = (_TAGLINE, _TRAILING_GROUP, _JURISDICTION, _STATE_AFTER_FORM)


def _undecorated(name: str, patterns: tuple[re.Pattern[str], ...] = _DECORATIONS) -> str:
    """Step 0: the name without a tagline, trailing parenthesised groups or a jurisdiction tag."""
    text = name
    changed = True
    while changed:
        changed = False
        for pattern in patterns:
            cut = pattern.sub("", text, count=1)
            if cut != text and _HAS_WORD.search(cut):
                text, changed = cut, True
    return text


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


_CLEANCO_FORMS = _build_legal_forms()
_LEGAL_FORMS = {
    length: group | ({(word,) for word in BUSINESS_WORDS} if length == 1 else frozenset())
    for length, group in _CLEANCO_FORMS.items()
}
# Longest first, so "gmbh and co kg" is stripped as one form rather than "kg" alone.
_LENGTHS = sorted(_LEGAL_FORMS, reverse=True)


def _build_form_countries() -> dict[tuple[str, ...], frozenset[str]]:
    """Each of cleanco's country-specific legal forms, normalised like names, -> the countries using it."""
    countries: dict[tuple[str, ...], set[str]] = {}
    for country, group in terms_by_country.items():
        for term in group:
            words = tuple(_words(term))
            if words and " ".join(words) not in _NOT_LEGAL_FORMS:
                countries.setdefault(words, set()).add(country)
    return {words: frozenset(group) for words, group in countries.items()}


_FORM_COUNTRIES = _build_form_countries()


def legal_form_countries(name: str) -> frozenset[str]:
    """The countries whose legal forms `name` ends with ("Orbis spol. s r.o." -> Czech Republic, Slovakia);
    empty without a country-specific legal form ("Orbis", "Acme Holdings").
    """
    stripped = split_legal_forms(name)[1]
    found: set[str] = set()
    for start in range(len(stripped)):
        for end in range(start + 1, len(stripped) + 1):
            found |= _FORM_COUNTRIES.get(stripped[start:end], frozenset())
    return frozenset(found)


#: Countries whose legal forms ("Inc", "Ltd", "Corp", "LLC") are written loosely far beyond them, on
#: profiles in English everywhere: they tell nothing about the country.
ENGLISH_FORM_COUNTRIES = frozenset({"United States of America", "United Kingdom"})


def legal_forms_of_other_countries(name: str, other: str) -> bool:
    """Both names end with legal forms of a country, and no country has both ("Orbis srl" and "Orbis
    spol. s r.o.", "Nokia Oy" and "Nokia AB"): most often two companies in two countries. English forms
    ("Acme Ltd" and "Acme GmbH") say nothing either way.
    """
    countries, theirs = legal_form_countries(name), legal_form_countries(other)
    if not countries or not theirs or countries & ENGLISH_FORM_COUNTRIES or theirs & ENGLISH_FORM_COUNTRIES:
        return False
    return not countries & theirs


def legal_forms() -> frozenset[str]:
    """Every legal-form term the normaliser strips, in normalised spelling ("sa", "gmbh and co kg")."""
    return frozenset(" ".join(words) for group in _CLEANCO_FORMS.values() for words in group)


# Cached: a lookup normalises the query and every company it finds several times over (matching, the
# rerank, the reasons), and a sync writes the same names again and again. The result is immutable.
def _strip(words: list[str], forms: dict[int, frozenset[tuple[str, ...]]]) -> tuple[list[str], list[str]]:
    """Steps 4-6: leading "the"s dropped, then `forms` stripped from the end, the first word kept."""
    # Every leading "the", not just one, so that normalising a key again gives the same key.
    while len(words) > 1 and words[0] == "the":
        del words[0]
    end = len(words)
    stripped = True
    while stripped:
        stripped = False
        for length in _LENGTHS:
            # `< end` rather than `<= end`: the first word always survives (rule 6).
            if length < end and tuple(words[end - length : end]) in forms.get(length, ()):
                end -= length
                stripped = True
                break
    return words[:end], words[end:]


# Cached: a lookup normalises the query and every company it finds several times over (matching, the
# rerank, the reasons), and a sync writes the same names again and again. The result is immutable.
@functools.lru_cache(maxsize=16384)
def split_legal_forms(name: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The normalised words of `name`, split into (base words, stripped legal-form and business words).

    "Nokia Shanghai Bell Co., Ltd." -> (("nokia", "shanghai", "bell"), ("co", "ltd")).
    """
    base, stripped = _strip(_words(_undecorated(name)), _LEGAL_FORMS)
    return tuple(base), tuple(stripped)


def literal_key(name: str) -> str:
    """The name with only case, accents, punctuation, a leading "The", cleanco's legal forms and a profile's
    tagline or parenthesised tag set aside.

    Stricter than `normalize_name`: business words and jurisdiction tags count ("FIRST BANCORP /PR/" is
    not the First Bancorp of North Carolina). Two names with the same literal key are the same name as
    written ("ACME, Inc." and "Acme Corp (YC S25)"), which is what makes a name match read as a match
    rather than a likely one ("Acme Holdings" vs "ACME" is likely).
    """
    return " ".join(_strip(_words(_undecorated(name, _DECORATIONS[:2])), _CLEANCO_FORMS)[0])


def name_tokens(name: str) -> tuple[str, ...]:
    """The words of the normalised name: "The Coca-Cola Company" -> ("coca", "cola")."""
    return split_legal_forms(name)[0]


# An organisation's acronym in parentheses at the end of its name, closed or not: "Palo Alto Research
# Center (PARC)", "World Wide Web Consortium (W3C", "University of Zurich (UZH)". Three characters or more,
# two of them capitals: "(The)", "(Delaware)", "(bry)" and "(YC S25)" are not acronyms.
_OWN_ACRONYM = re.compile(r"\(\s*([A-Za-z0-9][A-Za-z0-9&.\-]{2,11})\s*\)?\s*$")


#: Capitals in parentheses that say where, not who: "Acme (USA)", "Acme (EMEA)".
_REGION_CODES = frozenset({"usa", "uae", "emea", "apac", "latam", "dach", "eu"})


def own_acronym(name: str) -> str:
    """The normalised acronym a name gives itself in parentheses at its end ("Palo Alto Research Center
    (PARC)" -> "parc"), or "" when it gives none. `normalize_name` cuts it; a lookup also asks for it.

    A legal form in capitals ("(GmbH)", "(LLC)"), a region ("(USA)") or a word of the name's own ("Acme
    (ACME)") is no acronym.
    """
    found = _OWN_ACRONYM.search(name)
    if found is None or sum(char.isupper() for char in found.group(1)) < 2:
        return ""
    words = _words(found.group(1))
    if (
        len(words) != 1
        or (words[0],) in _LEGAL_FORMS[1]
        or words[0] in _REGION_CODES
        or words[0] in normalize_name(name).split()
    ):
        return ""
    return words[0]


def normalize_name(name: str) -> str:
    """The key for "same name apart from legal form, case, accents and punctuation" matches.

    "Société Générale S.A." -> "societe generale"; "AT&T Inc." -> "at and t"; "" and "!!!" -> "".
    """
    return " ".join(name_tokens(name))
