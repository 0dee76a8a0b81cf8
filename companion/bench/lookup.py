"""`cats-companion bench lookup`: company lookups at CATS-account scale, side by side with brute force.

It builds a cache of N companies in a temporary database -- the real organisation names shipped with the
sandbox, then generated variants of them (legal form, case, punctuation, typos, an extra word) -- through the
write path the sync uses (pages of 100 written `SyncOptions.scan_batch_pages` to a transaction with
the checkpoint of the last, then the change hook that keeps the in-memory index current), rebuilds the
index from SQLite as the daemon does at start-up, and times, on variant queries (legal form, typo, word
order, punctuation, "The", "&"):

- exact lookups: one indexed query by normalised name or website domain;
- the full lookup through the service: aliases, match, look-alike warnings, displayed fields, cache age;
- brute force: the same match ranking over every cached name (its shortlist taken from all names by
  rapidfuzz scans, not from the index's candidates)

and reports the speed-up, the recall of the service's top-5 look-alikes against brute force's (the
share of brute force's names the service shows too), the ingest
rate, the database size and the process's peak RSS. `--json` adds one JSON object as the last line.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import heapq
import json
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from rapidfuzz import fuzz, process

from companion.matching import (
    CompanyQuery,
    MatchThresholds,
    company_domain,
    match_scores,
    normalize_name,
    split_legal_forms,
)
from companion.matching.scoring import RARE_WORD_SHORTLIST, RARITY_SHORTLIST, rare_forms
from companion.sandbox.seed import organisation_names, website_for
from companion.services.company_lookup import CompanyLookupService
from companion.services.company_sync import SyncOptions
from companion.store import open_database
from companion.store.companies import CompanyCache, CompanyRow, StatusRow, UserRow
from companion.tuning import INDEX_TUNING

VARIANT_KINDS: Final = ("legal_form", "typo", "word_order", "punctuation", "the", "ampersand")
LEGAL_FORMS: Final = (
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
)
EXTRA_WORDS: Final = ("Group", "Holdings", "Systems", "Solutions", "International", "Technologies", "Europe")
TLDS: Final = ("com", "com", "com", "co.uk", "de", "nl", "fr", "io")
PAGE: Final = 100
TOP: Final = 5
#: Brute-force queries when --brute-queries is not given: every query up to 200,000 companies, then 50.
_BRUTE_SMALL: Final = 200
_BRUTE_LARGE: Final = 50
_LARGE: Final = 200_000
_BRUTE_SLICE: Final = 50_000
_LETTERS: Final = "abcdefghijklmnopqrstuvwxyz"
_PUNCTUATION: Final = re.compile(r"[,.\-'()/]")


# --- data -----------------------------------------------------------------------------------------------


def name_variant(name: str, rng: random.Random) -> str:
    """Another spelling of a cached name, as accounts accumulate them: legal form, case, typo, extra word."""
    roll = rng.random()
    if roll < 0.3:
        return query_variant(name, "legal_form", rng)
    if roll < 0.45:
        return name.upper() if rng.random() < 0.5 else query_variant(name, "punctuation", rng)
    if roll < 0.8:
        return query_variant(name, "typo", rng)
    return f"{name} {rng.choice(EXTRA_WORDS)}"


def company_names(count: int, rng: random.Random) -> Iterator[str]:
    """`count` names: the real ones (shuffled) first, then variants of them, as an account accumulates."""
    real = list(organisation_names())
    rng.shuffle(real)
    yield from real[:count]
    for _ in range(count - min(count, len(real))):
        yield name_variant(rng.choice(real), rng)


def query_variant(name: str, kind: str, rng: random.Random) -> str:
    """How a profile might spell a cached name: one variant of the given kind."""
    words = name.split()
    if kind == "legal_form":
        legal = split_legal_forms(name)[1]
        if legal and len(words) > len(legal):
            return " ".join(words[: len(words) - len(legal)])
        return f"{name} {rng.choice(LEGAL_FORMS)}"
    if kind == "word_order" and len(words) > 1:
        position = rng.randrange(len(words) - 1)
        words[position], words[position + 1] = words[position + 1], words[position]
        return " ".join(words)
    if kind == "punctuation":
        if _PUNCTUATION.search(name):
            return _PUNCTUATION.sub(" ", name)
        return ", ".join(words) if len(words) > 1 else f"{name}."
    if kind == "the":
        return name[4:] if name.lower().startswith("the ") else f"The {name}"
    if kind == "ampersand":
        if "&" in name:
            return name.replace("&", " and ")
        if " and " in name.lower():
            return re.sub(r"\band\b", "&", name, flags=re.IGNORECASE)
        return f"{' '.join(words[:-1])} & {words[-1]}" if len(words) > 1 else f"{name} & Co"
    # A typo (also the word-order fallback for one-word names): one letter replaced, dropped or doubled.
    letters = [i for i, char in enumerate(name) if char.isalpha()]
    if not letters:
        return name + "x"
    position = rng.choice(letters[1:] or letters)
    edit = rng.random()
    if edit < 0.5:
        return name[:position] + rng.choice(_LETTERS) + name[position + 1 :]
    if edit < 0.75:
        return name[:position] + name[position + 1 :]
    return name[:position] + name[position] + name[position:]


_USERS: Final = (
    UserRow(id=4001, display_name="Dana Whitfield"),
    UserRow(id=4002, display_name="Sam Okafor"),
    UserRow(id=4003, display_name="Priya Raman"),
)
_STATUSES: Final = (
    StatusRow(id=130, title="Active"),
    StatusRow(id=131, title="Prospect"),
    StatusRow(id=132, title="Inactive"),
)


def company_row(company_id: int, name: str, rng: random.Random) -> CompanyRow:
    """A cache row for a generated company, its match keys derived as the sync derives them."""
    website = website_for(name, rng.choice(TLDS)) if rng.random() < 0.7 else None
    return CompanyRow(
        id=company_id,
        name=name,
        website=website,
        city=rng.choice(("Leeds", "Austin", "Utrecht", "Berlin", None)),
        owner_id=rng.choice(_USERS).id,
        status_id=rng.choice(_STATUSES).id,
        name_key=normalize_name(name),
        domain=company_domain(website) if website else None,
    )


# --- measuring ------------------------------------------------------------------------------------------


def peak_rss_mb() -> float | None:
    """The process's peak resident set size in MiB (None where the platform cannot say)."""
    try:
        import resource  # POSIX only
    except ImportError:
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes.
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def percentiles(samples: list[float]) -> tuple[float, float]:
    """(p50, p99) in milliseconds."""
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return statistics.median(ordered) * 1e3, p99 * 1e3


