"""`cats-companion bench match-quality`: does the lookup name the right company, against brute force?

The development set (companion.bench.devset: real name pairs, real negatives, ~33,000 real organisation
names) is written to a temporary SQLite cache through the sync's write path, the lookup service opens it
as the daemon does, and every query goes through `CompanyLookupService.lookup` exactly as the card asks
(name only, the default settings). In the same run, brute-force rapidfuzz scans every cached name with
`WRatio` and with `token_set_ratio` (rapidfuzz's default processing on both sides). Reported, per scorer:

- top-1: the right company is the match (brute force: the best-scoring name);
- hit@5: the right company is among the match and its look-alikes (brute force: the five best);
- on names not in the cache: a confident match (the card says "Match" or stronger), any match, and any
  look-alike; for brute force, a best score of at least `BRUTE_ANY` (what a fuzzy scan would call a match).

The look-alike threshold's trade-off is printed too: the lookups run once with look-alikes from
`SWEEP_FLOOR`, and each threshold of `SWEEP` keeps the look-alikes scoring at least that much (the
card's look-alikes at a threshold are exactly those: the closest first, at most five). The calibrated
threshold is the lowest one at which at most `LOOKALIKE_TARGET` of the names not in the cache get a
look-alike (hit@5 only falls as the threshold rises); `MatchThresholds.similar_warning` is set to it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from rapidfuzz import fuzz, process
from rapidfuzz.utils import default_process

from companion.bench.devset import KINDS, DevSet, load_devset
from companion.bench.lookup import _positive
from companion.bench.match_model import fit_devset, format_fit, training_seeds, write_model
from companion.matching import CompanyQuery, Confidence, MatchThresholds, WarningKind, normalize_name
from companion.services.company_lookup import CompanyLookupService, LookupResult, LookupSettings
from companion.store import open_database
from companion.store.companies import CompanyCache, CompanyRow

TOP: Final = 5
PAGE_ROWS: Final = 2000
#: A brute-force best score at least this high counts as "some match" on a negative.
BRUTE_ANY: Final = 90.0
#: Confidences the card shows as a match rather than a likely or possible one.
CONFIDENT: Final = frozenset({Confidence.CONFIRMED, Confidence.HIGH})
SCORERS: Final = ("companion", "wratio", "token_set_ratio")
_LOOKALIKE_KINDS: Final = frozenset({WarningKind.SIMILAR_NAME, WarningKind.SAME_NAME_LEGAL_FORM})
#: At most this share of the names not in the cache may get a look-alike (a false warning) at the
#: calibrated look-alike threshold: about what the card showed before the match score's calibration.
LOOKALIKE_TARGET: Final = 0.15
#: The look-alike thresholds tried (the match model's score: a probability times 100), and the lowest
#: score the lookups report look-alikes from.
SWEEP: Final = tuple(float(t) for t in range(10, 96, 2))
SWEEP_FLOOR: Final = SWEEP[0]


@dataclass
class ScorerFigures:
    top1: float = 0.0
    hit_at_5: float = 0.0
    #: Negatives: share with a confident match (companion only), any match, any look-alike.
    negative_confident: float | None = None
    negative_any_match: float = 0.0
    negative_lookalike: float | None = None
    by_kind: dict[str, tuple[float, float]] = field(default_factory=dict)


@dataclass
class MatchQualityResult:
    companies: int
    positives: int
    negatives: int
    decorated: int
    scorers: dict[str, ScorerFigures]
    lookup_p50_ms: float
    seconds: float
    #: The look-alike threshold in use (`MatchThresholds.similar_warning`), which the figures are at.
    lookalike_threshold: float = 0.0
    #: (threshold, companion hit@5, share of names not in the cache with a look-alike) per `SWEEP` step.
    lookalike_sweep: list[tuple[float, float, float]] = field(default_factory=list)
    lookalike_target: float = LOOKALIKE_TARGET
    #: The lowest threshold of `SWEEP` meeting `LOOKALIKE_TARGET`; None when none does.
    calibrated_lookalike: float | None = None


@dataclass(frozen=True)
class _Seen:
    """What the card showed for one query with look-alikes from `SWEEP_FLOOR`."""

    match: int | None
    confident: bool
    #: The match, then the companies warned about in the card's order, each with its look-alike score
    #: (None: not a similar-name look-alike, so shown whatever the threshold).
    shown: list[tuple[int, float | None]]

    def ranked(self, threshold: float) -> list[int]:
        """The match and its look-alikes as the card shows them at this look-alike threshold."""
        ids: list[int] = []
        for company_id, score in self.shown:
            if (score is None or score >= threshold) and company_id not in ids:
                ids.append(company_id)
        return ids[:TOP]


def _seen(result: LookupResult) -> _Seen:
    match = result.match.company_id if result.match is not None else None
    shown: list[tuple[int, float | None]] = [] if match is None else [(match, None)]
    for warning in result.warnings:
        if warning.kind in _LOOKALIKE_KINDS or warning.kind is WarningKind.SAME_DOMAIN:
            score = (warning.score or 0.0) if warning.kind is WarningKind.SIMILAR_NAME else None
            shown += [(company_id, score) for company_id in warning.company_ids]
    confident = result.match is not None and result.match.confidence in CONFIDENT
    return _Seen(match, confident, shown)


async def _write_cache(path: Path, devset: DevSet) -> None:
    db = await open_database(path)
    try:
        cache = CompanyCache(db)
        now = datetime.now(UTC)
        rows = [CompanyRow(id=i, name=name, name_key=normalize_name(name)) for i, name in devset.companies]
        for page, start in enumerate(range(0, len(rows), PAGE_ROWS), start=1):
            async with db.transaction() as conn:
                await cache.upsert(conn, rows[start : start + PAGE_ROWS], synced_at=now, run_id=1)
                await cache.save_sync(conn, full_pages_done=page, full_next_href=None)
        async with db.transaction() as conn:
            await cache.save_sync(conn, full_stage="idle", last_success_at=now, last_full_success_at=now)
    finally:
        await db.close()


class _Tally:
    """Counts for one scorer, per kind."""

    def __init__(self) -> None:
        self.counts: defaultdict[str, list[int]] = defaultdict(lambda: [0, 0, 0])

    def positive(self, kind: str, top1: bool, hit: bool) -> None:
        row = self.counts[kind]
        row[0] += 1
        row[1] += top1
        row[2] += hit

    def figures(self, kinds: tuple[str, ...]) -> tuple[float, float]:
        total = sum(self.counts[k][0] for k in kinds)
        if not total:
            return 0.0, 0.0
        return sum(self.counts[k][1] for k in kinds) / total, sum(self.counts[k][2] for k in kinds) / total


def _brute(query: str, choices: list[str], scorer: Callable[..., float]) -> list[int]:
    """Positions of the `TOP` best choices for `query` (choices already processed)."""
    hits = process.extract(default_process(query), choices, scorer=scorer, processor=None, limit=TOP)
    return [position for _, _, position in hits]


def _brute_best(query: str, choices: list[str], scorer: Callable[..., float]) -> float:
    best = process.extractOne(default_process(query), choices, scorer=scorer, processor=None)
    return float(best[1]) if best is not None else 0.0


async def run_match_quality(
    *, seed: int = 1, per_kind: int | None = None, say: Callable[[str], None] = lambda _: None
) -> MatchQualityResult:
    started = time.perf_counter()
    devset = load_devset(seed, per_kind=per_kind)
    workdir = Path(tempfile.mkdtemp(prefix="cats-bench-quality-"))
    try:
        path = workdir / "companion.db"
        say(f"writing a cache of {len(devset.companies):,} real organisation names ...")
        await _write_cache(path, devset)
        db = await open_database(path)
        try:
            sweep = LookupSettings(thresholds=MatchThresholds(similar_warning=SWEEP_FLOOR))
            service = await CompanyLookupService.open(db, settings=lambda: sweep)
            try:
                say(f"looking up {len(devset.queries):,} names through the lookup service ...")
                seen, timings = _look_up(service, devset)
            finally:
                service.close()
        finally:
            await db.close()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    threshold = MatchThresholds().similar_warning
    companion = _companion_figures(devset, seen, threshold)
    trade_off = [(t, *_lookalike_trade_off(devset, seen, t)) for t in SWEEP]
    meeting = [t for t, _, false_warnings in trade_off if false_warnings <= LOOKALIKE_TARGET]
    ids = [company_id for company_id, _ in devset.companies]
    choices = [default_process(name) for _, name in devset.companies]
    scorers = {"companion": companion}
    for name, scorer in (("wratio", fuzz.WRatio), ("token_set_ratio", fuzz.token_set_ratio)):
        say(f"brute force: {name} over every cached name ...")
        scorers[name] = _measure_brute(devset, ids, choices, scorer)
    timings.sort()
    return MatchQualityResult(
        companies=len(devset.companies),
        positives=sum(q.kind in KINDS for q in devset.queries),
        negatives=sum(q.target is None for q in devset.queries),
        decorated=sum(q.kind == "decorated" for q in devset.queries),
        scorers=scorers,
        lookup_p50_ms=timings[len(timings) // 2] * 1e3 if timings else 0.0,
        seconds=time.perf_counter() - started,
        lookalike_threshold=threshold,
        lookalike_sweep=trade_off,
        calibrated_lookalike=min(meeting) if meeting else None,
    )


def _summarise(tally: _Tally, figures: ScorerFigures) -> ScorerFigures:
    figures.top1, figures.hit_at_5 = tally.figures(KINDS)
    figures.by_kind = {kind: tally.figures((kind,)) for kind in (*KINDS, "decorated")}
    return figures


def _look_up(service: CompanyLookupService, devset: DevSet) -> tuple[list[_Seen], list[float]]:
    seen: list[_Seen] = []
    timings: list[float] = []
    for query in devset.queries:
        begin = time.perf_counter()
        result = service.lookup(CompanyQuery(name=query.text))
        timings.append(time.perf_counter() - begin)
        seen.append(_seen(result))
    return seen, timings


def _lookalike_trade_off(devset: DevSet, seen: list[_Seen], threshold: float) -> tuple[float, float]:
    """(hit@5, share of names not in the cache with a look-alike) at this look-alike threshold."""
    figures = _companion_figures(devset, seen, threshold)
    return figures.hit_at_5, figures.negative_lookalike or 0.0


def _companion_figures(devset: DevSet, seen: list[_Seen], threshold: float) -> ScorerFigures:
    tally = _Tally()
    confident = any_match = lookalike = negatives = 0
    for query, card in zip(devset.queries, seen, strict=True):
        ranked = card.ranked(threshold)
        if query.target is None:
            negatives += 1
            confident += card.confident
            any_match += card.match is not None
            lookalike += bool(ranked)
            continue
        hit = any(devset.right(query, company_id) for company_id in ranked)
        tally.positive(query.kind, card.match is not None and devset.right(query, card.match), hit)
    share = (lambda n: n / negatives) if negatives else (lambda n: 0.0)
    figures = ScorerFigures(
        negative_confident=share(confident),
        negative_any_match=share(any_match),
        negative_lookalike=share(lookalike),
    )
    return _summarise(tally, figures)


def _measure_brute(
    devset: DevSet, ids: list[int], choices: list[str], scorer: Callable[..., float]
) -> ScorerFigures:
    tally = _Tally()
    any_match = negatives = 0
    for query in devset.queries:
        if query.target is None:
            negatives += 1
            any_match += _brute_best(query.text, choices, scorer) >= BRUTE_ANY
            continue
        ranked = [ids[position] for position in _brute(query.text, choices, scorer)]
        right = [devset.right(query, company_id) for company_id in ranked]
        tally.positive(query.kind, bool(right) and right[0], any(right))
    figures = ScorerFigures(negative_any_match=any_match / negatives if negatives else 0.0)
    return _summarise(tally, figures)


# --- the command ----------------------------------------------------------------------------------------


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def format_report(result: MatchQualityResult) -> str:
    r = result
    calibrated = "none tried" if r.calibrated_lookalike is None else f"{r.calibrated_lookalike:.0f}"
    header = f"{'':<34}" + "".join(f"{name:>17}" for name in SCORERS)
    lines = [
        f"cache            {r.companies:,} real organisation names (SEC, IETF, IEEE)",
        f"queries          {r.positives:,} real pairs ({', '.join(KINDS)}), {r.negatives:,} names not in "
        f"the cache, {r.decorated} decorated profile names (reported apart)",
        "",
        header,
    ]

    def row(label: str, value: Callable[[ScorerFigures], str]) -> str:
        return f"{label:<34}" + "".join(f"{value(r.scorers[name]):>17}" for name in SCORERS)

    lines.append(row("top-1 (right company is the match)", lambda f: f"{f.top1:.3f}"))
    lines.append(row("hit@5 (match and look-alikes)", lambda f: f"{f.hit_at_5:.3f}"))
    for kind in (*KINDS, "decorated"):

        def pair(f: ScorerFigures, kind: str = kind) -> str:
            return f"{f.by_kind[kind][0]:.3f} / {f.by_kind[kind][1]:.3f}"

        lines.append(row(f"  {kind}: top-1 / hit@5", pair))
    lines += [
        row("not in cache: confident match", lambda f: _percent(f.negative_confident)),
        row(f"not in cache: any match (bf >= {BRUTE_ANY:.0f})", lambda f: _percent(f.negative_any_match)),
        row("not in cache: any look-alike", lambda f: _percent(f.negative_lookalike)),
        "",
        f"look-alike threshold: {r.lookalike_threshold:.0f} in use; target: at most "
        f"{r.lookalike_target * 100:.0f}% of names not in the cache warned; calibrated: {calibrated}",
        f"{'threshold':>11}{'hit@5':>9}{'not in cache: any look-alike':>31}",
        *(
            f"{t:>11.0f}{hit:>9.3f}{_percent(false):>31}{'  <- in use' if t == r.lookalike_threshold else ''}"
            for t, hit, false in r.lookalike_sweep
        ),
        "",
        f"lookup p50       {r.lookup_p50_ms:.3f} ms through the service; run took {r.seconds:.0f} s",
    ]
    return "\n".join(lines)


def json_summary(result: MatchQualityResult) -> dict[str, Any]:
    data = asdict(result)
    for figures in data["scorers"].values():
        figures["by_kind"] = {
            kind: {"top1": top1, "hit_at_5": hit} for kind, (top1, hit) in figures["by_kind"].items()
        }
    return data


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "match-quality",
        help="does the lookup name the right company? against brute-force rapidfuzz",
        description=(__doc__ or "").split("\n\n")[0],
    )
    parser.add_argument(
        "--per-kind", type=_positive, help="at most this many queries of each kind (a short run)"
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=1,
        help="which held-out names and variants (default 1); with --fit, the seed held out of the fit",
    )
    parser.add_argument("--json", action="store_true", help="also print one JSON object as the last line")
    parser.add_argument(
        "--fit",
        action="store_true",
        help="instead, fit the match model and its thresholds on the development sets and print them",
    )
    parser.add_argument(
        "--write",
        action="store_true",
        help="with --fit: replace the shipped match model (companion/matching/match_model_data.py)",
    )
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    def say(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    if args.write and (not args.fit or args.per_kind is not None):
        print("--write goes with --fit on the whole development set (no --per-kind)", file=sys.stderr)
        return 2
    if args.fit:
        seeds = training_seeds(args.seed)
        say(f"fitting the match model on seeds {seeds}' development sets, without seed {args.seed}'s ...")
        held_out = load_devset(args.seed, per_kind=args.per_kind)
        training = [load_devset(seed, per_kind=args.per_kind) for seed in seeds]
        fitted = fit_devset(training, held_out)
        print(format_fit(fitted, write_model(fitted, args.seed) if args.write else None))
        return 0
    result = asyncio.run(run_match_quality(seed=args.seed, per_kind=args.per_kind, say=say))
    print(format_report(result))
    if args.json:
        print(json.dumps(json_summary(result)))
    return 0
