"""Benchmark: how long seeding the CATS sandbox takes, in seconds and records per second.

Run from the repository root: ``.venv/bin/python benchmarks/sandbox_seed_bench.py [N ...]``
(default N = 1,000 and 10,000 companies). Each size is seeded into a fresh in-memory store with a
fixed random seed; the best of ``--repeat`` runs is reported, since the slower runs measure the
other load on the machine rather than the code.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime

from companion.cats.sandbox.seed import seed
from companion.cats.sandbox.store import SandboxStore

NOW = datetime(2025, 5, 1, 12, 0, tzinfo=UTC)


def measure(companies: int) -> tuple[float, int]:
    """Seconds to seed `companies` companies into a fresh store, and how many rows that wrote."""
    store = SandboxStore()
    try:
        started = time.perf_counter()
        seed(store, companies=companies, random_seed=0, now=NOW)
        elapsed = time.perf_counter() - started
        counts = store.record_counts()
    finally:
        store.close()
    records = sum(counts[k] for k in ("companies", "contacts", "candidates", "activities"))
    return elapsed, records


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[1_000, 10_000])
    parser.add_argument("--repeat", type=int, default=3, help="runs per size; the best is reported")
    args = parser.parse_args()
    print(f"{'companies':>10} {'records':>8} {'seconds':>8} {'records/s':>10}")
    for size in args.sizes:
        runs = [measure(size) for _ in range(max(1, args.repeat))]
        elapsed, records = min(runs)
        print(f"{size:>10,} {records:>8,} {elapsed:>8.2f} {records / elapsed:>10,.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
