"""`cats-companion bench soak`: pushes via a daemon killed with SIGKILL, against a faulty CATS, reconciled.

The scenario, run in a temporary directory:

* A CATS sandbox runs in THIS process, so it outlives every kill of the daemon. Its hourly limit
  is set to 100,000 so the rate budget does not dominate the run: every 429 the daemon meets is
  an injected one. A share of the people (20%) already exist in it, to exercise the merge path.
* The daemon runs as a child process with its own CATS_COMPANION_HOME and the API key in a 0600
  file (never on a command line). Its CATS client times out after 2 s, so a `hang` fault (3 s)
  is a timeout, not a stall; a `slow` fault is 0.5 s and a 429 asks for 1 s. Automatic company
  syncs are off: the soak counts pushes.
* Clients speak the daemon's native protocol over its per-user socket, as the native host relays
  the extension: each person joins an on-add campaign (`campaign.add_member`: the Candidate or
  Contact record) and gets one outreach with a note (`event.record`); half of them are also
  pushed with "Push to CATS" first (`person.push`). A message whose answer is lost in a kill is
  sent again, as the extension would; campaign events carry ids, so a repeat changes nothing.
  Four callers push at once, paced to stay at most a tenth of the people ahead of the outbox, so
  pushes keep arriving through the whole run and kills land while they are accepted and sent.
* `--fault-rate` of all CATS answers (20% by default) are faults, spread evenly over every kind
  the sandbox offers: 429 with Retry-After, 500 with an HTML body, 503, hang, reset after
  processing, slow.
* The daemon is killed with SIGKILL `--kills` times (3 by default) at seeded random moments --
  when a seeded share (5-90%) of the outbox is done, then a few milliseconds into the handling of
  a message while pushes are arriving (else up to 0.5 s later) -- and restarted each time. After
  the last restart the bench waits for the outbox to drain, within a global deadline
  (`--deadline`, 30 minutes by default; the default run takes a few minutes).

At the end it reconciles the people accepted against the sandbox's own records: records created,
duplicates (a second record for one person, or a second copy of a note), notes expected and found,
lost items (accepted but never in CATS), the requests CATS received and the 429s among them.
`--json` prints one JSON object as the last line. The exit status is 0 only when nothing was lost
or duplicated and every push was accepted before the deadline.

`python -m companion.bench.soak --daemon-child ...` is the daemon's entry point used by the bench
(and the concurrency check): `cats-companion serve` with the short client timeout.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import random
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any, Final, TypeVar

import aiohttp

from companion.nmhost.locations import HOME_ENV, DaemonInfo, read_daemon_info
from companion.nmhost.wire import CALLER_HEADER, NATIVE_PATH
from companion.protocol import JsonObject
from companion.secret_file import write_secret_file

DEFAULT_PUSHES: Final = 1000
DEFAULT_FAULT_RATE: Final = 0.2
DEFAULT_KILLS: Final = 3
DEFAULT_SEED: Final = 7
DEFAULT_DEADLINE: Final = 1800.0
#: The daemon's CATS client timeout in the soak, and a hang that outlasts it.
CLIENT_TIMEOUT: Final = 2.0
HANG_SECONDS: Final = 3.0
SLOW_SECONDS: Final = 0.5
RETRY_AFTER_SECONDS: Final = 1
#: High enough that the hourly budget never binds: the 429s are the injected ones.
SANDBOX_RATE_LIMIT: Final = 100_000
SEED_COMPANIES: Final = 12
EXISTING_SHARE: Final = 0.2
CONTACT_SHARE: Final = 0.4
#: People also pushed with "Push to CATS" before their campaign events.
CLICK_SHARE: Final = 0.5
#: Concurrent callers of the daemon (browser tabs, in effect).
SENDERS: Final = 4
#: Kills land once this range of the outbox has reached CATS (a seeded point in it each).
KILL_WINDOW: Final = (0.05, 0.9)
#: The extension id the bench's messages say they come from (the daemon's caller header).
CALLER: Final = "chrome-extension://" + "p" * 32 + "/"
DAEMON_START_TIMEOUT: Final = 30.0
DAEMON_STOP_TIMEOUT: Final = 10.0
#: How long one native call may take before the caller treats the daemon as gone.
CALL_TIMEOUT: Final = 30.0
_POLL: Final = 0.05
_CHILD_FLAG: Final = "--daemon-child"
_PENDING: Final = ("queued", "sending", "waiting")

T = TypeVar("T")


# --- the daemon in a child process ----------------------------------------------------------------------


class DaemonDown(Exception):
    """The daemon did not answer: killed, restarting, or its socket is gone."""


def write_key_file(path: Path, key: str) -> Path:
    """A key file `serve --key-file` accepts: the key alone, mode 0600, created private from the start."""
    return write_secret_file(path, key)


class DaemonProcess:
    """This user's companion daemon as a child process under `home` (its CATS_COMPANION_HOME).

    `start()` returns once the daemon answers on its socket; `kill()` is SIGKILL (nothing is
    cleaned up: a stale daemon.json, socket and locks stay behind, as after a crash); `stop()` is
    SIGTERM. Its output goes to `log_path`, appended across restarts.
    """

    def __init__(
        self,
        home: Path,
        *,
        cats_url: str,
        key_file: Path,
        cats_timeout: float = CLIENT_TIMEOUT,
        options: Sequence[str] = (),
    ) -> None:
        self.home = home
        self.log_path = home / "log" / "daemon.log"
        self._command = [
            sys.executable,
            "-m",
            "companion.bench.soak",
            _CHILD_FLAG,
            "--cats-url",
            cats_url,
            "--key-file",
            str(key_file),
            "--cats-timeout",
            str(cats_timeout),
            # The team's benches and demo: --team-password-file, --sync-at-start, --admin (_child_main).
            *options,
        ]
        self._process: asyncio.subprocess.Process | None = None
        self.info: DaemonInfo | None = None
        #: Bumped at each start, so clients know to reconnect.
        self.generation = 0
        #: Set while a started daemon is believed to answer.
        self.up = asyncio.Event()

    @property
    def run_dir(self) -> Path:
        return self.home / "run"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    async def start(self) -> DaemonInfo:
        self.log_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        env = {**os.environ, HOME_ENV: str(self.home)}
        with _append(self.log_path) as log_file:
            self._process = await asyncio.create_subprocess_exec(
                *self._command,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log_file,
                stderr=asyncio.subprocess.STDOUT,
                env=env,
            )
        process = self._process
        async with asyncio.timeout(DAEMON_START_TIMEOUT):
            while True:
                info = read_daemon_info(str(self.run_dir))
                if info is not None and info.pid == process.pid and info.socket and await _answers(info):
                    break
                if process.returncode is not None:
                    raise RuntimeError(
                        f"the daemon exited while starting (status {process.returncode}); see {self.log_path}"
                    )
                await asyncio.sleep(_POLL)
        self.info = info
        self.generation += 1
        self.up.set()
        return info

    async def kill(self) -> None:
        """SIGKILL, as a crash or the OOM killer would."""
        self.up.clear()
        process = self._process
        if process is not None and process.returncode is None:
            process.send_signal(signal.SIGKILL)
            await process.wait()

    async def stop(self) -> None:
        self.up.clear()
        process = self._process
        if process is None or process.returncode is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(DAEMON_STOP_TIMEOUT):
                await process.wait()
        except TimeoutError:
            process.kill()
            await process.wait()


def _append(path: Path) -> IO[bytes]:
    """The log file, opened for appending (a quick local open, fine on the event loop)."""
    return open(path, "ab")


async def _answers(info: DaemonInfo) -> bool:
    assert info.socket is not None
    try:
        _, writer = await asyncio.open_unix_connection(info.socket)
    except OSError:
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


class NativeClient:
    """One caller of the daemon over its Unix socket, as the native host relays the extension's messages.

    Follows the daemon across restarts: a new generation means a new socket and token.
    """

    def __init__(self, daemon: DaemonProcess, *, timeout: float = CALL_TIMEOUT) -> None:
        self._daemon = daemon
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None
        self._generation = 0
        self._ids = 0

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _http(self) -> tuple[aiohttp.ClientSession, DaemonInfo]:
        info = self._daemon.info
        if info is None or info.socket is None or not self._daemon.up.is_set():
            raise DaemonDown("the daemon is not running")
        if self._session is None or self._generation != self._daemon.generation:
            await self.close()
            self._session = aiohttp.ClientSession(
                connector=aiohttp.UnixConnector(path=info.socket), timeout=self._timeout
            )
            self._generation = self._daemon.generation
        return self._session, info

    async def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """One HTTP request over the socket with the daemon's token: (status, parsed JSON body)."""
        session, info = await self._http()
        headers = {"Authorization": f"Bearer {info.token}", CALLER_HEADER: CALLER}
        try:
            async with session.request(
                method, f"http://localhost{path}", json=body, headers=headers
            ) as response:
                return response.status, await response.json(content_type=None)
        except (aiohttp.ClientError, OSError, TimeoutError, ValueError) as exc:
            # ValueError: a body cut short by a kill is not JSON.
            raise DaemonDown(type(exc).__name__) from None

    async def call(self, message_type: str, params: JsonObject | None = None) -> JsonObject:
        """One request envelope; the reply envelope (`ok` true or false). DaemonDown when no reply came."""
        self._ids += 1
        envelope = {"id": self._ids, "type": message_type, "params": params or {}, "v": 1}
        status, reply = await self.request("POST", NATIVE_PATH, envelope)
        if status != 200 or not isinstance(reply, dict):
            raise DaemonDown(f"HTTP {status} from {NATIVE_PATH}")
        return reply

    async def data(self, message_type: str, params: JsonObject | None = None) -> JsonObject:
        """The reply's data; RuntimeError with the daemon's error code when it refused."""
        reply = await self.call(message_type, params)
        if not reply.get("ok"):
            error = reply.get("error") or {}
            raise RuntimeError(f"{message_type} refused: {error.get('code')}: {error.get('message')}")
        data: JsonObject = reply["data"]
        return data


