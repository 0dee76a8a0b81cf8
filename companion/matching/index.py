"""The in-memory candidate index: the names most similar to a query among 100k in a quarter of a millisecond.

An inverted index from each character trigram of a normalised name (padded with one space each side, so
word starts and ends count) to the distinct normalised names containing it. A query counts, per name, the
trigrams it shares with the query, keeps the `candidates` best (default 200) and reranks them with
`scoring.similarities`, the blend brute force would use.

Counting every posting of every query trigram costs ~5 ms at 100k names, most of it in trigrams such as
" co" or "ion" that thousands of names share. So trigrams are counted rarest first and counting stops once
`posting_budget` postings (or one per `BUDGET_SHARE` distinct names, when more) have been counted (always
after at least `MIN_TRIGRAMS` trigrams): a name that shares none of the query's rarer trigrams is not a
near-duplicate, and the rerank orders what remains.
A search with a score threshold also drops, before anything else, the names sharing just one counted
trigram (two thirds of those counted, almost never look-alikes) and the names whose length cannot reach
the threshold: choosing among them was most of a search's time. On real names with variants at 100k
(`cats-companion bench lookup`) a search returns 0.97-0.99 of brute force's look-alikes in about a
quarter of a millisecond, against ~100 ms for brute force.

Memory is what limits a million companies, so nothing here is an object per company: each distinct name
is a slot (a small int, reused once no company has that name any more); postings are `array('I')` rows
of slots (~4 bytes per trigram occurrence); the companies of a slot are its lowest id in an `array('q')`
plus, only for names several companies share, an array of all of them; and company id -> slot is an
`IdSlots` (~12 bytes per company). About 150 MB at a million companies of real names and variants.
"""

from __future__ import annotations

import functools
import math
from array import array
from bisect import insort
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from itertools import compress, repeat
from operator import ge, itemgetter
from typing import Final, TypeVar

from companion.matching.idslots import IdSlots
from companion.matching.normalize import normalize_name
from companion.matching.scoring import RARE_WORD_SHORTLIST, match_scores, rare_forms, similarities
from companion.matching.word_prior import prior_counts

DEFAULT_CANDIDATES: Final = 200
DEFAULT_POSTING_BUDGET: Final = 5000
#: `word_weight` treats a smaller index as a sample of this many names: a word in one of them is rare.
RARITY_POPULATION: Final = 5000
#: Added to every word's log rarity: a word in every name still weighs a little.
RARITY_FLOOR: Final = 0.1
#: The posting budget grows with the index to at least one posting per this many distinct names: a
#: trigram's postings grow with the names, and a fixed budget would count ever fewer trigrams (at a million
#: companies, 2000 postings counted three or four of a query's trigrams and lost 0.03-0.06 of the recall).
BUDGET_SHARE: Final = 50
MIN_TRIGRAMS: Final = 3
#: A word whose rarest trigram more names than this share is too common to look its names up one by one.
WORD_SCAN_LIMIT: Final = 500
_EMPTY: Final = array("I")
_MAX_ID: Final = 2**63
_MAX_LENGTH: Final = 2**16 - 1
_T = TypeVar("_T")
#: Name lengths are kept in one byte: longer names count as this long (see `_length_table`).
_LONG: Final = 255


def length_window(length: int, min_score: float) -> range:
    """The name lengths that can score `min_score` against a name of `length` characters.

    The score is the mean of two ratios of at most 100, so reaching `min_score` needs `token_sort_ratio`
    >= c = 2 * min_score - 100. That ratio is 200 * LCS / (a + b) for the two names' (sorted-word)
    lengths a and b, at most 200 * min(a, b) / (a + b): so min(a, b) / max(a, b) >= c / (200 - c). An
    exact bound, not a heuristic: no name outside the window can reach `min_score`.
    """
    cutoff = 2 * min_score - 100
    if cutoff <= 0 or length == 0:
        return range(0, _MAX_LENGTH + 1)
    ratio = cutoff / (200 - cutoff)
    return range(math.ceil(length * ratio - 1e-9), math.floor(length / ratio + 1e-9) + 1)


def _at(values: Sequence[_T], positions: list[int]) -> list[_T]:
    """`[values[p] for p in positions]`, in C (`itemgetter` of one position returns the bare value)."""
    if len(positions) > 1:
        return list(itemgetter(*positions)(values))
    return [values[p] for p in positions]


