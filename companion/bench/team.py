"""`cats-companion bench team`: a team of companion daemons on one PostgreSQL and one CATS, measured.

The scenario, in a temporary directory:

* **Baseline.** One companion alone (no team) syncs the companies of a CATS sandbox seeded with
  `--companies`; the sandbox counts the requests.
* **The team.** A private PostgreSQL cluster (companion.team.local_cluster), a team in it and
  `--members` daemons, each its own process with its own SQLite file and runtime dir
  (companion.bench.team_world), against a second sandbox with the same data and the account's hourly
  limit (`--rate-limit`, 500 by default). Every member syncs at start; the team's election lets one
  of them call CATS and the others replicate. The requests CATS received until every member holds
  every company are the team's sync requests, compared with the baseline's.
* **Replication.** Rounds of new companies created in CATS and synced by the syncer; the lag is each
  other member's time of applying the round's last change (its status's `team.replication`) minus
  the time that change was written in the team's database (one clock: one machine).
* **Pushes.** `--pushes` pushes of people, each person pushed by two members at the same moment, known
  by their LinkedIn URL spelt two ways and no email (nothing CATS itself would call a duplicate)
  (joining the member's on-add campaign, then an outreach with a note of that member's own). Once
  every outbox drained (or the deadline passed), the sandbox's own records and notes are counted:
  a person's second record, or a note's second copy, is a duplicate; a person or a note missing
  is lost.
* **Policy.** The admin writes the team policy (companion.team.policy.write_policy) several times;
  each member's status is polled for `team.policy.revision` reaching the new revision (a daemon
  that does not report it is counted as not applying it; every wait is bounded).
* **Failover.** The elected syncer is killed with SIGKILL; the time until another member's status
  says it is the syncer.
* **Offline.** The sandbox and the PostgreSQL cluster are stopped: a member's network to both is
  cut. Company lookups on it must give the answers they gave online, from its local cache.

It prints each figure beside the baseline or the target, with pass or fail; `--json` prints one
JSON object as the last line. The exit status is 0 when every target is met.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import logging
import math
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from companion.bench.soak import DaemonProcess, NativeClient, outbox_items, write_key_file
from companion.bench.team_world import CATS_TIMEOUT, TeamMember, TeamWorld, wait_for
from companion.errors import CompanionError
from companion.protocol import JsonObject
from companion.team.policy import read_policy, write_policy

if TYPE_CHECKING:
    from companion.sandbox.app import RunningSandbox, SandboxConfig

DEFAULT_MEMBERS: Final = 5
DEFAULT_COMPANIES: Final = 5_000
DEFAULT_PUSHES: Final = 200
DEFAULT_RATE_LIMIT: Final = 500
DEFAULT_DEADLINE: Final = 300.0
#: Members pushing the same person at the same moment.
PUSHERS_PER_PERSON: Final = 2
#: People pushed at once (each by PUSHERS_PER_PERSON members).
PUSH_CONCURRENCY: Final = 4
REPLICATION_ROUNDS: Final = 5
NEW_COMPANIES_PER_ROUND: Final = 3
POLICY_CHANGES: Final = 10
OFFLINE_LOOKUPS: Final = 20
#: The targets of issue #13.
SYNC_RATIO_TARGET: Final = 1.05
POLICY_TARGET_MS: Final = 1000.0
FAILOVER_TARGET_S: Final = 15.0
#: Bounds on the waits of each phase (seconds).
POLICY_WAIT: Final = 5.0
FAILOVER_WAIT: Final = 60.0
OFFLINE_WAIT: Final = 20.0
REPLICATION_WAIT: Final = 60.0
_POLL: Final = 0.02
_PENDING: Final = ("queued", "sending", "waiting")
POLICY_SETTING: Final = "general.company_warning_level"


@dataclass(frozen=True)
class TeamBenchConfig:
    members: int = DEFAULT_MEMBERS
    companies: int = DEFAULT_COMPANIES
    pushes: int = DEFAULT_PUSHES
    rate_limit: int = DEFAULT_RATE_LIMIT
    #: Seconds for each long wait (a sync, the outboxes draining).
    deadline: float = DEFAULT_DEADLINE
    seed: int = 7


@dataclass
class TeamBenchResult:
    members: int
    companies: int
    sync_requests_team: int | None = None
    sync_requests_single: int | None = None
    sync_seconds_team: float | None = None
    sync_seconds_single: float | None = None
    pushes: int = 0
    people: int = 0
    pushes_accepted: int = 0
    pushes_pending: int = 0
    duplicate_records: int = 0
    duplicate_notes: int = 0
    lost: int = 0
    records_expected: int = 0
    records_found: int = 0
    notes_expected: int = 0
    notes_found: int = 0
    push_requests: int = 0
    requests_total: int = 0
    rate_limited: int = 0
    policy_changes: int = 0
    policy_applied: int = 0
    policy_propagation_p50_ms: float | None = None
    policy_propagation_p99_ms: float | None = None
    replication_samples: int = 0
    replication_lag_p50_ms: float | None = None
    replication_lag_p99_ms: float | None = None
    failover_seconds: float | None = None
    offline_lookups: int = 0
    offline_lookups_ok: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def checks(self) -> list[tuple[str, bool]]:
        """Each target of issue #13 and whether this run met it."""
        sync_ok = (
            self.sync_requests_team is not None
            and self.sync_requests_single is not None
            and self.sync_requests_team <= SYNC_RATIO_TARGET * self.sync_requests_single + 1
        )
        return [
            ("sync requests", sync_ok),
            ("duplicates", self.duplicate_records == 0 and self.duplicate_notes == 0),
            (
                "lost",
                self.lost == 0
                and self.pushes_pending == 0
                and self.notes_found == self.notes_expected
                and self.pushes_accepted == self.pushes,
            ),
            ("429s", self.rate_limited == 0),
            (
                "policy",
                self.policy_propagation_p99_ms is not None
                and self.policy_applied == self.policy_changes * self.members
                and self.policy_propagation_p99_ms <= POLICY_TARGET_MS,
            ),
            ("failover", self.failover_seconds is not None and self.failover_seconds <= FAILOVER_TARGET_S),
            ("offline", self.offline_lookups > 0 and self.offline_lookups_ok == self.offline_lookups),
        ]

    @property
    def met(self) -> bool:
        return all(ok for _, ok in self.checks())