async def outbox_items(client: NativeClient) -> list[JsonObject]:
    """Every outbox item, paged newest first with `before_id`."""
    items: list[JsonObject] = []
    before: int | None = None
    while True:
        params: JsonObject = {"limit": 500}
        if before is not None:
            params["before_id"] = before
        page = (await client.data("outbox.list", params))["items"]
        items.extend(page)
        if len(page) < 500:
            return items
        before = min(int(item["id"]) for item in page)


def scan_log(path: Path) -> dict[str, int]:
    """What the daemon's log says went wrong: "database is locked" lines and ERROR lines."""
    text = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
    lines = text.splitlines()
    return {
        "db_locked": sum("database is locked" in line for line in lines),
        "log_errors": sum(" ERROR " in line or line.startswith("Traceback") for line in lines),
    }


# --- the scenario ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SoakConfig:
    pushes: int = DEFAULT_PUSHES
    fault_rate: float = DEFAULT_FAULT_RATE
    kills: int = DEFAULT_KILLS
    seed: int = DEFAULT_SEED
    #: Seconds for the whole run, drain included.
    deadline: float = DEFAULT_DEADLINE
    #: Sandbox quirks (`companion.sandbox.quirks`); with any, the account is probed (read-only) and
    #: its profile stored for the daemon before it starts, as `cats-companion cats probe` would.
    quirks: frozenset[str] = frozenset()


