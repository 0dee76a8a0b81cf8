"""Benchmark of company matching at CATS-account scale: prints latencies, build time, memory and recall.

Usage: .venv/bin/python benchmarks/matching_bench.py [--names 100000] [--queries 1000] [--brute-queries 50]

The names are the real organisation names shipped with the sandbox plus realistic variants of them (legal
form changes, case and punctuation changes, typos, extra words), as a CATS account accumulates. Queries
are fresh variants of names in the set. It prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

from rapidfuzz import fuzz, process

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from companion.matching import (  # the path line above makes the checkout importable
    CachedCompany,
    CompanyCatalog,
    CompanyQuery,
    DuplicateLevel,
    TrigramIndex,
    match_company,
    normalize_name,
    similarities,
)

ORGANISATIONS = (
    Path(__file__).resolve().parents[1] / "companion" / "cats" / "sandbox" / "data" / "organisations.txt"
)
LEGAL_FORMS = [
    "Inc",
    "Inc.",
    "Corp",
    "Corporation",
    "Ltd",
    "Ltd.",
    "GmbH",
    "LLC",
    "S.A.",
    "Co., Ltd.",
    "AG",
    "BV",
]
EXTRA_WORDS = ["Group", "Holdings", "Systems", "Solutions", "International", "Technologies", "Europe"]


def variant(name: str, rng: random.Random) -> str:
    roll = rng.random()
    words = name.split()
    if roll < 0.3:
        return " ".join(words[:-1] if len(words) > 1 else words) + " " + rng.choice(LEGAL_FORMS)
    if roll < 0.5:
        return name.upper() if rng.random() < 0.5 else name.replace(",", "").replace(".", "")
    if roll < 0.85:
        position = rng.randrange(len(name))
        return name[:position] + rng.choice("abcdefghijklmnopqrstuvwxyz") + name[position + 1 :]
    return f"{name} {rng.choice(EXTRA_WORDS)}"


def make_names(count: int, rng: random.Random) -> tuple[list[str], int]:
    """`count` names, as many real ones as there are, then variants; and how many are real."""
    real = [line for line in ORGANISATIONS.read_text(encoding="utf-8").splitlines() if line.strip()]
    names = real[:count]
    real_count = len(names)
    while len(names) < count:
        names.append(variant(rng.choice(real), rng))
    return names, real_count


def domain_for(name: str) -> str:
    return "".join(normalize_name(name).split())[:24] + ".com"


def max_rss() -> str:
    try:
        import resource  # Unix only
    except ImportError:
        return ""
    return f"; process max RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB"


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def timed(function: Callable[[str], object], queries: list[str]) -> list[float]:
    samples = []
    for query in queries:
        start = time.perf_counter()
        function(query)
        samples.append(time.perf_counter() - start)
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--names", type=int, default=100_000, help="companies in the cache (default 100000)")
    parser.add_argument("--queries", type=int, default=1000, help="queries for the fast paths (default 1000)")
    parser.add_argument("--brute-queries", type=int, default=50, help="queries for brute force (default 50)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.names < 1 or args.queries < 1 or args.brute_queries < 1:
        parser.error("--names, --queries and --brute-queries must be positive")

    rng = random.Random(args.seed)
    names, real_count = make_names(args.names, rng)
    queries = [variant(rng.choice(names), rng) for _ in range(args.queries)]
    companies = [
        CachedCompany(id=company_id, name=name, domain=domain_for(name))
        for company_id, name in enumerate(names, start=1)
    ]
    print(f"{len(names):,} names ({real_count:,} real, the rest variants), {len(queries):,} queries")

    gc.collect()
    start = time.perf_counter()
    index = TrigramIndex(enumerate(names, start=1))
    index_build = time.perf_counter() - start
    start = time.perf_counter()
    catalog = CompanyCatalog(companies)
    catalog_build = time.perf_counter() - start
    print(f"build: trigram index {index_build:.2f} s; catalog (exact keys + index) {catalog_build:.2f} s")

    # Memory is measured on second builds: tracemalloc slows allocation down, so not during the timings.
    del index, catalog
    gc.collect()
    tracemalloc.start()
    index = TrigramIndex(enumerate(names, start=1))
    index_memory = tracemalloc.get_traced_memory()[0]
    catalog = CompanyCatalog(companies)
    catalog_memory = tracemalloc.get_traced_memory()[0] - index_memory
    tracemalloc.stop()
    print(
        f"memory: trigram index {index_memory / 2**20:.1f} MiB; catalog {catalog_memory / 2**20:.1f} MiB "
        f"(without the CachedCompany objects it holds){max_rss()}"
    )

    keys = [normalize_name(name) for name in names]
    domains = [domain_for(query) for query in queries]
    rows: list[tuple[str, list[float]]] = [
        (
            "exact: normalise + by_normalized_name",
            timed(lambda q: catalog.by_normalized_name(normalize_name(q)), queries),
        ),
        ("exact: by_domain", timed(catalog.by_domain, domains)),
        ("trigram candidates (200) + rerank, top 10", timed(lambda q: index.search(q, limit=10), queries)),
        (
            "match_company, level=similar (every lookup)",
            timed(lambda q: match_company(CompanyQuery(name=q), catalog, DuplicateLevel.SIMILAR), queries),
        ),
    ]
    brute_queries = queries[: args.brute_queries]
    rows.append(
        (
            "brute force: token_sort_ratio alone, top 10",
            timed(
                lambda q: process.extract(normalize_name(q), keys, scorer=fuzz.token_sort_ratio, limit=10),
                brute_queries,
            ),
        )
    )
    brute_results: list[list[float]] = []

    def brute(query: str) -> None:
        brute_results.append(similarities(normalize_name(query), keys))

    rows.append(("brute force: the same blend as the index", timed(brute, brute_queries)))

    print(f"\n{'method':<46} {'p50':>10} {'p99':>10}")
    for label, samples in rows:
        p50, p99 = percentiles(samples)
        print(f"{label:<46} {p50 * 1e3:>8.3f}ms {p99 * 1e3:>8.3f}ms")

    # Recall: of brute force's results scoring >= 90 (its top 10), how many the index also returns.
    wanted = found = 0
    for query, scores in zip(brute_queries, brute_results, strict=True):
        top = sorted((s for s in scores if s >= 90), reverse=True)[:10]
        if top:
            hits = index.search(query, limit=10, min_score=90)
            wanted += len(top)
            found += min(len(top), sum(1 for hit in hits if hit.score >= top[-1]))
    if wanted:
        print(f"\nrecall of brute-force top results (score >= 90): {found / wanted:.3f} ({found}/{wanted})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