def percentile(values: Sequence[float], share: float) -> float | None:
    """Nearest-rank percentile (share in 0-1); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return round(ordered[rank - 1], 1)


async def team_bench(config: TeamBenchConfig, *, say: Callable[[str], None] | None = None) -> TeamBenchResult:
    """Run the scenario (module docstring); every wait is bounded."""
    tell = say or (lambda _: None)
    started = time.monotonic()
    result = TeamBenchResult(members=config.members, companies=config.companies)
    with tempfile.TemporaryDirectory(prefix="cats-bench-team-") as scratch:
        root = Path(scratch)
        tell(f"baseline: one companion alone syncing {config.companies:,} companies")
        result.sync_requests_single, result.sync_seconds_single = await _single_sync(config, root / "single")
        await _team_run(config, root / "team", result, tell)
    result.seconds = round(time.monotonic() - started, 1)
    return result


def _sandbox_config(config: TeamBenchConfig) -> SandboxConfig:
    from companion.sandbox.app import SandboxConfig

    return SandboxConfig(seed=config.companies, seed_random=config.seed, rate_limit=config.rate_limit)


async def _single_sync(config: TeamBenchConfig, home: Path) -> tuple[int | None, float | None]:
    """One companion alone on the same data: the CATS requests of its first sync and its duration."""
    from companion.sandbox.app import start_sandbox

    sandbox = await start_sandbox(_sandbox_config(config))
    try:
        await asyncio.to_thread(home.mkdir, mode=0o700, parents=True)
        key_file = write_key_file(home / "cats.key", sandbox.api_key)
        daemon = DaemonProcess(
            home,
            cats_url=sandbox.url,
            key_file=key_file,
            cats_timeout=CATS_TIMEOUT,
            options=["--sync-at-start"],
        )
        sandbox.parts.counters.reset()
        begun = time.monotonic()
        await daemon.start()
        try:
            done = await wait_for(
                lambda: _synced(NativeClient(daemon), config.companies), seconds=config.deadline
            )
        finally:
            await daemon.stop()
        if not done:
            return None, None
        return int(sandbox.parts.counters.total), round(time.monotonic() - begun, 2)
    finally:
        await sandbox.close()


async def _synced(client: NativeClient, companies: int) -> bool:
    """The member's cache holds every company and no sync is running."""
    try:
        state = await client.data("sync.state")
    finally:
        await client.close()
    return int(state["companies_in_cache"]) >= companies and not state["running"]