@dataclass(frozen=True)
class SoakPerson:
    index: int
    record_type: str
    email: str
    first_name: str
    company_id: int | None
    company_name: str | None
    existing: bool
    clicked: bool

    @property
    def token(self) -> str:
        """Text only this person's note holds (brackets: `[s-1]` is not inside `[s-10]`)."""
        return f"[soak-{self.index}]"

    def person(self) -> JsonObject:
        data: JsonObject = {
            "first_name": self.first_name,
            "last_name": "Soak",
            "title": "Engineer",
            "emails": [self.email],
            "source": "Companion soak",
        }
        if self.company_name is not None:
            data["current_company"] = self.company_name
        return data


@dataclass
class SoakResult:
    pushes: int
    fault_rate: float
    seed: int
    accepted: int = 0
    refused: int = 0
    synced: int = 0
    items: int = 0
    failed_items: int = 0
    pending_items: int = 0
    records_expected: int = 0
    records_created: int = 0
    records_found: int = 0
    duplicates: int = 0
    notes_expected: int = 0
    notes_found: int = 0
    lost: int = 0
    requests: int = 0
    rate_limited: int = 0
    faults: dict[str, int] = field(default_factory=dict)
    kills: int = 0
    kill_points: list[float] = field(default_factory=list)
    #: Native message sends that got no answer (the daemon was down or died first) and were retried.
    resent: int = 0
    db_locked: int = 0
    log_errors: int = 0
    failures: dict[str, int] = field(default_factory=dict)
    deadline_reached: bool = False
    seconds: float = 0.0

    @property
    def clean(self) -> bool:
        return (
            self.lost == 0
            and self.duplicates == 0
            and self.accepted == self.pushes
            and not self.deadline_reached
            and self.db_locked == 0
        )


