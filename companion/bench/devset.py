"""The labelled development set of `bench match-quality`: real name pairs, real negatives, a real cache.

Everything comes from the public files in companion/bench/data/ (README.md there says where each is from):

- ``sp500``: an S&P 500 company's everyday name ("A. O. Smith", "Alphabet Inc. (Class A)") as a
  recruiter sees it on a profile, to find under its SEC registry name ("SMITH A O CORP");
- ``ietf``: an affiliation as people wrote it on IETF documents ("Huawei Technologies Co. Ltd",
  "AlcatelLucent Telecom"), to find under the organisation the IETF data project maps it to;
- ``decorated``: a handful of profile decorations the issue names (a LinkedIn tagline, an accelerator
  batch tag), added to S&P 500 everyday names; reported on their own, never in the headline figures;
- negatives: SEC registry names held out of the cache, each with no organisation of the same
  base name left in it.

The cache is every other SEC company, every IETF target organisation and the sandbox's IEEE organisation
names. A query is right when it finds its target or any cached company with the same *label key*
(`label_key`): the IEEE list also holds "Apple, Inc." for
the SEC's "Apple Inc.", and either is the right company. The label key is deliberately not the
companion's normaliser, so that changing the normaliser cannot change what counts as right.
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

KINDS: Final = ("sp500", "ietf")
#: Profile decorations named in the issue (LinkedIn taglines, an accelerator batch tag), one per template.
DECORATIONS: Final = ("{} - We're hiring", "{} | Careers", "{} (YC S25)", "{} - Official page")
#: IETF variants per target organisation at most, so that a few large organisations do not dominate.
IETF_PER_TARGET: Final = 2
IETF_PAIRS: Final = 600
NEGATIVES: Final = 500
DECORATED: Final = 40
_SEC_TAG: Final = re.compile(r"\s*/[A-Za-z]{2,3}/?\s*$")
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


def label_key(name: str) -> str:
    """What counts as "the same organisation" when the cache holds two spellings of it.

    cleanco's base name, taken until it stops changing ("Eaton Corp plc" -> "Eaton"), without an SEC
    jurisdiction tag ("CHURCH & DWIGHT CO INC /DE/"), then rapidfuzz's default processing.
    """
    text = _SEC_TAG.sub("", name)
    while (shorter := basename(text)) != text and shorter:
        text = shorter
    return str(default_process(text))


def _text(name: str) -> str:
    return resources.files("companion.bench").joinpath("data", name).read_text(encoding="utf-8")


def _tsv(text: str) -> list[tuple[str, str]]:
    return [(left, right) for left, right in (line.split("\t") for line in text.splitlines() if line)]


@functools.cache
def _sources() -> tuple[list[tuple[int, str]], list[tuple[int, str]], list[tuple[str, str]]]:
    raw = resources.files("companion.bench").joinpath("data", "sec_companies.tsv.gz").read_bytes()
    sec = [(int(cik), name) for cik, name in _tsv(gzip.decompress(raw).decode("utf-8"))]
    brands = [(int(cik), name) for cik, name in _tsv(_text("sp500_brands.tsv"))]
    return sec, brands, _tsv(_text("ietf_affiliations.tsv"))


def load_devset(seed: int = 1, *, per_kind: int | None = None) -> DevSet:
    """The development set; `per_kind` keeps at most that many queries of each kind (short runs)."""
    rng = random.Random(seed)
    sec, brands, ietf = _sources()
    brand_of = dict(brands)
    # Negatives: SEC companies outside the S&P 500, held out of the cache.
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

    by_key: defaultdict[str, set[int]] = defaultdict(set)
    for company_id, name in companies:
        by_key[label_key(name)].add(company_id)
    same = {company_id: frozenset(by_key[label_key(name)]) for company_id, name in companies}

    queries: list[LabelledQuery] = []
    sp500 = [LabelledQuery(brand_of[cik], "sp500", id_of_cik[cik]) for cik in brand_of if cik in id_of_cik]
    queries += sp500
    variants: defaultdict[str, list[str]] = defaultdict(list)
    for variant, target in ietf:
        variants[target].append(variant)
    ietf_queries = [
        LabelledQuery(variant, "ietf", id_of_target[target])
        for target in targets
        for variant in rng.sample(variants[target], min(IETF_PER_TARGET, len(variants[target])))
    ]
    queries += rng.sample(ietf_queries, min(IETF_PAIRS, len(ietf_queries)))
    for query in rng.sample(sp500, DECORATED):
        queries.append(LabelledQuery(rng.choice(DECORATIONS).format(query.text), "decorated", query.target))
    negatives = [
        LabelledQuery(name, "negative", None)
        for cik, name in sec
        if cik in held_out and not by_key.get(label_key(name))
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