@dataclass
class LookupBenchResult:
    companies: int
    real_names: int
    distinct_names: int
    queries: int
    brute_queries: int
    lookup_p50_ms: float
    lookup_p99_ms: float
    exact_p50_ms: float
    exact_p99_ms: float
    bruteforce_p50_ms: float
    bruteforce_p99_ms: float
    speedup: float
    recall_at_5: float
    lookalike_min_score: float
    ingest_seconds: float
    ingest_rows_per_s: float
    index_build_seconds: float
    db_bytes: int
    peak_rss_mb: float | None
    seconds: float
    #: Per variant kind: (p50, p99) of the full lookup.
    by_kind: dict[str, tuple[float, float]] = field(default_factory=dict)


@dataclass
class _Query:
    text: str
    kind: str
    original: str
    domain: str | None


def _db_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in (path, path.with_name(path.name + "-wal")) if p.exists())


async def run_lookup_bench(
    companies: int,
    *,
    queries: int = 1000,
    brute_queries: int | None = None,
    seed: int = 1,
    directory: Path | None = None,
    say: Callable[[str], None] = lambda _: None,
) -> LookupBenchResult:
    """Build the cache in `directory` (a new temporary one when None, removed afterwards) and measure."""
    if companies < 1 or queries < 1:
        raise ValueError("companies and queries must be at least 1")
    brute = (
        brute_queries
        if brute_queries is not None
        else (_BRUTE_SMALL if companies <= _LARGE else _BRUTE_LARGE)
    )
    brute = max(1, min(brute, queries))
    workdir = Path(tempfile.mkdtemp(prefix="cats-bench-")) if directory is None else directory
    try:
        return await _run(companies, queries, brute, seed, workdir, say)
    finally:
        if directory is None:
            shutil.rmtree(workdir, ignore_errors=True)