def plan_people(pushes: int, rng: random.Random, companies: Sequence[tuple[int, str]]) -> list[SoakPerson]:
    people = []
    for index in range(pushes):
        contact = rng.random() < CONTACT_SHARE
        company = rng.choice(companies) if contact else None
        people.append(
            SoakPerson(
                index=index,
                record_type="contacts" if contact else "candidates",
                email=f"soak{index}@soak.example",
                first_name=f"Soak{index}",
                company_id=company[0] if company else None,
                company_name=company[1] if company else None,
                existing=rng.random() < EXISTING_SHARE,
                clicked=rng.random() < CLICK_SHARE,
            )
        )
    return people


def _seed_existing(store: Any, people: Sequence[SoakPerson], owner: int) -> None:
    """Put the `existing` people in CATS beforehand, with an older title: their pushes merge."""
    for person in people:
        if not person.existing:
            continue
        body: JsonObject = {
            "first_name": person.first_name,
            "last_name": "Soak",
            "title": "Junior engineer",
            "emails": [{"email": person.email, "is_primary": True}],
        }
        if person.record_type == "contacts":
            body.update(company_id=person.company_id, owner_id=owner)
        store.create_record(person.record_type, body)


def _write_settings(home: Path, owner: int) -> None:
    """The recruiter's settings before the first start: contacts get a default owner (CATS requires one)."""
    from companion.settings.catalogue_store import CATALOGUE_FILE, CatalogueStore
    from companion.settings.service import SettingsService

    service = SettingsService(
        config_dir=home / "config",
        site_dir=home / "site-config",
        catalogue=CatalogueStore(home / "data" / CATALOGUE_FILE),
        environ={},
    )
    service.patch({"sync.contacts.default_owner_id": owner})