async def _team_run(
    config: TeamBenchConfig, root: Path, result: TeamBenchResult, tell: Callable[[str], None]
) -> None:
    from companion.sandbox.app import start_sandbox

    sandbox = await start_sandbox(_sandbox_config(config))
    sandbox_open = True
    try:
        await asyncio.to_thread(root.mkdir, mode=0o700)
        names = [f"member{index}" for index in range(config.members)]
        world = await TeamWorld.create(
            root, cats_url=sandbox.url, api_key=sandbox.api_key, names=names, say=tell
        )
        try:
            counters = sandbox.parts.counters
            counters.reset()
            begun = time.monotonic()
            await world.start()
            tell(f"{config.members} daemons started; waiting for every member to hold every company")
            everyone = await wait_for(
                lambda: _all(world.members, lambda m: _synced(m.client(), config.companies)),
                seconds=config.deadline,
            )
            if everyone:
                result.sync_requests_team = counters.total
                result.sync_seconds_team = round(time.monotonic() - begun, 2)
            else:
                result.notes.append(f"the team did not hold every company within {config.deadline:.0f} s")
            tell("replication rounds")
            await _replication(world, sandbox.store, result)
            tell(f"pushes: {config.pushes}, each person by {PUSHERS_PER_PERSON} members at once")
            before_pushes = counters.total
            await _pushes(world, sandbox.store, config, result)
            result.push_requests = counters.total - before_pushes
            tell("policy changes by the admin")
            await _policy(world, result)
            tell("failover: SIGKILL of the elected syncer")
            await _failover(world, result)
            result.requests_total = counters.total
            result.rate_limited = int(counters.snapshot()["rate_limited"])
            tell("offline: the sandbox and PostgreSQL stopped; lookups on a member")
            sandbox_open = False
            await _offline(world, sandbox, result)
        finally:
            await world.close()
    finally:
        if sandbox_open:
            await sandbox.close()


async def _all(members: Sequence[TeamMember], check: Callable[[TeamMember], Awaitable[bool]]) -> bool:
    return all(await asyncio.gather(*(check(member) for member in members)))


async def _status(member: TeamMember) -> JsonObject:
    return await member.ask("status")


# --- replication ----------------------------------------------------------------------------------------


async def _replication(world: TeamWorld, store: Any, result: TeamBenchResult) -> None:
    """Rounds of companies created in CATS and synced by the syncer: for each other member, the time from
    the round's last change written in the team's database (its `changed_at`) to the member applying it
    into its SQLite (its status's `last_applied_at`); one machine, one clock."""
    lags: list[float] = []
    owner = int(store.list_users(1, 1).items[0]["id"])
    for round_no in range(REPLICATION_ROUNDS):
        syncer = await _syncer(world.members)
        if syncer is None:
            result.notes.append("replication: no member says it is the syncer")
            return
        names = [f"Bench Replication {round_no}-{number} Ltd" for number in range(NEW_COMPANIES_PER_ROUND)]
        for name in names:
            store.create_record("companies", {"name": name, "owner_id": owner})
        await syncer.ask("sync.start", {})
        change = await wait_for(
            functools.partial(_last_change, world, names), seconds=REPLICATION_WAIT, interval=_POLL
        )
        if change is None:
            result.notes.append(f"replication round {round_no + 1}: the syncer did not publish the companies")
            continue
        change_no, changed_at = change
        followers = [m for m in world.members if m is not syncer]

        async def applied(
            followers: list[TeamMember] = followers, change_no: int = change_no
        ) -> list[Any] | None:
            views = [(await _status(m))["team"]["replication"] for m in followers]
            done = all((v["applied_change_no"] or 0) >= change_no for v in views)
            return views if done else None

        views = await wait_for(applied, seconds=REPLICATION_WAIT, interval=_POLL)
        if views is None:
            result.notes.append(f"replication round {round_no + 1}: not every member applied the change")
            continue
        for view in views:
            lag = datetime.fromisoformat(view["last_applied_at"]) - changed_at
            lags.append(max(0.0, lag.total_seconds() * 1000))
    result.replication_samples = len(lags)
    result.replication_lag_p50_ms = percentile(lags, 0.5)
    result.replication_lag_p99_ms = percentile(lags, 0.99)


