"""The labelled development set of `bench match-quality`: real name pairs, real negatives, a real cache.

Everything comes from the public files in companion/bench/data/ (README.md there says where each is from):

- ``sp500``: an S&P 500 company's everyday name ("A. O. Smith", "Alphabet Inc. (Class A)") as a
  recruiter sees it on a profile, to find under its SEC registry name ("SMITH A O CORP");
- ``sp400_600``: the same for the companies of the S&P MidCap 400 and SmallCap 600 ("Dick's Sporting
  Goods" -> "DICK'S SPORTING GOODS, INC.", "Hexcel" -> "HEXCEL CORP /DE/");
- ``ietf``: an affiliation as people wrote it on IETF documents ("Huawei Technologies Co. Ltd",
  "AlcatelLucent Telecom"), to find under the organisation the IETF data project maps it to;
- ``decorated``: a handful of profile decorations the issue names (a LinkedIn tagline, an accelerator
  batch tag), added to S&P 500 everyday names; reported on their own, never in the headline figures;
- negatives: SEC registry names held out of the cache, each with no organisation of the same
  base name left in it.

The cache is every other SEC company, every IETF target organisation and the sandbox's IEEE organisation
names. A query is right when it finds its target or any cached company of the same organisation
(`same_organisations`): one with the same *label key* (`label_key`: the IEEE list also holds "Apple,
Inc." for the SEC's "Apple Inc."), or one whose name the sources themselves say is the organisation's (an
IETF affiliation mapped to it, "Riverbed Technology" -> "Riverbed", so the SEC's "RIVERBED TECHNOLOGY,
INC." is Riverbed too; an S&P 500 everyday name, "Amazon", so the IEEE list's "Amazon" is the SEC's
"AMAZON COM INC"). A name not in the cache is a negative only when no cached name is the same
organisation by either rule, nor the same letters spaced otherwise ("AUDIOCODES LTD" / "AUDIO CODES
LTD."). The label key is deliberately not the companion's normaliser, so that changing the normaliser
cannot change what counts as right.
"""

from __future__ import annotations

import functools
import gzip
import random
import re
from collections import defaultdict
from dataclasses import dataclass
from importlib import resources
from typing import Final

from cleanco import basename
from rapidfuzz.utils import default_process

from companion.sandbox.seed import organisation_names

KINDS: Final = ("sp500", "sp400_600", "ietf")
#: The share of the everyday-name pairs in each seed's set: another seed's set holds the others, so a
#: model fitted on other seeds is checked on everyday names it never saw (`match_model.fit_devset`).
BRAND_SHARE: Final = 0.5
#: Profile decorations named in the issue (LinkedIn taglines, an accelerator batch tag), one per template.
DECORATIONS: Final = ("{} - We're hiring", "{} | Careers", "{} (YC S25)", "{} - Official page")
#: IETF variants per target organisation at most, so that a few large organisations do not dominate.
IETF_PER_TARGET: Final = 2
IETF_PAIRS: Final = 600
NEGATIVES: Final = 1000
DECORATED: Final = 40
#: The shortest label key of an IETF affiliation that says which organisation a cached name is.
MIN_NAMING_KEY: Final = 5
_SEC_TAG: Final = re.compile(r"\s*[/\\][A-Za-z]{2,3}[/\\]?\s*$")
# The SEC's other way of writing a state: bare after the legal form ("UNIVERSAL DISPLAY CORP PA").
_SEC_STATE: Final = re.compile(r"\b(INC|CORP|CO|LTD)\s+[A-Z]{2}$")
_HOLDING_WORDS: Final = frozenset({"holding", "holdings", "group"})
_SEC_BASE: Final = 1_000_000
_IETF_BASE: Final = 2_000_000
_IEEE_BASE: Final = 3_000_000


@dataclass(frozen=True)
class LabelledQuery:
    text: str
    kind: str
    #: The cached company meant, or None for a negative (an organisation not in the cache).
    target: int | None


