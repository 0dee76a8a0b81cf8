"""The concurrency scenario: 50 lookups at once from several clients, idle, then during a sync and pushes.

Shared by tests/reliability/test_concurrency.py and `cats-companion bench concurrency` (below).
Three processes, so each measures only what it should: the CATS sandbox (seeded with a few thousand
companies) and the daemon run as children; this process only runs the clients, several aiohttp
sessions on the daemon's per-user socket, speaking the native protocol as the host relays the extension.

1. The cache is filled by a first full sync; a sample of companies whose lookup by name finds that very
   company becomes the expected answers.
2. Idle: rounds of 50 concurrent `company.lookup`s spread over the clients, timed one by one.
3. Loaded: a second full sync (`POST /api/sync {"full": true}`) and a push batch (people joining an
   on-add campaign, each with a note) start, and the same rounds run until both are done.

Figures: p50/p99/max of each phase. Errors: any lookup refused or answering another company, any push
refused or failed, the sync's last error, and the "database is locked" and ERROR lines of the daemon's
log.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import aiohttp

from companion.bench.soak import DaemonProcess, NativeClient, outbox_items, scan_log, write_key_file
from companion.cli.sandbox import LISTENING_PREFIX
from companion.protocol import JsonObject
from companion.sandbox.app import DEMO_API_KEY

CLIENTS: Final = 5
CONCURRENT: Final = 50
#: The sandbox's hourly limit: high, so the budget never slows the sync or the pushes.
RATE_LIMIT: Final = 100_000
SAMPLE: Final = 100
IDLE_ROUNDS: Final = 20
MIN_LOADED_ROUNDS: Final = 8
ROUND_PAUSE: Final = 0.02
START_TIMEOUT: Final = 60.0
#: The daemon's CATS client timeout: the default one (the sandbox has no faults here).
CATS_TIMEOUT: Final = 20.0
_PENDING: Final = ("queued", "sending", "waiting")


@dataclass(frozen=True)
class Scenario:
    companies: int = 3000
    pushes: int = 60
    seed: int = 11
    #: Seconds for the loaded phase (sync and push batch) before it counts as failed.
    load_timeout: float = 180.0


@dataclass
class Latencies:
    samples: list[float] = field(default_factory=list)

    def quantile(self, q: float) -> float:
        ordered = sorted(self.samples)
        if not ordered:
            return math.nan
        return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]

    @property
    def p50(self) -> float:
        return self.quantile(0.50)

    @property
    def p99(self) -> float:
        return self.quantile(0.99)

    @property
    def max(self) -> float:
        return max(self.samples) if self.samples else math.nan


@dataclass
class Figures:
    scenario: Scenario
    idle: Latencies = field(default_factory=Latencies)
    loaded: Latencies = field(default_factory=Latencies)
    errors: list[str] = field(default_factory=list)
    db_locked: int = 0
    log_errors: int = 0
    sync_seconds: float = 0.0
    pushes_synced: int = 0
    push_items: int = 0
    push_seconds: float = 0.0
    requests: int = 0

    def table(self) -> str:
        """Idle and loaded figures side by side (milliseconds)."""
        rows = [
            f"{'lookups (50 at once)':<24}{'idle':>10}{'loaded':>10}",
            f"{'count':<24}{len(self.idle.samples):>10}{len(self.loaded.samples):>10}",
        ]
        for name in ("p50", "p99", "max"):
            idle, loaded = getattr(self.idle, name) * 1000, getattr(self.loaded, name) * 1000
            rows.append(f"{name + ' (ms)':<24}{idle:>10.1f}{loaded:>10.1f}")
        rows += [
            f"load: full sync of {self.scenario.companies} companies in {self.sync_seconds:.1f} s; "
            f"{self.pushes_synced} of {self.scenario.pushes} pushes synced "
            f"({self.push_items} outbox items) in {self.push_seconds:.1f} s",
            f"'database is locked' in the daemon's log: {self.db_locked}; ERROR lines: {self.log_errors}; "
            f"other errors: {len(self.errors)}",
        ]
        return "\n".join(rows)


@contextlib.asynccontextmanager
async def sandbox_process(companies: int, seed: int) -> AsyncIterator[str]:
    """The sandbox in a child process; yields its API base URL. Its key is the public demo key."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "companion.cli.sandbox",
        "--seed",
        str(companies),
        "--seed-random",
        str(seed),
        "--rate-limit",
        str(RATE_LIMIT),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        assert process.stdout is not None
        async with asyncio.timeout(START_TIMEOUT):
            line = (await process.stdout.readline()).decode()
        if not line.startswith(LISTENING_PREFIX):
            raise RuntimeError(f"the sandbox did not start: {line!r}")
        # Nobody reads the rest; a full pipe must never block the sandbox.
        drain = asyncio.create_task(_discard(process.stdout))
        try:
            yield line[len(LISTENING_PREFIX) :].strip()
        finally:
            drain.cancel()
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                async with asyncio.timeout(10):
                    await process.wait()
            except TimeoutError:
                process.kill()
                await process.wait()