async def _last_change(world: TeamWorld, names: Sequence[str]) -> tuple[int, datetime] | None:
    """The change number and time of the last of `names` written to the team's companies, once all are."""
    conn = await world.cluster.connect(world.admin_dsn.database)
    try:
        rows = await conn.fetch(
            "SELECT change_no, changed_at FROM cats_companion.companies"
            " WHERE data->>'name' = ANY($1::text[])",
            list(names),
        )
    finally:
        await conn.close(timeout=5)
    if len(rows) < len(names):
        return None
    last = max(rows, key=lambda row: int(row["change_no"]))
    return int(last["change_no"]), last["changed_at"]


async def _syncer(members: Sequence[TeamMember]) -> TeamMember | None:
    found = await _syncers(members)
    return found[0] if found else None


async def _syncers(members: Sequence[TeamMember]) -> list[TeamMember]:
    """The running members whose status says they are the team's syncer."""
    found = []
    for member in members:
        if not member.daemon.up.is_set():
            continue
        with contextlib.suppress(Exception):
            if (await _status(member))["team"]["is_syncer"]:
                found.append(member)
    return found


# --- pushes ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Push:
    person: int
    member: int

    @property
    def first_name(self) -> str:
        return f"Team{self.person}"

    @property
    def linkedin(self) -> str:
        """The person's LinkedIn page as this member's browser showed it: the usual case, a URL and no
        email, so CATS's own duplicate check cannot tell two creates apart and only the team's
        claims can (the spellings differ by member; companion.rules.urls makes them one person)."""
        slug = f"team-bench-{self.person}"
        return (
            f"https://www.linkedin.com/in/{slug}",
            f"https://uk.linkedin.com/in/{slug}/?trk=public_profile_browsemap",
            f"http://linkedin.com/in/{slug}/",
        )[self.member % 3]

    @property
    def token(self) -> str:
        """Text only this push's note holds (brackets: `[t-1-0]` is not inside `[t-11-0]`)."""
        return f"[team-{self.person}-m{self.member}]"


def plan_pushes(pushes: int, members: int) -> list[list[_Push]]:
    """Pushes grouped by person: each person pushed by up to PUSHERS_PER_PERSON members, in turn."""
    per_person = min(PUSHERS_PER_PERSON, members)
    groups: list[list[_Push]] = []
    planned = 0
    person = 0
    while planned < pushes:
        size = min(per_person, pushes - planned)
        groups.append([_Push(person, (person + k) % members) for k in range(size)])
        planned += size
        person += 1
    return groups


async def _pushes(world: TeamWorld, store: Any, config: TeamBenchConfig, result: TeamBenchResult) -> None:
    members = world.members
    campaigns: list[int] = []
    for member in members:
        view = await member.ask(
            "campaign.create", {"name": "Team bench", "sync_trigger": "on_add", "record_type": "candidates"}
        )
        campaigns.append(int(view["id"]))
    groups = plan_pushes(config.pushes, len(members))
    result.pushes = sum(len(group) for group in groups)
    result.people = len(groups)
    accepted: list[_Push] = []
    #: Each accepted push's person in its member's companion (the outbox items name it).
    local_ids: dict[_Push, int] = {}
    clients = [member.client() for member in members]
    gate = asyncio.Semaphore(PUSH_CONCURRENCY)

    async def push(item: _Push) -> None:
        client = clients[item.member]
        person: JsonObject = {
            "first_name": item.first_name,
            "last_name": "Bench",
            "title": "Engineer",
            "linkedin": item.linkedin,
            "source": "Companion team bench",
        }
        campaign = campaigns[item.member]
        joined = await client.call(
            "campaign.add_member",
            {
                "id": f"{item.token}-added",
                "campaign_id": campaign,
                "person": person,
                "record_type": "candidates",
            },
        )
        if not joined.get("ok"):
            result.notes.append(f"push {item.token} refused: {joined.get('error')}")
            return
        noted = await client.call(
            "event.record",
            {
                "id": f"{item.token}-outreach",
                "campaign_id": campaign,
                "person": person,
                "type": "outreach",
                "outreach": "email_sent",
                "text": f"Team bench outreach {item.token}",
            },
        )
        if noted.get("ok"):
            accepted.append(item)
            local_ids[item] = int(noted["data"]["person_id"])
        else:
            result.notes.append(f"push {item.token} refused: {noted.get('error')}")

    async def person(group: list[_Push]) -> None:
        async with gate:
            # The same person by several members at the same moment.
            await asyncio.gather(*(push(item) for item in group))

    try:
        await asyncio.gather(*(person(group) for group in groups))
    finally:
        for client in clients:
            await client.close()
    result.pushes_accepted = len(accepted)

    async def drained() -> bool:
        counts = await asyncio.gather(*(m.ask("outbox.list", {"limit": 1}) for m in members))
        result.pushes_pending = sum(int(c["counts"].get(s, 0)) for c in counts for s in _PENDING)
        return result.pushes_pending == 0

    waiting: set[_Push] = set()
    if not await wait_for(drained, seconds=config.deadline, interval=0.2):
        result.notes.append(
            f"{result.pushes_pending} outbox items still pending (waiting for CATS's rate limit, or "
            f"retrying) after {config.deadline:.0f} s: not lost, not in CATS yet"
        )
        waiting = await _still_pending(members, accepted, local_ids)
    _reconcile(result, store, accepted, waiting)