#: `bytes.translate` tables: _AT_LEAST[n] maps a byte to 1 when it is at least n, _EXACTLY[n] when it is n.
_AT_LEAST: Final = tuple(bytes(1 if value >= n else 0 for value in range(256)) for n in range(257))
_EXACTLY: Final = tuple(bytes(1 if value == n else 0 for value in range(256)) for n in range(256))


@functools.lru_cache(maxsize=512)
def _length_table(window: range) -> bytes:
    """A `bytes.translate` table: stored length -> 1 when a name that long may be in `window`, else 0.

    A stored `_LONG` stands for any longer name too, so it always maps to 1: keeping a name the window
    would leave out only costs its rerank, leaving out one it allows would lose it.
    """
    return bytes(1 if length in window or length == _LONG else 0 for length in range(_LONG + 1))


@dataclass(frozen=True, slots=True)
class SimilarName:
    """One search hit: a company and how similar its name is to the query (0-100)."""

    company_id: int
    score: float


def trigrams(key: str) -> set[str]:
    """The distinct trigrams of a normalised name, padded so that one-letter names still have one."""
    if not key:
        return set()
    padded = f" {key} "
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


#: Words that initials skip ("University of New South Wales" -> "unsw").
ACRONYM_SKIPPED = frozenset({"of", "and", "the", "for", "de", "du", "des", "di", "la", "le", "in", "at", "a"})
#: Names of at least this many other words have initials indexed; initials of this many letters or more,
#: up to the second, are looked up.
ACRONYM_WORDS: Final = 3
ACRONYM_LENGTHS: Final = (3, 6)
#: The match score of a name whose initials a short query is, or that is a long query's initials: over the
#: look-alike threshold, under the match threshold (`MatchThresholds`): initials alone make a look-alike
#: to check, never a match.
ACRONYM_SCORE: Final = 50.0
#: A long query's initials are looked up when they have this many letters or more: three-letter initials
#: ("smp", "cnr") are some other organisation's name most often ("standard motor products" -> "SMP").
LONG_NAME_INITIALS: Final = 4
#: The match score of a name that is the acronym the query gives itself ("Palo Alto Research Center
#: (PARC)" -> "PARC"): a possible match, not a likely one (another organisation may have the acronym),
#: yet above what the model gives a near-namesake sharing two rare words ("Palo Alto Networks", 82 in a
#: cache of two names).
OWN_ACRONYM_SCORE: Final = 85.0


#: The match score of a name that begins with the whole query, when at most `LEADING_NAMES` of the
#: candidates do ("elanco" -> "elanco animal health", "shift4" -> "shift4 payments"): a brand and its
#: registered name most often, but as often a namesake's longer name ("vivos" -> "vivos therapeutics"), so
#: a look-alike to check, never a match.
LEADING_NAME_SCORE: Final = 45.0
LEADING_NAMES: Final = 2


def initials(key: str) -> str:
    """The initials of a normalised name of `ACRONYM_WORDS` words or more (those of `ACRONYM_SKIPPED`
    aside), or "" ("international business machines" -> "ibm"; "acme systems" -> "")."""
    words = [word for word in key.split() if word not in ACRONYM_SKIPPED]
    if len(words) < ACRONYM_WORDS or len(words) > ACRONYM_LENGTHS[1]:
        return ""
    return "".join(word[0] for word in words)


def _check_limits(limit: int, candidates: int) -> None:
    if limit < 1 or candidates < 1:
        raise ValueError(f"limit and candidates must be at least 1, got {limit} and {candidates}")


def _check_id(company_id: object) -> int:
    if not isinstance(company_id, int) or isinstance(company_id, bool):
        raise TypeError(f"company_id must be an int, got {type(company_id).__name__}")
    if not 0 <= company_id < _MAX_ID:
        raise ValueError(f"company_id must be between 0 and 2**63 - 1, got {company_id}")
    return company_id