@dataclass(frozen=True)
class DevSet:
    #: (company id, name) of every cached company.
    companies: list[tuple[int, str]]
    queries: list[LabelledQuery]
    #: Company id -> every cached company id that counts as the same organisation (itself included).
    same: dict[int, frozenset[int]]

    def right(self, query: LabelledQuery, company_id: int) -> bool:
        return query.target is not None and company_id in self.same[query.target]


# Cached: every seed's set labels the same ~33,000 names, and a fit loads eight sets.
@functools.cache
def label_key(name: str) -> str:
    """What counts as "the same organisation" when the cache holds two spellings of it.

    cleanco's base name, taken until it stops changing ("Eaton Corp plc" -> "Eaton"), without an SEC
    jurisdiction tag ("CHURCH & DWIGHT CO INC /DE/", "US BANCORP \\DE\\", "RENT A CENTER INC DE"), then
    rapidfuzz's default processing, without a trailing "Holding(s)" or "Group": the issue counts those as
    registry decorations of the same organisation ("Sony Group Corp" is what "Sony Corporation" renamed
    itself, "ASML HOLDING NV" is ASML).
    """
    text = _SEC_STATE.sub(r"\1", _SEC_TAG.sub("", name))
    while (shorter := basename(text)) != text and shorter:
        text = shorter
    words = str(default_process(text)).split()
    while len(words) > 1 and words[-1] in _HOLDING_WORDS:
        words.pop()
    return " ".join(words)


def _unspaced(key: str) -> str:
    return key.replace(" ", "")


def same_organisations(
    companies: list[tuple[int, str]], names_of: list[tuple[str, int]]
) -> dict[int, frozenset[int]]:
    """Company id -> the ids of every cached company of the same organisation (itself included).

    `names_of` are (a name, the company id the sources say it names): every cached company whose label
    key is that name's is the same organisation as the company (and so are two companies the sources give
    one name: "Seagate Technology" is the IETF's Seagate and the S&P 500's Seagate Technology Holdings).
    """
    parent = {company_id: company_id for company_id, _ in companies}

    def root(company_id: int) -> int:
        while parent[company_id] != company_id:
            parent[company_id] = parent[parent[company_id]]
            company_id = parent[company_id]
        return company_id

    def join(a: int, b: int) -> None:
        parent[root(a)] = root(b)

    by_key: defaultdict[str, list[int]] = defaultdict(list)
    for company_id, name in companies:
        by_key[label_key(name)].append(company_id)
    for ids in by_key.values():
        for company_id in ids[1:]:
            join(company_id, ids[0])
    for name, company_id in names_of:
        for named in by_key.get(label_key(name), ()):
            join(named, company_id)
    groups: defaultdict[int, set[int]] = defaultdict(set)
    for company_id in parent:
        groups[root(company_id)].add(company_id)
    return {company_id: frozenset(groups[root(company_id)]) for company_id in parent}


def _text(name: str) -> str:
    return resources.files("companion.bench").joinpath("data", name).read_text(encoding="utf-8")


def _tsv(text: str) -> list[tuple[str, str]]:
    return [(left, right) for left, right in (line.split("\t") for line in text.splitlines() if line)]


@functools.cache
def _sources() -> tuple[list[tuple[int, str]], dict[str, list[tuple[int, str]]], list[tuple[str, str]]]:
    """The SEC's companies, each everyday-name kind's (CIK, name) pairs, the IETF's affiliations."""
    raw = resources.files("companion.bench").joinpath("data", "sec_companies.tsv.gz").read_bytes()
    sec = [(int(cik), name) for cik, name in _tsv(gzip.decompress(raw).decode("utf-8"))]
    brands = {
        kind: [(int(cik), name) for cik, name in _tsv(_text(f"{kind}_brands.tsv"))]
        for kind in ("sp500", "sp400_600")
    }
    return sec, brands, _tsv(_text("ietf_affiliations.tsv"))