async def _still_pending(
    members: Sequence[TeamMember], accepted: Sequence[_Push], local_ids: dict[_Push, int]
) -> set[_Push]:
    """The accepted pushes some of whose outbox items are still to be sent."""
    pending: set[tuple[int, int]] = set()
    for index, member in enumerate(members):
        client = member.client()
        try:
            items = await outbox_items(client)
        finally:
            await client.close()
        pending |= {(index, int(item["person_id"])) for item in items if item["status"] in _PENDING}
    return {item for item in accepted if (item.member, local_ids.get(item, -1)) in pending}


def _reconcile(result: TeamBenchResult, store: Any, accepted: Sequence[_Push], waiting: set[_Push]) -> None:
    """Count records and notes in the sandbox's own store: one record per person, each accepted note once.

    What is missing from CATS is lost unless its outbox item is still waiting to be sent (`waiting`:
    the drain's deadline passed first), which is counted apart as `pushes_pending`."""
    by_person: dict[int, list[_Push]] = {}
    for item in accepted:
        by_person.setdefault(item.person, []).append(item)
    result.records_expected = len(by_person)
    result.notes_expected = len(accepted)
    for items in by_person.values():
        hits = store.search_records(
            "candidates",
            filter={"field": "first_name", "filter": "exactly", "value": items[0].first_name},
            per_page=100,
        ).items
        texts = [
            activity.get("notes") or ""
            for hit in hits
            for activity in store.list_record_activities("candidates", hit["id"], 1, 100).items
        ]
        result.records_found += min(len(hits), 1)
        result.duplicate_records += max(0, len(hits) - 1)
        result.lost += 0 if hits or any(item in waiting for item in items) else 1
        for item in items:
            copies = sum(item.token in text for text in texts)
            result.notes_found += min(copies, 1)
            result.duplicate_notes += max(0, copies - 1)
            result.lost += 0 if copies or item in waiting else 1


# --- policy ---------------------------------------------------------------------------------------------


async def _policy(world: TeamWorld, result: TeamBenchResult) -> None:
    """The admin's changes, and when each member's status reports the new revision."""
    probe = (await _status(world.members[0]))["team"]
    if not isinstance(probe.get("policy"), dict) or "revision" not in probe["policy"]:
        result.notes.append("policy: the daemon's status has no team.policy.revision; not measured")
        return
    samples: list[float] = []
    for change in range(POLICY_CHANGES):
        current = await read_policy(world.admin_dsn, world.admin_password)
        document = {
            "version": 1,
            "defaults": {POLICY_SETTING: "exact" if change % 2 == 0 else "similar"},
            "locked": [POLICY_SETTING],
        }
        row = await write_policy(
            world.admin_dsn, world.admin_password, document, expected_revision=current.revision
        )
        written = time.monotonic()
        result.policy_changes += 1
        waits = await asyncio.gather(*(_revision_reached(m, row.revision, written) for m in world.members))
        applied = [w for w in waits if w is not None]
        result.policy_applied += len(applied)
        samples.extend(applied)
    missed = result.policy_changes * len(world.members) - result.policy_applied
    if missed:
        result.notes.append(f"policy: {missed} member-changes not applied within {POLICY_WAIT:.0f} s")
    result.policy_propagation_p50_ms = percentile(samples, 0.5)
    # Missed changes count as never: no p99 when some member did not apply one.
    result.policy_propagation_p99_ms = percentile(samples, 0.99) if not missed else None


