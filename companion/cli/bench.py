"""`cats-companion bench`: the group of benchmark commands (`bench lookup`; others add theirs here).

Each benchmark lives in its own module, named in BENCH_MODULES, exposing `register(subparsers)` like the
top-level commands do: it adds its parser under `bench` and sets `func`.
"""

from __future__ import annotations

import argparse
import importlib

#: Modules that each add one `bench <name>` subcommand with `register(subparsers)`.
BENCH_MODULES: tuple[str, ...] = (
    "companion.bench.lookup",
    "companion.bench.push",
    "companion.bench.roundtrip",
    "companion.bench.soak",
    "companion.bench.concurrency",
    "companion.bench.coldstart",
    "companion.bench.seed",
    "companion.bench.match_quality",
    "companion.bench.team",
)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "bench",
        help="measure the companion's performance (lookups, ...)",
        description="Benchmarks of the companion, run on generated data in a temporary directory.",
    )
    benches = parser.add_subparsers(dest="bench", metavar="BENCHMARK")
    benches.required = True
    for name in BENCH_MODULES:
        importlib.import_module(name).register(benches)