class _Run:
    """The live state of one soak: the daemon, the clients, what was accepted, the kills."""

    def __init__(
        self, config: SoakConfig, daemon: DaemonProcess, people: list[SoakPerson], say: Callable[[str], None]
    ) -> None:
        self.config = config
        self.daemon = daemon
        self.people = people
        self.say = say
        self.rng = random.Random(config.seed)
        self.deadline = time.monotonic() + config.deadline
        self.campaigns: dict[str, int] = {}
        self.person_ids: dict[int, int] = {}
        self.accepted: set[int] = set()
        self.refused: Counter[str] = Counter()
        self.resent = 0
        self.senders_done = asyncio.Event()
        self.kill_points: list[float] = []
        #: At least a record item and a note item per person (a click may add one, or be folded in).
        self.least_items = 2 * len(people)
        #: How many people the pushes may run ahead of the outbox.
        self.backlog = max(5, len(people) // 10)
        #: The outbox's counts by status, as `monitor` last read them.
        self.latest: dict[str, int] = {}
        self.updated = asyncio.Condition()
        #: Set whenever a message is about to be sent.
        self.sending = asyncio.Event()

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    async def send(self, client: NativeClient, message_type: str, params: JsonObject) -> JsonObject | None:
        """Send until a reply comes (the daemon may be down for a while); None when the deadline passes."""
        while self.remaining() > 0:
            self.sending.set()
            try:
                return await client.call(message_type, params)
            except DaemonDown:
                self.resent += 1
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(max(0.0, min(self.remaining(), 5.0))):
                        await self.daemon.up.wait()
                await asyncio.sleep(_POLL)
        return None

    async def push_person(self, client: NativeClient, person: SoakPerson) -> None:
        campaign = self.campaigns[person.record_type]
        messages: list[tuple[str, JsonObject]] = []
        company = {"company_id": person.company_id} if person.company_id is not None else {}
        if person.clicked:
            messages.append(
                ("person.push", {"person": person.person(), "record_type": person.record_type, **company})
            )
        messages.append(
            (
                "campaign.add_member",
                {
                    "id": f"soak-{person.index}-added",
                    "campaign_id": campaign,
                    "person": person.person(),
                    "record_type": person.record_type,
                    **company,
                },
            )
        )
        messages.append(
            (
                "event.record",
                {
                    "id": f"soak-{person.index}-outreach",
                    "campaign_id": campaign,
                    "person": person.person(),
                    "type": "outreach",
                    "outreach": "email_sent",
                    "text": f"Soak outreach {person.token}",
                },
            )
        )
        for message_type, params in messages:
            reply = await self.send(client, message_type, params)
            if reply is None:
                return
            if not reply.get("ok"):
                self.refused[str((reply.get("error") or {}).get("code"))] += 1
                return
            self.person_ids[person.index] = int(reply["data"]["person_id"])
        self.accepted.add(person.index)

    async def sender(self, queue: asyncio.Queue[SoakPerson]) -> None:
        client = NativeClient(self.daemon)
        try:
            while not queue.empty() and self.remaining() > 0:
                person = queue.get_nowait()
                await self.paced(person)
                await self.push_person(client, person)
        finally:
            await client.close()

    async def paced(self, person: SoakPerson) -> None:
        """Hold a person back while the pushes run more than `backlog` people ahead of the outbox.

        A recruiter does not click a thousand times in a minute: pacing keeps messages arriving
        through the whole run, so kills land while pushes are being accepted as well as sent.
        """
        async with self.updated:
            # The monitor notifies every poll, so the deadline is seen too.
            await self.updated.wait_for(
                lambda: self.remaining() <= 0 or _done(self.latest) >= 2 * (person.index - self.backlog)
            )

    async def counts(self, client: NativeClient) -> dict[str, int] | None:
        try:
            reply = await client.call("outbox.list", {"limit": 1})
        except DaemonDown:
            return None
        return dict(reply["data"]["counts"]) if reply.get("ok") else None

    async def monitor(self) -> None:
        """Keep `latest` (the outbox's counts by status) fresh for the pace and the kills, until cancelled."""
        client = NativeClient(self.daemon)
        try:
            while True:
                counts = await self.counts(client)
                async with self.updated:
                    if counts is not None:
                        self.latest = counts
                    self.updated.notify_all()
                await asyncio.sleep(0.1)
        finally:
            await client.close()

    async def killer(self) -> None:
        """SIGKILL the daemon when each seeded share of the outbox is done, and restart it."""
        points = sorted(self.rng.uniform(*KILL_WINDOW) for _ in range(self.config.kills))
        for number, point in enumerate(points, 1):
            while self.remaining() > 0:
                counts = self.latest
                if _done(counts) >= point * max(self.least_items, sum(counts.values())):
                    break
                if self.senders_done.is_set() and counts and not _pending(counts):
                    break  # drained early: kill anyway, so every restart is exercised
                await asyncio.sleep(_POLL)
            else:
                return
            await self.kill_moment()
            await self.daemon.kill()
            self.kill_points.append(round(point, 3))
            self.say(f"kill {number}/{len(points)}: SIGKILL at ~{point:.0%} of the outbox done")
            await asyncio.sleep(self.rng.uniform(0.1, 1.0))
            await self.daemon.start()
            self.say(f"restarted (pid {self.daemon.pid})")

    async def kill_moment(self) -> None:
        """Wait for a moment to kill: a few seeded milliseconds into a message's handling while pushes
        are arriving (the answer is often lost), else a seeded pause of up to 0.5 s into the outbox's work."""
        self.sending.clear()
        if not self.senders_done.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(2.0):
                    await self.sending.wait()
                await asyncio.sleep(self.rng.uniform(0.0, 0.005))
                return
        await asyncio.sleep(self.rng.uniform(0.0, 0.5))

    async def drain(self) -> dict[str, int]:
        """Wait until the outbox holds nothing pending (or the deadline); the last counts."""
        client = NativeClient(self.daemon)
        counts: dict[str, int] = {}
        try:
            while self.remaining() > 0:
                current = await self.counts(client)
                if current is not None:
                    counts = current
                    if not _pending(counts):
                        break
                await asyncio.sleep(0.2)
        finally:
            await client.close()
        return counts


def _pending(counts: dict[str, int]) -> bool:
    return any(counts.get(status, 0) for status in _PENDING)


def _done(counts: dict[str, int]) -> int:
    """Items the outbox is finished with: synced, failed or cancelled."""
    return sum(counts.values()) - sum(counts.get(status, 0) for status in _PENDING)


async def _store_profile(home: Path, url: str, api_key: str) -> None:
    """The read-only account probe, its answers stored in the database the daemon under `home` opens."""
    from companion.keystore import normalize_base_url
    from companion.secret import ApiKey
    from companion.services.account_probe import probe_account
    from companion.store import open_database
    from companion.store.cats_profiles import save_profile
    from companion.store.db import DB_FILE_NAME

    report = await probe_account(url, ApiKey(api_key))
    db = await open_database(home / "data" / DB_FILE_NAME)
    try:
        await save_profile(
            db, normalize_base_url(url), report.answers, requests=report.requests, write_probes=False
        )
    finally:
        await db.close()


async def soak(config: SoakConfig, *, say: Callable[[str], None] | None = None) -> SoakResult:
    """Run the scenario (module docstring) and reconcile it against the sandbox's store."""
    from companion.sandbox.app import SandboxConfig, start_sandbox
    from companion.sandbox.faults import FaultKind, FaultSettings

    tell = say or (lambda _: None)
    started = time.monotonic()
    rng = random.Random(config.seed)
    from companion.sandbox.quirks import parse_quirks

    sandbox = await start_sandbox(
        SandboxConfig(
            seed=SEED_COMPANIES,
            seed_random=config.seed,
            rate_limit=SANDBOX_RATE_LIMIT,
            quirks=parse_quirks(",".join(config.quirks)),
        )
    )
    result = SoakResult(pushes=config.pushes, fault_rate=config.fault_rate, seed=config.seed)
    try:
        store = sandbox.store
        owner = int(store.list_users(1, 1).items[0]["id"])
        companies = [(int(c["id"]), str(c["name"])) for c in store.list_records("companies", 1, 100).items]
        people = plan_people(config.pushes, rng, companies)
        _seed_existing(store, people, owner)
        before = store.record_counts()
        with tempfile.TemporaryDirectory(prefix="cats-soak-") as scratch:
            home = Path(scratch)
            _write_settings(home, owner)
            key_file = write_key_file(home / "cats.key", sandbox.api_key)
            if config.quirks:
                await _store_profile(home, sandbox.url, sandbox.api_key)
            daemon = DaemonProcess(home, cats_url=sandbox.url, key_file=key_file)
            state = _Run(config, daemon, people, tell)
            await daemon.start()
            try:
                setup = NativeClient(daemon)
                try:
                    for record_type in ("candidates", "contacts"):
                        view = await setup.data(
                            "campaign.create",
                            {
                                "name": f"Soak {record_type}",
                                "sync_trigger": "on_add",
                                "record_type": record_type,
                            },
                        )
                        state.campaigns[record_type] = int(view["id"])
                finally:
                    await setup.close()
                sandbox.parts.faults.configure(
                    FaultSettings.uniform(
                        config.fault_rate,
                        list(FaultKind) if config.fault_rate > 0 else [],
                        random_seed=config.seed,
                        retry_after_seconds=RETRY_AFTER_SECONDS,
                        hang_seconds=HANG_SECONDS,
                        slow_seconds=SLOW_SECONDS,
                    )
                )
                sandbox.parts.counters.reset()
                queue: asyncio.Queue[SoakPerson] = asyncio.Queue()
                for person in people:
                    queue.put_nowait(person)
                tell(f"pushing {len(people)} people through the daemon (pid {daemon.pid})")
                monitor = asyncio.create_task(state.monitor())
                try:
                    killer = asyncio.create_task(state.killer())
                    await asyncio.gather(*(state.sender(queue) for _ in range(SENDERS)))
                    state.senders_done.set()
                    await killer
                finally:
                    monitor.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await monitor
                tell(f"{len(state.accepted)} pushes accepted; waiting for the outbox to drain")
                counts = await state.drain()
                result.deadline_reached = state.remaining() <= 0
                reader = NativeClient(daemon)
                try:
                    items = await outbox_items(reader)
                finally:
                    await reader.close()
            finally:
                await daemon.stop()
                sandbox.parts.faults.configure(FaultSettings())
            result.faults = dict(sandbox.parts.faults.injected)
            snapshot = sandbox.parts.counters.snapshot()
            scanned = scan_log(daemon.log_path)
            result.db_locked, result.log_errors = scanned["db_locked"], scanned["log_errors"]
        result.requests = int(snapshot["requests_total"])
        result.rate_limited = int(snapshot["rate_limited"])
        result.kills = len(state.kill_points)
        result.kill_points = state.kill_points
        result.resent = state.resent
        result.accepted = len(state.accepted)
        result.refused = sum(state.refused.values())
        _tally_items(result, items, state)
        after = store.record_counts()
        result.records_created = sum(after[r] - before[r] for r in ("candidates", "contacts"))
        _reconcile(result, store, [p for p in people if p.index in state.accepted])
        result.pending_items = sum(counts.get(status, 0) for status in _PENDING)
    finally:
        await sandbox.close()
    result.seconds = round(time.monotonic() - started, 1)
    return result


def _tally_items(result: SoakResult, items: list[JsonObject], run: _Run) -> None:
    """Outbox items by person: a push is synced when every item it led to is synced."""
    by_person: dict[int, list[JsonObject]] = {}
    for item in items:
        by_person.setdefault(int(item["person_id"]), []).append(item)
    result.items = len(items)
    result.failed_items = sum(item["status"] == "failed" for item in items)
    result.failures = dict(
        Counter(str((item.get("error") or {}).get("code")) for item in items if item["status"] == "failed")
    )
    result.synced = sum(
        1
        for index in run.accepted
        if (mine := by_person.get(run.person_ids.get(index, -1)))
        and all(item["status"] == "synced" for item in mine)
    )


def _reconcile(result: SoakResult, store: Any, accepted: Sequence[SoakPerson]) -> None:
    """Count each accepted person's records and notes in the sandbox's own store."""
    result.records_expected = len(accepted)
    result.notes_expected = len(accepted)
    for person in accepted:
        hits = store.search_records(
            person.record_type,
            filter={"field": "emails.primary", "filter": "exactly", "value": person.email},
            per_page=100,
        ).items
        notes = sum(
            1
            for hit in hits
            for activity in store.list_record_activities(person.record_type, hit["id"], 1, 100).items
            if person.token in (activity.get("notes") or "")
        )
        result.records_found += min(len(hits), 1)
        result.notes_found += min(notes, 1)
        result.duplicates += max(0, len(hits) - 1) + max(0, notes - 1)
        result.lost += (0 if hits else 1) + (0 if notes else 1)


# --- the command -------------------------------------------------------------------------------------------


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "soak",
        help="push through a daemon killed with SIGKILL, against a faulty CATS sandbox; check exactly once",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--pushes", type=_positive, default=DEFAULT_PUSHES, help=f"people to push (default {DEFAULT_PUSHES})"
    )
    parser.add_argument(
        "--fault-rate",
        type=_rate,
        default=DEFAULT_FAULT_RATE,
        help=f"share of CATS answers that are faults, of every kind (default {DEFAULT_FAULT_RATE})",
    )
    parser.add_argument(
        "--kills",
        type=_count,
        default=DEFAULT_KILLS,
        help=f"SIGKILLs of the daemon (default {DEFAULT_KILLS})",
    )
    parser.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})"
    )
    parser.add_argument(
        "--deadline",
        type=float,
        default=DEFAULT_DEADLINE,
        metavar="SECONDS",
        help=f"give up after this long, drain included (default {DEFAULT_DEADLINE:.0f})",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    parser.set_defaults(func=run)


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, not {text!r}")
    return int(text)


def _count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"expected a whole number, not {text!r}")
    return int(text)


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 0.5, not {text!r}") from None
    if not 0.0 <= value <= 0.5:
        raise argparse.ArgumentTypeError("the fault rate must be between 0 and 0.5")
    return value