async def _revision_reached(member: TeamMember, revision: int, written: float) -> float | None:
    async def reached() -> bool:
        policy = (await _status(member))["team"].get("policy") or {}
        return isinstance(policy.get("revision"), int) and policy["revision"] >= revision

    if await wait_for(reached, seconds=POLICY_WAIT, interval=_POLL):
        return (time.monotonic() - written) * 1000
    return None


# --- failover and offline -------------------------------------------------------------------------------


async def _failover(world: TeamWorld, result: TeamBenchResult) -> None:
    claiming = await _syncers(world.members)
    if len(claiming) != 1:
        # The election allows one; more would be a split brain, none a team that stopped syncing.
        result.notes.append(f"failover: {len(claiming)} members said they were the syncer before the kill")
    syncer = claiming[0] if claiming else None
    if syncer is None:
        return
    others = [m for m in world.members if m is not syncer]
    if not others:
        result.notes.append("failover: a team of one has nobody to take over")
        return
    await syncer.daemon.kill()
    killed = time.monotonic()

    async def taken_over() -> bool:
        found = await _syncer(others)
        return found is not None

    if await wait_for(taken_over, seconds=FAILOVER_WAIT, interval=0.05):
        result.failover_seconds = round(time.monotonic() - killed, 2)
    else:
        result.notes.append(f"failover: nobody took over within {FAILOVER_WAIT:.0f} s")


async def _offline(world: TeamWorld, sandbox: RunningSandbox, result: TeamBenchResult) -> None:
    """Lookups on a member while neither CATS nor PostgreSQL answers: the same answers as online.

    Closes the sandbox, whatever happens."""
    try:
        member = next((m for m in world.members if m.daemon.up.is_set()), None)
        names = [str(c["name"]) for c in sandbox.store.list_records("companies", 1, OFFLINE_LOOKUPS).items]
        online = [await _lookup(member, name) for name in names] if member is not None else []
    finally:
        await sandbox.close()
    if member is None or not names:
        result.notes.append("offline: no running member or no company to look up")
        return
    await asyncio.to_thread(world.cluster.stop)

    async def cut_off() -> bool:
        state: object = (await _status(member))["team"]["state"]
        return state != "connected"

    if not await wait_for(cut_off, seconds=OFFLINE_WAIT, interval=0.1):
        result.notes.append("offline: the member still says it is connected to the team")
    result.offline_lookups = len(names)
    for name, expected in zip(names, online, strict=True):
        with contextlib.suppress(Exception):
            if expected is not None and await _lookup(member, name) == expected:
                result.offline_lookups_ok += 1


async def _lookup(member: TeamMember, name: str) -> int | None:
    data = await member.ask("company.lookup", {"name": name})
    match = data.get("match")
    return int(match["company_id"]) if isinstance(match, dict) else None


