"""`cats-companion bench push`: the request economy and exactly-once delivery of the push outbox, measured.

A scenario against an in-process CATS sandbox, through the real services (campaign events ->
PushService -> outbox -> OutboxWorker -> CatsClient over HTTP): N people join a campaign that
syncs on add, and each gets one outreach event (one note). Half of them already exist in CATS
(same email, an older title), half are new. A share of CATS's answers are injected faults (429
with Retry-After, 500, 503, and "reset after": the request is carried out but the answer never
arrives), 10% by default.

It prints the requests CATS received against the computed minimum -- a new person costs 2
(create, note), an existing one 4 (create answered "duplicate", get, put, note) -- the 429s, the
records and notes the sandbox's own store holds against those expected, duplicates, losses and
the wall time. With no faults the requests equal the minimum. `--json` prints one JSON object as
the last line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

from companion.cats.budget import RateBudget
from companion.cats.client import CatsClient
from companion.rules.person import Person
from companion.sandbox.app import SandboxConfig, start_sandbox
from companion.sandbox.faults import FaultKind, FaultSettings
from companion.secret import ApiKey
from companion.services.campaigns import CampaignCreate
from companion.services.outbox_worker import Backoff, OutboxWorker
from companion.services.push import EventRequest, PushService, RulesInputs
from companion.settings.catalogue import Catalogue
from companion.settings.models import Settings
from companion.store import open_database

DEFAULT_FAULT_RATE: Final = 0.1
FAULT_KINDS: Final = [
    FaultKind.RATE_LIMITED,
    FaultKind.SERVER_ERROR,
    FaultKind.UNAVAILABLE,
    FaultKind.RESET_AFTER,
]
#: Requests per person at best: new (create, note) and existing (create -> duplicate, get, put, note).
NEW_COST: Final = 2
EXISTING_COST: Final = 4
NOTE_TEXT: Final = "bench outreach"
#: Retries inside one worker pass; faults beyond it are waited out by the worker itself.
_MAX_WAIT: Final = 120.0


@dataclass(frozen=True)
class BenchResult:
    people: int
    existing: int
    fault_rate: float
    requests: int
    minimum_requests: int
    rate_limited: int
    faults: dict[str, int]
    records_expected: int
    records_found: int
    notes_expected: int
    notes_found: int
    duplicates: int
    lost: int
    failed_items: int
    seconds: float


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "push",
        help="push N people with notes through the outbox to a sandbox; count requests, check exactly once",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--people", type=_positive, default=100, help="people to push (default 100)")
    parser.add_argument(
        "--fault-rate",
        type=_rate,
        default=DEFAULT_FAULT_RATE,
        help=f"share of CATS answers that are injected faults (default {DEFAULT_FAULT_RATE}; 0: clean run)",
    )
    parser.add_argument("--retry-after", type=int, default=1, help="seconds a 429 asks to wait (default 1)")
    parser.add_argument("--seed", type=int, default=7, help="random seed of the faults (default 7)")
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    parser.add_argument("--verbose", action="store_true", help="log each fault the client meets")
    parser.set_defaults(func=run)


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, not {text!r}")
    return int(text)


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1, not {text!r}") from None
    if not 0.0 <= value <= 0.5:
        raise argparse.ArgumentTypeError("the fault rate must be between 0 and 0.5")
    return value


def run(args: argparse.Namespace) -> int:
    # Injected faults are expected here: one warning line per fault would bury the report.
    quiet = logging.getLogger("companion")
    level = quiet.level
    if not getattr(args, "verbose", False):
        quiet.setLevel(logging.ERROR)
    try:
        result = asyncio.run(
            bench(
                people=args.people, fault_rate=args.fault_rate, retry_after=args.retry_after, seed=args.seed
            )
        )
    finally:
        quiet.setLevel(level)
    print(report(result))
    if args.json:
        print(json.dumps(asdict(result), sort_keys=True))
    return 0 if result.duplicates == 0 and result.lost == 0 else 1


def report(result: BenchResult) -> str:
    extra = result.requests - result.minimum_requests
    lines = [
        f"people              {result.people} ({result.existing} already in CATS)",
        f"injected faults     {result.fault_rate:.0%} of answers: "
        + (", ".join(f"{n}x {kind}" for kind, n in sorted(result.faults.items())) or "none"),
        f"CATS requests       {result.requests} (minimum {result.minimum_requests}, +{extra})",
        f"429s received       {result.rate_limited}",
        f"records             {result.records_found} of {result.records_expected} expected",
        f"notes               {result.notes_found} of {result.notes_expected} expected",
        f"duplicates / lost   {result.duplicates} / {result.lost}",
        f"failed items        {result.failed_items}",
        f"wall time           {result.seconds:.2f} s",
    ]
    return "\n".join(lines)


def _person(index: int) -> Person:
    return Person(
        first_name=f"Bench{index}",
        last_name="Person",
        title="Engineer",
        current_company="Bench Works",
        emails=[f"bench{index}@bench.example"],
        source="Companion bench",
    )


async def bench(*, people: int, fault_rate: float, retry_after: int = 1, seed: int = 7) -> BenchResult:
    """Run the scenario (module docstring) and verify it against the sandbox's own store."""
    faults = FaultSettings.uniform(
        fault_rate, FAULT_KINDS if fault_rate > 0 else [], random_seed=seed, retry_after_seconds=retry_after
    )
    # No hourly limit in the sandbox: the bench measures the outbox's economy, not the budget's waits.
    sandbox = await start_sandbox(SandboxConfig(seed=2, seed_random=seed, rate_limit=0))
    existing = people // 2
    try:
        for index in range(existing):
            person = _person(index)
            sandbox.store.create_record(
                "candidates",
                {
                    "first_name": person.first_name,
                    "last_name": person.last_name,
                    "title": "Junior engineer",
                    "emails": [{"email": person.emails[0], "is_primary": True}],
                },
            )
        with tempfile.TemporaryDirectory(prefix="cats-bench-push-") as scratch:
            db = await open_database(Path(scratch) / "companion.db")
            inputs = RulesInputs(Settings(), Catalogue())
            budget = RateBudget(limit=max(500, 20 * people))
            try:
                async with CatsClient(
                    sandbox.url, ApiKey(sandbox.api_key), timeout=10, budget=budget
                ) as client:
                    service = PushService(db, lambda: inputs)
                    worker = OutboxWorker(db, client, lambda: inputs, backoff=Backoff(base=0.05, cap=1.0))
                    campaign = await service.campaigns.create(
                        CampaignCreate(name="Bench", sync_trigger="on_add")
                    )
                    for index in range(people):
                        person = _person(index)
                        await service.record_event(
                            EventRequest(campaign_id=campaign.id, person=person, type="added"), source="bench"
                        )
                        await service.record_event(
                            EventRequest(
                                campaign_id=campaign.id,
                                person=person,
                                type="outreach",
                                outreach="email_sent",
                                text=NOTE_TEXT,
                            ),
                            source="bench",
                        )
                    sandbox.parts.faults.configure(faults)
                    sandbox.parts.counters.reset()
                    started = time.perf_counter()
                    counts = await worker.drain(max_wait=_MAX_WAIT)
                    seconds = time.perf_counter() - started
                    sandbox.parts.faults.configure(FaultSettings())
                    snapshot = sandbox.parts.counters.snapshot()
                    injected = dict(sandbox.parts.faults.injected)
            finally:
                await db.close()
        found = _verify(sandbox.store, people)
    finally:
        await sandbox.close()
    return BenchResult(
        people=people,
        existing=existing,
        fault_rate=fault_rate,
        requests=int(snapshot["requests_total"]),
        minimum_requests=NEW_COST * (people - existing) + EXISTING_COST * existing,
        rate_limited=int(snapshot["rate_limited"]),
        faults=injected,
        records_expected=people,
        records_found=found["records"],
        notes_expected=people,
        notes_found=found["notes"],
        duplicates=found["duplicates"],
        lost=found["lost"],
        failed_items=counts.get("failed", 0) + counts.get("waiting", 0) + counts.get("queued", 0),
        seconds=round(seconds, 3),
    )


def _verify(store: Any, people: int) -> dict[str, int]:
    """Count, in the sandbox's own store, each person's records and bench notes."""
    records = notes = duplicates = lost = 0
    for index in range(people):
        email = _person(index).emails[0]
        hits = store.search_records(
            "candidates",
            filter={"field": "emails.primary", "filter": "exactly", "value": email},
            per_page=100,
        ).items
        if hits:
            records += 1
        duplicates += max(0, len(hits) - 1)
        person_notes = sum(
            1
            for hit in hits
            for activity in store.list_record_activities("candidates", hit["id"], 1, 100).items
            if NOTE_TEXT in (activity.get("notes") or "")
        )
        notes += min(person_notes, 1)
        duplicates += max(0, person_notes - 1)
        lost += (0 if hits else 1) + (0 if person_notes else 1)
    return {"records": records, "notes": notes, "duplicates": duplicates, "lost": lost}


if __name__ == "__main__":  # pragma: no cover
    sys.exit(
        run(argparse.Namespace(people=20, fault_rate=0.1, retry_after=1, seed=7, json=True, verbose=False))
    )