async def _run(
    companies: int, queries: int, brute: int, seed: int, workdir: Path, say: Callable[[str], None]
) -> LookupBenchResult:
    started = time.perf_counter()
    rng = random.Random(seed)
    path = workdir / "companion.db"
    db = await open_database(path)
    try:
        cache = CompanyCache(db)
        now = datetime.now(UTC)
        async with db.transaction() as conn:
            await cache.replace_users(conn, _USERS, synced_at=now)
            await cache.replace_statuses(conn, _STATUSES, synced_at=now)
        service = await CompanyLookupService.open(db, tuning=INDEX_TUNING)
        chosen = set(rng.sample(range(companies), min(queries, companies)))
        originals: list[tuple[str, str | None]] = []
        ingest = 0.0
        page: list[CompanyRow] = []
        say(f"building a cache of {companies:,} companies ...")

        async def store(rows: list[CompanyRow], number: int) -> float:
            # The sync's write path: a batch of pages and the checkpoint of its last page in one
            # transaction, then the change hook.
            begin = time.perf_counter()
            async with db.transaction() as conn:
                await cache.upsert(conn, rows, synced_at=now, run_id=1)
                await cache.save_sync(
                    conn, full_pages_done=number, full_next_href=f"/companies?page={number + 1}"
                )
            await service.apply_changes(rows, ())
            return time.perf_counter() - begin

        batch_rows = PAGE * SyncOptions().scan_batch_pages
        pages = 0
        for position, name in enumerate(company_names(companies, rng)):
            row = company_row(1000 + position, name, rng)
            if position in chosen:
                originals.append((name, row.domain))
            page.append(row)
            if len(page) == batch_rows:
                pages += len(page) // PAGE
                ingest += await store(page, pages)
                page = []
        if page:
            pages += -(-len(page) // PAGE)
            ingest += await store(page, pages)
        async with db.transaction() as conn:
            await cache.save_sync(conn, full_stage="idle", last_success_at=now, last_full_success_at=now)
        real = min(companies, len(organisation_names()))

        # What the daemon does at start-up: the index from SQLite, the old one gone first.
        service.close()
        del service
        gc.collect()
        say("rebuilding the index from SQLite, as at daemon start-up ...")
        begin = time.perf_counter()
        service = await CompanyLookupService.open(db, tuning=INDEX_TUNING)
        build = time.perf_counter() - begin
        try:
            result = _measure(service, originals, brute, rng, say)
        finally:
            service.close()
    finally:
        await db.close()
    return LookupBenchResult(
        companies=companies,
        real_names=real,
        distinct_names=result["distinct"],
        queries=len(originals),
        brute_queries=result["brute_queries"],
        lookup_p50_ms=result["lookup"][0],
        lookup_p99_ms=result["lookup"][1],
        exact_p50_ms=result["exact"][0],
        exact_p99_ms=result["exact"][1],
        bruteforce_p50_ms=result["brute"][0],
        bruteforce_p99_ms=result["brute"][1],
        speedup=result["brute"][0] / result["lookup"][0] if result["lookup"][0] else 0.0,
        recall_at_5=result["recall"],
        lookalike_min_score=result["min_score"],
        ingest_seconds=ingest,
        ingest_rows_per_s=companies / ingest if ingest else 0.0,
        index_build_seconds=build,
        db_bytes=_db_bytes(path),
        peak_rss_mb=peak_rss_mb(),
        seconds=time.perf_counter() - started,
        by_kind=result["by_kind"],
    )


def _brute_force_top(
    key: str,
    keys: list[str],
    lines: str,
    count: Counter[str],
    threshold: float,
    weight: Callable[[str], float],
) -> list[tuple[float, str]]:
    """The `TOP` best (match score, name) at or above `threshold` among all `keys`: the match ranking over
    every cached name rather than the index's candidates.

    The ranking's shortlist (the `RARITY_SHORTLIST` best by `token_set_ratio`) is taken over all names,
    slice by slice, and `match_scores` scores it as a lookup scores its candidates' shortlist. Slices,
    because rapidfuzz converts the whole choice list first: at a million names that copy alone took
    ~60 MB, which is the bench's scaffolding, not the cache's memory.
    """
    best: list[tuple[float, str]] = []
    for start in range(0, len(keys), _BRUTE_SLICE):
        found = process.extract(
            key,
            keys[start : start + _BRUTE_SLICE],
            scorer=fuzz.token_set_ratio,
            processor=None,
            limit=RARITY_SHORTLIST,
        )
        # A set: companies of one name share it, and the index holds each name once.
        best = heapq.nlargest(RARITY_SHORTLIST, {*best, *((score, name) for name, score, _ in found)})
    shortlist = [name for _, name in best]
    # The ranking's shortlist also takes names holding the query's rarest word, alone or written together
    # with a neighbour (`rare_forms`), found by one regular-expression scan (in C) of all the names, one
    # per line.
    forms = "|".join(map(re.escape, rare_forms(key, weight)))
    holding = re.findall(rf"^(?:.* )?(?:{forms})(?: .*)?$", lines, re.MULTILINE)
    shortlist += [name for name in dict.fromkeys(holding) if name not in shortlist][:RARE_WORD_SHORTLIST]
    scored = match_scores(key, shortlist, weight, threshold)
    # One entry per company, as the service lists them: several companies may share a name.
    companies = (
        (score, shortlist[position]) for position, score in scored for _ in range(count[shortlist[position]])
    )
    return heapq.nlargest(TOP, companies)


def _measure(
    service: CompanyLookupService,
    originals: list[tuple[str, str | None]],
    brute: int,
    rng: random.Random,
    say: Callable[[str], None],
) -> dict[str, Any]:
    rng.shuffle(originals)
    qs = [
        _Query(
            query_variant(name, VARIANT_KINDS[i % len(VARIANT_KINDS)], rng),
            VARIANT_KINDS[i % len(VARIANT_KINDS)],
            name,
            domain,
        )
        for i, (name, domain) in enumerate(originals)
    ]
    lookup = service.cache_lookup
    say(f"timing {len(qs):,} exact and full lookups ...")
    exact: list[float] = []
    for q in qs:
        begin = time.perf_counter()
        lookup.by_normalized_name(normalize_name(q.original))
        exact.append(time.perf_counter() - begin)
        if q.domain:
            begin = time.perf_counter()
            lookup.by_domain(q.domain)
            exact.append(time.perf_counter() - begin)
    full: list[float] = []
    by_kind: dict[str, list[float]] = {kind: [] for kind in VARIANT_KINDS}
    for q in qs:
        query = CompanyQuery(name=q.text)
        begin = time.perf_counter()
        service.lookup(query)
        elapsed = time.perf_counter() - begin
        full.append(elapsed)
        by_kind[q.kind].append(elapsed)

    # Brute force: the look-alikes of a query by scoring every cached name, then the top 5.
    threshold = MatchThresholds().similar_warning
    keys = service.index.keys()
    lines = "\n".join(keys)
    count = Counter(keys)
    say(f"brute force: {brute:,} queries over {len(keys):,} names ...")
    brute_times: list[float] = []
    wanted = found = 0
    for q in qs[:brute]:
        begin = time.perf_counter()
        top = _brute_force_top(
            normalize_name(q.text), keys, lines, count, threshold, service.index.word_weight
        )
        brute_times.append(time.perf_counter() - begin)
        if top:
            hits = lookup.ranked(q.text, limit=TOP, min_score=threshold)
            wanted += len(top)
            # Found: a look-alike of the same name as one of brute force's. Not by score: the match
            # model weighs a name's lead over the other candidates, which brute force (all names) and
            # the index (its candidates) may see a little differently.
            shown = Counter(normalize_name(company.name) for company, _ in hits)
            found += sum(min(count, shown[name]) for name, count in Counter(n for _, n in top).items())
    del keys, lines, count
    return {
        "distinct": service.index.distinct_names,
        "brute_queries": len(brute_times),
        "lookup": percentiles(full),
        "exact": percentiles(exact),
        "brute": percentiles(brute_times),
        "recall": found / wanted if wanted else 1.0,
        "min_score": threshold,
        "by_kind": {kind: percentiles(samples) for kind, samples in by_kind.items() if samples},
    }


# --- the command ----------------------------------------------------------------------------------------


def format_report(result: LookupBenchResult) -> str:
    r = result
    rss = f"{r.peak_rss_mb:,.0f} MiB" if r.peak_rss_mb is not None else "unknown on this platform"
    lines = [
        f"companies        {r.companies:,} ({r.real_names:,} real names, the rest generated; "
        f"{r.distinct_names:,} distinct normalised names)",
        f"cache build      ingest {r.ingest_seconds:.1f} s = {r.ingest_rows_per_s:,.0f} companies/s "
        "(sync write path: a batch of pages + checkpoint per transaction, then the index hook)",
        f"                 index rebuilt from SQLite (daemon start-up) in {r.index_build_seconds:.2f} s",
        f"database         {r.db_bytes / 2**20:,.1f} MiB",
        "",
        f"{'':<42}{'p50':>10}{'p99':>10}",
        f"{'exact lookup (name key or domain)':<42}{r.exact_p50_ms:>8.3f}ms{r.exact_p99_ms:>8.3f}ms",
        f"{'full lookup with warnings (service)':<42}{r.lookup_p50_ms:>8.3f}ms{r.lookup_p99_ms:>8.3f}ms",
        f"{'brute force, same scorer, all names':<42}"
        f"{r.bruteforce_p50_ms:>8.1f}ms{r.bruteforce_p99_ms:>8.1f}ms",
    ]
    for kind, (p50, p99) in r.by_kind.items():
        lines.append(
            f"{'  full lookup, ' + kind.replace('_', ' ') + ' variants':<42}{p50:>8.3f}ms{p99:>8.3f}ms"
        )
    lines += [
        "",
        f"speed-up         {r.speedup:,.0f}x (brute-force p50 / full-lookup p50)",
        f"recall@5         {r.recall_at_5:.3f} (service look-alikes vs brute force's top 5 scoring >= "
        f"{r.lookalike_min_score:.0f}, {r.brute_queries:,} variant queries)",
        f"peak RSS         {rss}",
        f"queries          {r.queries:,} variant queries ({', '.join(VARIANT_KINDS)}); "
        f"run took {r.seconds:.0f} s",
    ]
    return "\n".join(lines)


def json_summary(result: LookupBenchResult) -> dict[str, Any]:
    data = asdict(result)
    data["by_kind"] = {kind: {"p50_ms": p50, "p99_ms": p99} for kind, (p50, p99) in result.by_kind.items()}
    return data


def _positive(text: str) -> int:
    try:
        value = int(text.replace("_", "").replace(",", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "lookup",
        help="company lookups at scale, against brute force",
        description=(__doc__ or "").split("\n\n")[0],
    )
    parser.add_argument(
        "--companies", type=_positive, default=100_000, help="companies in the cache (default 100000)"
    )
    parser.add_argument(
        "--queries", type=_positive, default=1000, help="variant queries timed (default 1000)"
    )
    parser.add_argument(
        "--brute-queries",
        type=_positive,
        help=(
            f"of which also by brute force (default {_BRUTE_SMALL}, "
            f"or {_BRUTE_LARGE} above {_LARGE:,} companies)"
        ),
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed of the generated data (default 1)")
    parser.add_argument("--json", action="store_true", help="also print one JSON object as the last line")
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    def say(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    result = asyncio.run(
        run_lookup_bench(
            args.companies, queries=args.queries, brute_queries=args.brute_queries, seed=args.seed, say=say
        )
    )
    print(format_report(result))
    if args.json:
        print(json.dumps(json_summary(result)))
    return 0