# --- the command ----------------------------------------------------------------------------------------


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "team",
        help="a team of daemons on one PostgreSQL and one CATS: sync requests, pushes, policy, failover",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--members", type=_at_least(1), default=DEFAULT_MEMBERS, help=f"daemons (default {DEFAULT_MEMBERS})"
    )
    parser.add_argument(
        "--companies",
        type=_at_least(1),
        default=DEFAULT_COMPANIES,
        help=f"companies in CATS (default {DEFAULT_COMPANIES:,})",
    )
    parser.add_argument(
        "--pushes", type=_at_least(0), default=DEFAULT_PUSHES, help=f"pushes (default {DEFAULT_PUSHES})"
    )
    parser.add_argument(
        "--rate-limit",
        type=_at_least(0),
        default=DEFAULT_RATE_LIMIT,
        help=f"the sandbox's requests per rolling hour, the account's limit (default {DEFAULT_RATE_LIMIT})",
    )
    parser.add_argument(
        "--deadline",
        type=float,
        default=DEFAULT_DEADLINE,
        metavar="SECONDS",
        help=f"the longest wait for a sync or the outboxes to drain (default {DEFAULT_DEADLINE:.0f})",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    parser.set_defaults(func=run)


def _at_least(low: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        if not text.isdigit() or int(text) < low:
            raise argparse.ArgumentTypeError(f"expected a whole number of at least {low}, not {text!r}")
        return int(text)

    return parse


def run(args: argparse.Namespace) -> int:
    if args.deadline <= 0:
        print("cats-companion bench team: --deadline must be positive", file=sys.stderr)
        return 2
    config = TeamBenchConfig(
        members=args.members,
        companies=args.companies,
        pushes=args.pushes,
        rate_limit=args.rate_limit,
        deadline=args.deadline,
    )
    print(
        f"bench team: {config.members} members, {config.companies:,} companies, {config.pushes} pushes, "
        f"sandbox limit {config.rate_limit}/h",
        flush=True,
    )
    quieted = logging.getLogger("companion")
    level = quieted.level
    quieted.setLevel(logging.ERROR)
    try:
        result = asyncio.run(
            team_bench(config, say=lambda line: print(f"  {line}", file=sys.stderr, flush=True))
        )
    except CompanionError as exc:
        print(f"cats-companion bench team: {exc.message}", file=sys.stderr)
        return 1
    finally:
        quieted.setLevel(level)
    print(report(result))
    if args.json:
        print(json.dumps(asdict(result), sort_keys=True))
    return 0 if result.met else 1


def _fmt(value: float | int | None, unit: str = "") -> str:
    if value is None:
        return "n/a"
    return f"{value:,}{unit}" if isinstance(value, int) else f"{value:,.1f}{unit}"


def report(result: TeamBenchResult) -> str:
    checks = dict(result.checks())

    def verdict(name: str) -> str:
        return "pass" if checks[name] else "FAIL"

    ratio = (
        f"{result.sync_requests_team / result.sync_requests_single:.2f}x"
        if result.sync_requests_team is not None and result.sync_requests_single
        else "n/a"
    )
    rows = [
        ("", "team", "baseline / target", ""),
        (
            "company-sync requests",
            f"{_fmt(result.sync_requests_team)} ({ratio})",
            f"{_fmt(result.sync_requests_single)} alone; <= 1.05x + 1",
            verdict("sync requests"),
        ),
        (
            "first sync, every member",
            _fmt(result.sync_seconds_team, " s"),
            _fmt(result.sync_seconds_single, " s alone"),
            "",
        ),
        (
            "pushes accepted",
            f"{result.pushes_accepted} of {result.pushes} ({result.people} people)",
            f"{result.push_requests} CATS requests",
            "",
        ),
        (
            "duplicates (records / notes)",
            f"{result.duplicate_records} / {result.duplicate_notes}",
            "0",
            verdict("duplicates"),
        ),
        (
            "records / notes found",
            f"{result.records_found}/{result.records_expected} / "
            f"{result.notes_found}/{result.notes_expected}",
            f"all; lost {result.lost}, {result.pushes_pending} outbox items pending",
            verdict("lost"),
        ),
        ("429s", f"{result.rate_limited} of {result.requests_total} requests", "0", verdict("429s")),
        (
            "policy applied p50 / p99",
            f"{_fmt(result.policy_propagation_p50_ms, ' ms')} / "
            f"{_fmt(result.policy_propagation_p99_ms, ' ms')}",
            f"p99 <= 1,000 ms ({result.policy_applied} of {result.policy_changes * result.members} applied)",
            verdict("policy"),
        ),
        (
            "replication lag p50 / p99",
            f"{_fmt(result.replication_lag_p50_ms, ' ms')} / {_fmt(result.replication_lag_p99_ms, ' ms')}",
            f"{result.replication_samples} samples",
            "",
        ),
        ("failover after SIGKILL", _fmt(result.failover_seconds, " s"), "<= 15 s", verdict("failover")),
        (
            "offline lookups",
            f"{result.offline_lookups_ok} of {result.offline_lookups} as online",
            "all",
            verdict("offline"),
        ),
        ("wall time", _fmt(result.seconds, " s"), "", ""),
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [
        f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]:<{widths[2]}}  {row[3]}".rstrip()
        for row in rows
    ]
    lines += [f"note: {note}" for note in result.notes]
    return "\n".join(lines)