async def _discard(stream: asyncio.StreamReader) -> None:
    while await stream.read(65536):
        pass


async def sandbox_companies(url: str, wanted: int) -> list[tuple[int, str]]:
    """(id, name) of `wanted` companies spread over the sandbox's pages, read over its CATS API."""
    headers = {"Authorization": f"Token {DEMO_API_KEY}"}
    found: list[tuple[int, str]] = []
    async with aiohttp.ClientSession(headers=headers) as http:
        for page in range(1, 31):
            async with http.get(
                f"{url}/companies", params={"per_page": "100", "page": str(page)}
            ) as response:
                body = await response.json()
            items = body.get("_embedded", {}).get("companies", [])
            found += [(int(c["id"]), str(c["name"])) for c in items[:: max(1, 100 * 30 // wanted)]]
            if len(items) < 100 or len(found) >= wanted:
                break
    return found[:wanted]


async def lookup_round(
    clients: list[NativeClient], names: list[tuple[int, str]], latencies: Latencies, errors: list[str]
) -> None:
    """CONCURRENT lookups at once, spread over the clients; each timed and checked against its company."""

    async def one(client: NativeClient, company_id: int, name: str) -> None:
        started = time.perf_counter()
        reply = await client.call("company.lookup", {"name": name})
        latencies.samples.append(time.perf_counter() - started)
        if not reply.get("ok"):
            errors.append(f"lookup {name!r} refused: {reply.get('error')}")
            return
        match = reply["data"].get("match") or {}
        if match.get("company_id") != company_id:
            errors.append(f"lookup {name!r} answered {match.get('company_id')}, not {company_id}")

    await asyncio.gather(*(one(clients[n % len(clients)], *names[n % len(names)]) for n in range(CONCURRENT)))


async def _sync_state(client: NativeClient) -> JsonObject:
    status, state = await client.request("GET", "/api/sync")
    if status != 200:
        raise RuntimeError(f"GET /api/sync answered {status}: {state}")
    return dict(state)


async def _full_sync(client: NativeClient, figures: Figures | None, limit: float) -> None:
    """Start a full sync and wait for it to end; its duration and pages go to `figures`."""
    before = await _sync_state(client)
    started = time.perf_counter()
    status, body = await client.request("POST", "/api/sync", {"full": True})
    if status != 202:
        raise RuntimeError(f"the full sync did not start: {status} {body}")
    last_before = before.get("last_full_success_at")
    async with asyncio.timeout(limit):
        while True:
            state = await _sync_state(client)
            if not state["running"] and state.get("last_full_success_at") != last_before:
                break
            if not state["running"] and state.get("last_error"):
                raise RuntimeError(f"the full sync failed: {state['last_error']}")
            await asyncio.sleep(0.05)
    if figures is not None:
        figures.sync_seconds = time.perf_counter() - started


async def _push_batch(client: NativeClient, scenario: Scenario, figures: Figures) -> None:
    """People join an on-add campaign with a note each; wait until the outbox has sent them all."""
    started = time.perf_counter()
    campaign = await client.data("campaign.create", {"name": "Concurrency", "sync_trigger": "on_add"})
    for index in range(scenario.pushes):
        person = {
            "first_name": f"Busy{index}",
            "last_name": "Worker",
            "emails": [f"busy{index}@concurrency.example"],
        }
        for message_type, params in (
            ("campaign.add_member", {"campaign_id": campaign["id"], "person": person}),
            (
                "event.record",
                {
                    "campaign_id": campaign["id"],
                    "person": person,
                    "type": "outreach",
                    "outreach": "email_sent",
                    "text": f"busy note {index}",
                },
            ),
        ):
            reply = await client.call(message_type, params)
            if not reply.get("ok"):
                figures.errors.append(f"{message_type} refused: {reply.get('error')}")
    while True:
        counts = (await client.data("outbox.list", {"limit": 1}))["counts"]
        if not any(counts.get(status, 0) for status in _PENDING):
            break
        await asyncio.sleep(0.05)
    items = await outbox_items(client)
    figures.push_items = len(items)
    figures.push_seconds = time.perf_counter() - started
    by_person: dict[int, list[str]] = {}
    for item in items:
        by_person.setdefault(int(item["person_id"]), []).append(str(item["status"]))
        if item["status"] != "synced":
            figures.errors.append(f"outbox item {item['id']} ended {item['status']}: {item.get('error')}")
    figures.pushes_synced = sum(all(s == "synced" for s in statuses) for statuses in by_person.values())


async def run_scenario(scenario: Scenario, *, say: Callable[[str], None] | None = None) -> Figures:
    """Run the whole scenario (module docstring) and return its figures."""
    tell = say or (lambda _: None)
    figures = Figures(scenario)
    async with sandbox_process(scenario.companies, scenario.seed) as url:
        with tempfile.TemporaryDirectory(prefix="cats-concurrency-") as scratch:
            home = Path(scratch)
            key_file = write_key_file(home / "cats.key", DEMO_API_KEY)
            daemon = DaemonProcess(home, cats_url=url, key_file=key_file, cats_timeout=CATS_TIMEOUT)
            await daemon.start()
            clients = [NativeClient(daemon) for _ in range(CLIENTS)]
            control = NativeClient(daemon)
            try:
                tell(f"filling the cache: full sync of {scenario.companies} companies")
                await _full_sync(control, None, scenario.load_timeout)
                names = await _expected_answers(clients[0], url)
                tell(f"idle: {IDLE_ROUNDS} rounds of {CONCURRENT} concurrent lookups")
                for _ in range(IDLE_ROUNDS):
                    await lookup_round(clients, names, figures.idle, figures.errors)
                    await asyncio.sleep(ROUND_PAUSE)
                tell("loaded: full sync and push batch, with the same rounds of lookups")
                await _loaded(daemon, clients, control, scenario, names, figures)
            finally:
                for client in [*clients, control]:
                    await client.close()
                await daemon.stop()
                scanned = scan_log(daemon.log_path)
                figures.db_locked, figures.log_errors = scanned["db_locked"], scanned["log_errors"]
                if figures.db_locked:
                    figures.errors.append("'database is locked' in the daemon's log")
    return figures


async def _expected_answers(client: NativeClient, url: str) -> list[tuple[int, str]]:
    """Companies whose lookup by name, idle, finds that very company (look-alike names are left out)."""
    kept = []
    for company_id, name in await sandbox_companies(url, SAMPLE):
        reply = await client.call("company.lookup", {"name": name})
        if reply.get("ok") and (reply["data"].get("match") or {}).get("company_id") == company_id:
            kept.append((company_id, name))
    if len(kept) < SAMPLE // 2:
        raise RuntimeError(f"only {len(kept)} of {SAMPLE} sampled companies are found by name when idle")
    return kept


async def _loaded(
    daemon: DaemonProcess,
    clients: list[NativeClient],
    control: NativeClient,
    scenario: Scenario,
    names: list[tuple[int, str]],
    figures: Figures,
) -> None:
    pusher = NativeClient(daemon)
    load = asyncio.gather(
        _full_sync(control, figures, scenario.load_timeout),
        _push_batch(pusher, scenario, figures),
    )
    try:
        rounds = 0
        async with asyncio.timeout(scenario.load_timeout):
            while not load.done() or rounds < MIN_LOADED_ROUNDS:
                await lookup_round(clients, names, figures.loaded, figures.errors)
                rounds += 1
                # A breath between rounds: recruiters click, they do not flood; the load must progress.
                await asyncio.sleep(ROUND_PAUSE)
            await load
    except BaseException:
        load.cancel()
        raise
    finally:
        await pusher.close()


def environment_note() -> str:
    return f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}"


__all__ = ["Figures", "Latencies", "Scenario", "environment_note", "run_scenario"]


# --- `cats-companion bench concurrency` ------------------------------------------------------------

#: The test's floor: a loaded lookup under 50 ms is instant whatever the idle p99.
FLOOR = 0.05


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "concurrency",
        help="lookups from several clients during a full sync and a push batch: idle vs loaded latency",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--companies", type=int, default=5000, help="companies in the sandbox (default 5000)")
    parser.add_argument("--pushes", type=int, default=200, help="people in the push batch (default 200)")
    parser.add_argument("--seed", type=int, default=11, help="random seed of the sandbox data (default 11)")
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    parser.set_defaults(func=run, parser=parser)


def run(args: argparse.Namespace) -> int:
    scenario = Scenario(companies=args.companies, pushes=args.pushes, seed=args.seed, load_timeout=600)
    figures = asyncio.run(run_scenario(scenario, say=lambda line: print(line, file=sys.stderr, flush=True)))
    bound = max(10 * figures.idle.p99, FLOOR)
    print(f"concurrency: {environment_note()}")
    print(figures.table())
    print(
        f"bound: slowest loaded lookup <= max(10 x idle p99, {FLOOR * 1000:.0f} ms) = {bound * 1000:.1f} ms"
    )
    for error in figures.errors[:20]:
        print(f"error: {error}")
    ok = not figures.errors and figures.db_locked == 0 and figures.loaded.max <= bound
    if args.json:
        summary = {
            "companies": args.companies,
            "pushes": args.pushes,
            "pushes_synced": figures.pushes_synced,
            "idle_lookups": len(figures.idle.samples),
            "loaded_lookups": len(figures.loaded.samples),
            **{
                f"{phase}_{name}_ms": round(getattr(getattr(figures, phase), name) * 1000, 2)
                for phase in ("idle", "loaded")
                for name in ("p50", "p99", "max")
            },
            "sync_seconds": round(figures.sync_seconds, 2),
            "push_seconds": round(figures.push_seconds, 2),
            "db_locked": figures.db_locked,
            "errors": len(figures.errors),
            "ok": ok,
        }
        print(json.dumps(summary, sort_keys=True))
    return 0 if ok else 1