def reference_names() -> list[str]:
    """Every SEC registry name and IEEE organisation name of the set: the reference sample of real
    organisation names that `companion.matching.word_prior` counts words in."""
    sec, _, _ = _sources()
    return [name for _, name in sec] + list(organisation_names())


def load_devset(seed: int = 1, *, per_kind: int | None = None) -> DevSet:
    """The development set; `per_kind` keeps at most that many queries of each kind (short runs)."""
    rng = random.Random(seed)
    sec, brands, ietf = _sources()
    brand_of = {cik: name for pairs in brands.values() for cik, name in pairs}
    # Negatives: SEC companies outside the S&P indexes, held out of the cache.
    held_out = {cik for cik in rng.sample([cik for cik, _ in sec if cik not in brand_of], NEGATIVES * 2)}
    companies: list[tuple[int, str]] = []
    id_of_cik: dict[int, int] = {}
    for cik, name in sec:
        if cik not in held_out:
            id_of_cik[cik] = _SEC_BASE + len(id_of_cik)
            companies.append((id_of_cik[cik], name))
    targets = sorted({target for _, target in ietf})
    id_of_target = {target: _IETF_BASE + position for position, target in enumerate(targets)}
    companies += [(id_of_target[target], target) for target in targets]
    companies += [(_IEEE_BASE + position, name) for position, name in enumerate(organisation_names())]

    # What the sources say each name is: every IETF affiliation its organisation, every S&P index everyday
    # name its SEC company (held-out companies name nothing cached).
    # An IETF affiliation of a few letters is most often a truncation ("CIS" for Cisco) that other
    # organisations' names share: only longer ones name an organisation.
    names_of = [
        (variant, id_of_target[target])
        for variant, target in ietf
        if len(label_key(variant)) >= MIN_NAMING_KEY
    ]
    names_of += [(brand, id_of_cik[cik]) for cik, brand in brand_of.items() if cik in id_of_cik]
    same = same_organisations(companies, names_of)
    # A negative must be absent by every rule: no cached company of its label key, of its letters
    # spaced otherwise, or that the sources give its name to.
    taken = {label_key(name) for _, name in companies} | {label_key(name) for name, _ in names_of}
    taken_unspaced = {_unspaced(key) for key in taken}

    queries: list[LabelledQuery] = []
    chosen: dict[str, list[LabelledQuery]] = {}
    for kind, pairs in brands.items():
        everyday = [LabelledQuery(name, kind, id_of_cik[cik]) for cik, name in pairs if cik in id_of_cik]
        chosen[kind] = rng.sample(everyday, round(len(everyday) * BRAND_SHARE))
        queries += chosen[kind]
    variants: defaultdict[str, list[str]] = defaultdict(list)
    for variant, target in ietf:
        variants[target].append(variant)
    ietf_queries = [
        LabelledQuery(variant, "ietf", id_of_target[target])
        for target in targets
        for variant in rng.sample(variants[target], min(IETF_PER_TARGET, len(variants[target])))
    ]
    queries += rng.sample(ietf_queries, min(IETF_PAIRS, len(ietf_queries)))
    for query in rng.sample(chosen["sp500"], DECORATED):
        queries.append(LabelledQuery(rng.choice(DECORATIONS).format(query.text), "decorated", query.target))
    negatives = [
        LabelledQuery(name, "negative", None)
        for cik, name in sec
        if cik in held_out and _unspaced(label_key(name)) not in taken_unspaced
    ]
    queries += negatives[:NEGATIVES]
    if per_kind is not None:
        kept: defaultdict[str, int] = defaultdict(int)
        trimmed: list[LabelledQuery] = []
        for query in queries:
            if kept[query.kind] < per_kind:
                kept[query.kind] += 1
                trimmed.append(query)
        queries = trimmed
    return DevSet(companies=companies, queries=queries, same=same)