def run(args: argparse.Namespace) -> int:
    if args.deadline <= 0:
        print("cats-companion bench soak: --deadline must be positive", file=sys.stderr)
        return 2
    config = SoakConfig(
        pushes=args.pushes,
        fault_rate=args.fault_rate,
        kills=args.kills,
        seed=args.seed,
        deadline=args.deadline,
    )
    print(
        f"soak: {config.pushes} pushes, {config.fault_rate:.0%} faults of every kind, "
        f"{config.kills} SIGKILLs, seed {config.seed}; CATS client timeout {CLIENT_TIMEOUT:.0f} s, "
        f"hang {HANG_SECONDS:.0f} s, slow {SLOW_SECONDS} s, Retry-After {RETRY_AFTER_SECONDS} s, "
        f"sandbox limit {SANDBOX_RATE_LIMIT:,}/h; deadline {config.deadline:.0f} s",
        flush=True,
    )
    # Injected faults are expected here: the sandbox's own warnings would bury the report, and so would
    # aiohttp's "Error handling request" each time a kill cuts a request to the sandbox mid-body.
    quieted = {name: logging.getLogger(name) for name in ("companion", "aiohttp.server")}
    levels = {name: logger.level for name, logger in quieted.items()}
    quieted["companion"].setLevel(logging.ERROR)
    quieted["aiohttp.server"].setLevel(logging.CRITICAL)
    try:
        result = asyncio.run(
            _until_terminated(soak(config, say=lambda line: print(f"  {line}", file=sys.stderr, flush=True)))
        )
    except asyncio.CancelledError:
        print(
            "cats-companion bench soak: stopped (SIGTERM); the daemon and sandbox were shut down",
            file=sys.stderr,
        )
        return 143
    finally:
        for name, logger in quieted.items():
            logger.setLevel(levels[name])
    print(report(result))
    if args.json:
        print(json.dumps(asdict(result), sort_keys=True))
    return 0 if result.clean else 1


