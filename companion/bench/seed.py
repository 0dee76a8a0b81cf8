"""How long seeding the CATS sandbox takes: seconds and records per second for N companies.

    cats-companion bench seed [N ...] [--repeat 3] [--json]

Seeds each N (default 1,000 and 10,000 companies) into a fresh in-memory store with a fixed random
seed, `--repeat` times, and reports the fastest run: wall time, the CPU time of this process (on a
machine shared with other work the two part, and the CPU time is the steadier one) and records
written per wall second (companies, contacts, candidates and activities). The target is under
~3 s for 10,000 companies on an idle 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from companion.sandbox.seed import seed
from companion.sandbox.store import SandboxStore

NOW = datetime(2025, 5, 1, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Run:
    companies: int
    records: int
    seconds: float
    cpu_seconds: float

    @property
    def records_per_second(self) -> float:
        return self.records / self.seconds


def measure(companies: int) -> Run:
    """Seed `companies` companies into a fresh store; the real (not a fixed) clock, as the demo runs."""
    store = SandboxStore()
    try:
        wall, cpu = time.perf_counter(), time.process_time()
        seed(store, companies=companies, random_seed=0, now=NOW)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        counts = store.record_counts()
    finally:
        store.close()
    records = sum(counts[kind] for kind in ("companies", "contacts", "candidates", "activities"))
    return Run(companies, records, wall, cpu)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "seed",
        help="seconds to seed the CATS sandbox with N companies and their records",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("sizes", nargs="*", type=int, default=[1_000, 10_000], metavar="N")
    parser.add_argument("--repeat", type=int, default=3, help="runs per size; the fastest is reported")
    parser.add_argument("--json", action="store_true", help="one JSON object per size instead of a table")
    parser.set_defaults(func=run, parser=parser)


def run(args: argparse.Namespace) -> int:
    if any(size < 0 for size in args.sizes) or args.repeat < 1:
        args.parser.error("sizes cannot be negative and --repeat must be at least 1")
    if not args.json:
        print(f"{'companies':>10} {'records':>8} {'seconds':>8} {'cpu s':>6} {'records/s':>10}")
    for size in args.sizes:
        best = min((measure(size) for _ in range(args.repeat)), key=lambda run: run.seconds)
        if args.json:
            print(json.dumps({**asdict(best), "records_per_second": round(best.records_per_second)}))
        else:
            print(
                f"{best.companies:>10,} {best.records:>8,} {best.seconds:>8.2f} "
                f"{best.cpu_seconds:>6.2f} {best.records_per_second:>10,.0f}"
            )
    return 0