class TrigramIndex:
    """Company names by trigram, kept current one company at a time.

    Postings point at distinct normalised names, not companies: "Cisco Systems, Inc" and "CISCO SYSTEMS"
    share one slot, so duplicates cost neither postings nor rerank work, and the `candidates` budget goes
    to different names.
    """

    def __init__(
        self,
        companies: Iterable[tuple[int, str]] = (),
        *,
        posting_budget: int = DEFAULT_POSTING_BUDGET,
    ) -> None:
        if posting_budget < 1:
            raise ValueError(f"posting_budget must be at least 1, got {posting_budget}")
        self._posting_budget = posting_budget
        self._postings: dict[str, array[int]] = {}
        self._slot_of_company = IdSlots()
        self._slot_of: dict[str, int] = {}  # normalised name -> slot
        self._slot_key: list[str] = []
        # The lowest company id with that name: the only one for most names, and a tie-break that
        # ignores history.
        self._slot_first = array("q")
        # The length of each slot's name, at most `_LONG`: what a similarity threshold allows is known from
        # lengths alone.
        self._slot_length = bytearray()
        # Every company id with that name, ascending, only for names that several companies share.
        self._slot_more: dict[int, array[int]] = {}
        self._free_slots: list[int] = []
        # How many distinct names contain each word: a word's rarity across the cache (see `word_weight`).
        self._word_names: Counter[str] = Counter()
        # Initials -> the slots of the names they abbreviate ("ibm" -> "international business machines"),
        # for the names of `ACRONYM_WORDS` significant words or more (see `initials`).
        self._initials: dict[str, array[int]] = {}
        for company_id, name in companies:
            self.add(company_id, name)

    def __len__(self) -> int:
        return len(self._slot_of_company)

    def __contains__(self, company_id: object) -> bool:
        return company_id in self._slot_of_company

    @property
    def distinct_names(self) -> int:
        """How many different normalised names the indexed companies have."""
        return len(self._slot_of)

    def key_of(self, company_id: int) -> str | None:
        """The normalised name indexed for a company, or None when it is not indexed."""
        slot = self._slot_of_company.get(company_id)
        return None if slot is None else self._slot_key[slot]

    def keys(self) -> list[str]:
        """The normalised name of every indexed company, in no particular order (one entry per company).

        Companies with the same name share one string object, so the list costs a pointer per company.
        """
        keys = self._slot_key
        return [keys[slot] for _, slot in self._slot_of_company.items()]

    def add(self, company_id: int, name: str) -> None:
        """Index a company's name, replacing whatever name it had (an update from a sync)."""
        _check_id(company_id)
        if not isinstance(name, str):
            raise TypeError(f"name must be a str, got {type(name).__name__}")
        self._add_key(company_id, normalize_name(name))

    def add_key(self, company_id: int, key: str) -> None:
        """`add` for a name already normalised (`normalize_name(name)`, as the cache stores it)."""
        _check_id(company_id)
        if not isinstance(key, str):
            raise TypeError(f"key must be a str, got {type(key).__name__}")
        self._add_key(company_id, key)

    def add_keys(self, companies: Iterable[tuple[int, str]]) -> None:
        """`add_key` for many (company id, normalised name) pairs: a sync's page batch, or a rebuild.

        The same result as one `add_key` per pair, at about half the cost: a rebuild or a full sync
        indexes every company, and at a million of them the per-call work was most of the time.
        """
        pairs = list(companies)
        # All checked before any is added: a refused batch changes nothing.
        for company_id, key in pairs:
            _check_id(company_id)
            if not isinstance(key, str):
                raise TypeError(f"key must be a str, got {type(key).__name__}")
        slot_of_company = self._slot_of_company
        slot_of = self._slot_of
        for company_id, key in pairs:
            if slot_of_company.get(company_id) is not None:
                self._add_key(company_id, key)  # an update: the general path
                continue
            slot = slot_of.get(key)
            if slot is not None:
                self._join(slot, company_id)
            else:
                slot = self._new_slot(key, company_id)
            slot_of_company.set(company_id, slot)

    def _add_key(self, company_id: int, key: str) -> None:
        old_slot = self._slot_of_company.get(company_id)
        if old_slot is not None:
            if self._slot_key[old_slot] == key:
                return
            self.remove(company_id)
        slot = self._slot_of.get(key)
        if slot is not None:
            self._join(slot, company_id)
        else:
            slot = self._new_slot(key, company_id)
        self._slot_of_company.set(company_id, slot)

    def _join(self, slot: int, company_id: int) -> None:
        """Add a company to a name other companies already have."""
        members = self._slot_more.get(slot)
        if members is None:
            first = self._slot_first[slot]
            members = self._slot_more[slot] = array("q", (first,))
        insort(members, company_id)
        self._slot_first[slot] = members[0]

    def _new_slot(self, key: str, company_id: int) -> int:
        if self._free_slots:
            slot = self._free_slots.pop()
            self._slot_key[slot] = key
            self._slot_first[slot] = company_id
            self._slot_length[slot] = min(len(key), _LONG)
        else:
            slot = len(self._slot_key)
            self._slot_key.append(key)
            self._slot_first.append(company_id)
            self._slot_length.append(min(len(key), _LONG))
        self._slot_of[key] = slot
        self._word_names.update(set(key.split()))
        acronym = initials(key)
        if acronym:
            try:
                self._initials[acronym].append(slot)
            except KeyError:
                self._initials[acronym] = array("I", (slot,))
        postings = self._postings
        for gram in trigrams(key):
            try:
                postings[gram].append(slot)
            except KeyError:
                postings[gram] = array("I", (slot,))
        return slot

    def remove(self, company_id: int) -> bool:
        """Forget a company (deleted in CATS); False when it was not indexed."""
        slot = self._slot_of_company.pop(company_id)
        if slot is None:
            return False
        members = self._slot_more.get(slot)
        if members is not None:
            members.remove(company_id)
            if len(members) == 1:
                del self._slot_more[slot]
            self._slot_first[slot] = members[0]
            return True
        key = self._slot_key[slot]
        for gram in trigrams(key):
            row = self._postings[gram]
            row.remove(slot)  # each slot appears once per row: a trigram set has no repeats
            if not row:
                del self._postings[gram]
        del self._slot_of[key]
        acronym = initials(key)
        if acronym:
            abbreviated = self._initials[acronym]
            abbreviated.remove(slot)
            if not abbreviated:
                del self._initials[acronym]
        words = self._word_names
        words.subtract(set(key.split()))
        for word in set(key.split()):
            if words[word] <= 0:
                del words[word]
        self._slot_key[slot] = ""
        self._free_slots.append(slot)
        return True

    def _members(self, slot: int) -> Sequence[int]:
        members = self._slot_more.get(slot)
        return members if members is not None else (self._slot_first[slot],)

    def _candidate_slots(
        self, key: str, limit: int, min_score: float = 0.0, *, window: bool = True
    ) -> list[int]:
        """Up to `limit` slots sharing the most trigrams with `key`, in no particular order.

        With a `min_score`, names too long or too short to reach it (see `length_window`; not with
        `window=False`, for a score other than the look-alike one) are left out,
        and so are names sharing only one of the counted trigrams once `MIN_TRIGRAMS` or more were
        counted: a near-duplicate shares several of the query's rarer trigrams, while the hundreds of
        names sharing just one of them (two thirds of what is counted) almost never score, and choosing
        among them was most of a search's time. The answer depends only on the indexed names, never on
        the order they were added in, so an index kept current by a sync answers exactly like one freshly
        built.
        """
        postings = self._postings
        # Rarest first; equally rare trigrams in alphabetical order (set order varies between runs).
        grams = sorted((len(row), gram) for gram in trigrams(key) if (row := postings.get(gram)))
        counts: Counter[int] = Counter()
        counted = 0
        used = 0
        budget = max(self._posting_budget, len(self._slot_of) // BUDGET_SHARE)
        for size, gram in grams:
            if (used >= MIN_TRIGRAMS and counted + size > budget) or used == _LONG:
                break
            counts.update(postings[gram])  # C loop: far faster than counting in Python
            counted += size
            used += 1
        # Everything below runs in C, over thousands of names: each name's shared-trigram count and
        # length go into bytes (a count is at most `used` <= 255), `bytes.translate` maps them to keep (1)
        # or drop (0), and `compress` keeps. Mapping a bound method such as `int.__lt__` or
        # `bytearray.__getitem__` over them instead costs five to ten times as much per name.
        slots = list(counts)
        shared = bytes(counts.values())
        if min_score > 0 and used > MIN_TRIGRAMS:
            keep = shared.translate(_AT_LEAST[2])
            slots, shared = list(compress(slots, keep)), bytes(compress(shared, keep))
        lengths = length_window(len(key), min_score if window else 0.0)
        if slots and (lengths.start > 0 or lengths.stop <= _MAX_LENGTH):
            keep = bytes(_at(self._slot_length, slots)).translate(_length_table(lengths))
            slots, shared = list(compress(slots, keep)), bytes(compress(shared, keep))
        if len(slots) <= limit:
            return slots
        # The cut-off: the count of the `limit`-th best name, read off the counts' histogram.
        above = cutoff = 0
        for value in range(max(shared), 0, -1):
            found = shared.count(value)
            if above + found >= limit:
                cutoff = value
                break
            above += found
        chosen = list(compress(slots, shared.translate(_AT_LEAST[cutoff + 1])))
        ties = list(compress(slots, shared.translate(_EXACTLY[cutoff])))
        # Names tying at the cut-off go in order of their lowest company id: any fixed rule would do, slot
        # numbers would not. Distinct names have distinct lowest ids, so the places left go to the ties
        # whose id is at most the k-th smallest (a sort of plain ints: no key function per tie).
        firsts = _at(self._slot_first, ties)
        last = sorted(firsts)[limit - len(chosen) - 1]
        chosen += compress(ties, map(ge, repeat(last), firsts))
        return chosen

    def candidates(self, name: str, limit: int = DEFAULT_CANDIDATES) -> list[int]:
        """Up to `limit` company ids sharing the most trigrams with `name`, best first, before any rerank."""
        key = normalize_name(name)
        slots = self._candidate_slots(key, limit)
        grams = trigrams(key)
        shared = {slot: len(grams & trigrams(self._slot_key[slot])) for slot in slots}
        slots.sort(key=lambda slot: (-shared[slot], self._slot_key[slot]))
        return [company_id for slot in slots for company_id in self._members(slot)][:limit]

    def search(
        self,
        name: str,
        *,
        limit: int = 10,
        candidates: int = DEFAULT_CANDIDATES,
        min_score: float = 0.0,
        exclude: Collection[int] = (),
    ) -> list[SimilarName]:
        """The `limit` most similar indexed names to `name`, best first (ties: lower company id first).

        `candidates` distinct names are reranked. `exclude` drops companies the caller already reports
        (e.g. exact matches) without costing a place in `limit`.
        """
        _check_limits(limit, candidates)
        return self.search_key(
            normalize_name(name), limit=limit, candidates=candidates, min_score=min_score, exclude=exclude
        )

    def word_weight(self, word: str) -> float:
        """How telling a shared `word` is, 0-1: the log of how rare it is among the indexed names, as a
        share of the most a word can weigh (1.0: no indexed name has it).

        "group" or "systems", in thousands of names, weigh least. A share rather than the log itself, so
        that a word of no other name weighs 1.0 in a cache of any size: the match model was fitted on one
        cache (~34,000 names) and reads the features built on these weights as shares too. Fewer than
        `RARITY_POPULATION` names cannot tell a common word from a rare one (in a cache of one name every
        word is in every name): they count as a sample of that many, the names missing drawn from a
        reference sample of real organisation names (`word_prior`).
        """
        names = len(self._slot_of)
        count: float = self._word_names.get(word, 0)
        if names < RARITY_POPULATION:
            # The names the cache lacks are drawn from real organisation names (`word_prior`): "power"
            # stays a common word in a cache of ten names.
            sample, counts = prior_counts()
            count += counts.get(word, 0) * (RARITY_POPULATION - names) / sample
            names = RARITY_POPULATION
        most = math.log(names + 1) + RARITY_FLOOR
        return (math.log((names + 1) / (count + 1)) + RARITY_FLOOR) / most

    def rank_key(
        self,
        key: str,
        *,
        limit: int = 10,
        candidates: int = DEFAULT_CANDIDATES,
        min_score: float = 0.0,
        exclude: Collection[int] = (),
        acronym: str = "",
    ) -> list[SimilarName]:
        """The `limit` indexed names most likely to be `key`'s company, by `match_score`, best first.

        Unlike `search_key`, no length window narrows the candidates first: a name inside a longer one
        ("kddi" in "kddi r and d labs") is the commonest real variant, and the look-alike score's window
        would leave it out. Names sharing a single counted trigram are still dropped (they never
        reached the match thresholds on `bench match-quality`'s pairs). Ties go to the lower company id.
        The scores are `scoring.match_scores`: 100 for the same key, else the match model's probability
        times 100; names of the query's initials, or whose initials it is, score `ACRONYM_SCORE`; the name
        that is the query's own `acronym` (`normalize.own_acronym`) `OWN_ACRONYM_SCORE`; the few names
        that begin with the whole query at least `LEADING_NAME_SCORE`.
        """
        _check_limits(limit, candidates)
        if not key:
            return []
        slots = self._match_slots(key, candidates)
        scored = match_scores(key, _at(self._slot_key, slots), self.word_weight, min_score)
        best = {slots[position]: score for position, score in scored}
        named = [] if acronym in ("", key) else [self._slot_of.get(acronym)]
        extra = [(slot, OWN_ACRONYM_SCORE) for slot in named if slot is not None]
        if min_score <= ACRONYM_SCORE:
            short = " " not in key and ACRONYM_LENGTHS[0] <= len(key) <= ACRONYM_LENGTHS[1]
            # A short one-word name may be the initials of a longer one ("unsw"), and a long name's
            # initials may be how CATS holds it ("woods hole oceanographic institution" -> "whoi"): a
            # look-alike at most, since initials are shared by many organisations.
            abbreviations = self._initials.get(key, ()) if short else ()
            letters = initials(key)
            long_enough = len(letters) >= LONG_NAME_INITIALS
            abbreviated = self._slot_of.get(letters) if long_enough else None
            extra += [(slot, ACRONYM_SCORE) for slot in abbreviations]
            extra += [(abbreviated, ACRONYM_SCORE)] if abbreviated is not None else []
        if min_score <= LEADING_NAME_SCORE:
            lead = key + " "
            leading = [slot for slot in slots if self._slot_key[slot].startswith(lead)]
            if len(leading) <= LEADING_NAMES:
                extra += [(slot, LEADING_NAME_SCORE) for slot in leading]
        for slot, score in extra:
            if score >= min_score and score > best.get(slot, -1.0):
                best[slot] = score
        # Stable: equal scores keep `match_scores`' order.
        ranked = sorted(best.items(), key=lambda pair: -pair[1])
        return self._hits(ranked, limit, exclude)

    def _match_slots(self, key: str, candidates: int) -> list[int]:
        # Names sharing a single counted trigram are dropped (as by any positive score floor): they never
        # reached the match thresholds on `bench match-quality`'s pairs.
        slots = self._candidate_slots(key, candidates, min_score=1.0, window=False)
        # The names holding the query's rarest word are candidates whatever else they share: "sbc" shares
        # three trigrams with "sbc communications", and the two hundred "... communications" share more.
        found = set(slots)
        for form in rare_forms(key, self.word_weight):
            holding = [slot for slot in self._word_slots(form) if slot not in found]
            holding.sort(key=lambda slot: (self._slot_length[slot], self._slot_key[slot]))
            slots += holding[:RARE_WORD_SHORTLIST]
            found.update(holding[:RARE_WORD_SHORTLIST])
        return slots

    def _word_slots(self, word: str) -> list[int]:
        """The slots of the names holding `word` as a word, when few names share its rarest trigram (a
        common word's names are found by trigrams anyway)."""
        # Only the rarest trigram's names are read: intersecting with another trigram's would walk that
        # one's names too, and at a million companies a common trigram has a hundred thousand.
        rarest = min((self._postings.get(gram, _EMPTY) for gram in trigrams(word)), key=len, default=_EMPTY)
        if not rarest or len(rarest) > WORD_SCAN_LIMIT:
            return []
        keys = self._slot_key
        return [slot for slot in rarest if word in keys[slot].split()]

    def match_candidates(
        self, key: str, candidates: int = DEFAULT_CANDIDATES
    ) -> list[tuple[str, Sequence[int]]]:
        """(normalised name, company ids) of the names `rank_key` scores for `key`, in no particular order.

        What the match model is fitted on (companion.bench.match_model): the same candidates it ranks.
        """
        _check_limits(1, candidates)
        if not key:
            return []
        return [(self._slot_key[slot], self._members(slot)) for slot in self._match_slots(key, candidates)]

    def search_key(
        self,
        key: str,
        *,
        limit: int = 10,
        candidates: int = DEFAULT_CANDIDATES,
        min_score: float = 0.0,
        exclude: Collection[int] = (),
    ) -> list[SimilarName]:
        """`search` for a name already normalised."""
        _check_limits(limit, candidates)
        if not key:
            return []
        slots = self._candidate_slots(key, candidates, min_score)
        scores = similarities(key, _at(self._slot_key, slots), min_score)
        ranked = sorted(
            ((slot, score) for slot, score in zip(slots, scores, strict=True) if score >= min_score),
            key=lambda pair: -pair[1],
        )
        return self._hits(ranked, limit, exclude)

    def _hits(
        self, ranked: Iterable[tuple[int, float]], limit: int, exclude: Collection[int]
    ) -> list[SimilarName]:
        """The companies of (slot, score) pairs given best first, `limit` of them, ties by company id."""
        hits: list[SimilarName] = []
        for slot, score in ranked:
            # Enough hits, and this name scores lower than the last: nothing further can get in. Names
            # tying with the last one are still taken, so that ties resolve by company id.
            if len(hits) >= limit and score < hits[-1].score:
                break
            hits.extend(
                SimilarName(company_id, score)
                for company_id in self._members(slot)
                if company_id not in exclude
            )
        hits.sort(key=lambda hit: (-hit.score, hit.company_id))
        return hits[:limit]