async def _until_terminated(work: Coroutine[Any, Any, T]) -> T:
    """Run `work`; SIGTERM cancels it, so its clean-up still stops the daemon and the sandbox."""
    task = asyncio.create_task(work)
    loop = asyncio.get_running_loop()
    with contextlib.suppress(NotImplementedError):
        loop.add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        return await task
    finally:
        with contextlib.suppress(NotImplementedError):
            loop.remove_signal_handler(signal.SIGTERM)


def report(result: SoakResult) -> str:
    faults = ", ".join(f"{n}x {kind}" for kind, n in sorted(result.faults.items())) or "none"
    failures = ", ".join(f"{n}x {code}" for code, n in sorted(result.failures.items()))
    lines = [
        f"accepted            {result.accepted} of {result.pushes} pushes"
        + (f" ({result.refused} refused)" if result.refused else ""),
        f"synced              {result.synced} pushes ({result.items} outbox items, "
        f"{result.failed_items} failed, {result.pending_items} pending)"
        + (f": {failures}" if failures else ""),
        f"records created     {result.records_created} (people found in CATS: {result.records_found} "
        f"of {result.records_expected})",
        f"notes               {result.notes_found} found of {result.notes_expected} expected",
        f"duplicates          {result.duplicates}",
        f"lost                {result.lost}",
        f"CATS requests       {result.requests} ({result.rate_limited} answered 429)",
        f"injected faults     {faults}",
        f"daemon kills        {result.kills} (at {', '.join(f'{p:.0%}' for p in result.kill_points) or '-'} "
        f"of the outbox done), each followed by a restart; {result.resent} sends retried while "
        "the daemon was down",
        f"database is locked  {result.db_locked} in the daemon's log ({result.log_errors} ERROR lines)",
        f"wall time           {result.seconds:.1f} s"
        + ("  DEADLINE REACHED" if result.deadline_reached else ""),
    ]
    return "\n".join(lines)


# --- the daemon child -------------------------------------------------------------------------------------


def _child_main(argv: Sequence[str]) -> int:
    """The daemon as the benches run it: `serve --key-file` with a chosen CATS client timeout."""
    parser = argparse.ArgumentParser(prog="python -m companion.bench.soak --daemon-child")
    parser.add_argument("--cats-url", required=True)
    parser.add_argument("--key-file", type=Path, required=True)
    parser.add_argument("--cats-timeout", type=float, default=CLIENT_TIMEOUT)
    parser.add_argument("--team-password-file", type=Path)
    # Sync at once and then on the product's schedule (the soak syncs only when asked).
    parser.add_argument("--sync-at-start", action="store_true")
    parser.add_argument("--admin", action="store_true")
    args = parser.parse_args(argv)
    home = os.environ.get(HOME_ENV)
    if not home:
        print(f"the bench daemon runs only under {HOME_ENV}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from companion.cli.serve import read_key_file, read_team_password_file
    from companion.errors import CompanionError
    from companion.server.daemon import DaemonConfig
    from companion.services.sync_scheduler import SyncPolicy

    try:
        key = read_key_file(args.key_file)
        password = (
            read_team_password_file(args.team_password_file) if args.team_password_file is not None else None
        )
        config = DaemonConfig(
            cats_base_url=args.cats_url,
            # Never the machine's team policy in /etc.
            site_config_dir=Path(home) / "site-config",
            sync=SyncPolicy(start_delay=0.0) if args.sync_at_start else SyncPolicy(automatic=False),
            team_password=password,
            admin=args.admin,
            # The benches count CATS requests: no connection check of their own.
            check_connection=not args.sync_at_start,
        )
        return asyncio.run(_child_serve(config, key, args.cats_timeout))
    except CompanionError as exc:
        print(f"bench daemon: {exc.message}", file=sys.stderr)
        return 1


async def _child_serve(config: Any, key: Any, client_timeout: float) -> int:
    from companion.cats.client import CatsClient
    from companion.secret import ApiKey
    from companion.server.daemon import start_daemon, wait_for_stop_signal

    def client(base_url: str, api_key: ApiKey) -> CatsClient:
        return CatsClient(base_url, api_key, timeout=client_timeout)

    daemon = await start_daemon(config, key=key, client_factory=client)
    try:
        print(f"bench daemon listening on {daemon.url} and {daemon.socket_path}", flush=True)
        await wait_for_stop_signal()
    finally:
        await daemon.close()
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == [_CHILD_FLAG]:
        sys.exit(_child_main(sys.argv[2:]))
    print(
        f"usage: cats-companion bench soak (or python -m companion.bench.soak {_CHILD_FLAG} ...)",
        file=sys.stderr,
    )
    sys.exit(2)
