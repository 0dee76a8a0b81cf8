"""What the push and outbox tests share: a real SQLite file, the push service and the outbox worker talking to
the CATS sandbox over HTTP, settings the test can change, and a clock that never really sleeps."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from companion.cats.budget import RateBudget
from companion.cats.client import CatsClient
from companion.cats.retry import RetryPolicy
from companion.rules.person import Person
from companion.services.outbox_worker import Backoff, OutboxWorker
from companion.services.push import PushService, RulesInputs
from companion.settings.catalogue import Catalogue
from companion.settings.models import Settings
from companion.store import Database, open_database
from companion.store.outbox import OutboxItem
from tests.fixtures.sandbox import SandboxHandle

#: A CATS user of every seeded sandbox (the seed creates users 4001...).
OWNER = 4001
T0 = datetime(2025, 5, 1, 9, 0, tzinfo=UTC)


class FakeClock:
    """The budget's and the worker's clock: `sleep` moves time on at once (and lets other tasks run)."""

    def __init__(self, start: float | None = None) -> None:
        self.t = start if start is not None else datetime.now(UTC).timestamp()
        self.slept: list[float] = []

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.t += max(0.0, seconds)
        await asyncio.sleep(0)


def settings_with(**paths: Any) -> Settings:
    """Default settings with some leaves changed: `settings_with(**{"general.do_not_merge": True})`."""
    data = Settings().model_dump(mode="json")
    for path, value in paths.items():
        node = data
        *parents, leaf = path.split(".")
        for part in parents:
            node = node[part]
        node[leaf] = value
    return Settings.model_validate(data)


@dataclass
class PushEnv:
    db: Database
    sandbox: SandboxHandle
    client: CatsClient
    clock: FakeClock
    settings: Settings
    catalogue: Catalogue = field(default_factory=Catalogue)
    published: list[OutboxItem] = field(default_factory=list)
    service: PushService = field(init=False)
    worker: OutboxWorker = field(init=False)

    def __post_init__(self) -> None:
        self.service = PushService(self.db, self.inputs, now=self.now, on_queued=self.published.extend)
        self.worker = OutboxWorker(
            self.db,
            self.client,
            self.inputs,
            clock=self.clock,
            publish=self.published.append,
            backoff=Backoff(),
        )

    def inputs(self) -> RulesInputs:
        return RulesInputs(self.settings, self.catalogue)

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock.now(), UTC)

    async def requests(self) -> dict[str, int]:
        counters = await self.sandbox.control.counters()
        requests: dict[str, int] = counters["requests"]
        return requests

    async def total_requests(self) -> int:
        return int((await self.sandbox.control.counters())["requests_total"])

    def candidates_named(self, first: str, last: str) -> list[dict[str, Any]]:
        return candidates_named(self.sandbox, first, last)

    def activities(self, resource: str, record_id: int) -> list[dict[str, Any]]:
        return self.sandbox.store.list_record_activities(resource, record_id, 1, 100).items


def candidates_named(sandbox: SandboxHandle, first: str, last: str) -> list[dict[str, Any]]:
    """The sandbox's candidates of exactly that first and last name."""
    return sandbox.store.search_records(
        "candidates",
        filter={
            "and": [
                {"field": "first_name", "filter": "exactly", "value": first},
                {"field": "last_name", "filter": "exactly", "value": last},
            ]
        },
        per_page=100,
    ).items


async def make_env(
    sandbox: SandboxHandle,
    tmp_path: Path,
    *,
    settings: Settings | None = None,
    request_timeout: float = 5.0,
    retry: RetryPolicy | None = None,
    url: str | None = None,
) -> tuple[PushEnv, Callable[[], Any]]:
    """A PushEnv and its async closer."""
    db = await open_database(tmp_path / "companion.db")
    clock = FakeClock()
    client = CatsClient(
        url or sandbox.url,
        sandbox.key,
        timeout=request_timeout,
        budget=RateBudget(clock=clock),
        retry=retry or RetryPolicy(max_attempts=2),
    )
    env = PushEnv(db=db, sandbox=sandbox, client=client, clock=clock, settings=settings or Settings())

    async def close() -> None:
        await env.worker.close()
        await client.close()
        await db.close()

    return env, close


def ada(**changes: Any) -> Person:
    """A person the sandbox does not know."""
    data: dict[str, Any] = {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "title": "Data Engineer",
        "current_company": "Analytical Engines",
        "emails": ["ada@engines.example"],
        "linkedin": "https://www.linkedin.com/in/ada-lovelace",
        "source": "Companion",
    }
    data.update(changes)
    return Person.model_validate(data)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


class Unpluggable:
    """A TCP forwarder in front of the sandbox that can be unplugged: then nothing listens on its port, so
    connections are refused, as when CATS cannot be reached at all."""

    def __init__(self, target_port: int) -> None:
        self._target_port = target_port
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v3"

    async def plug(self) -> None:
        self._server = await asyncio.start_server(self._forward, "127.0.0.1", self.port, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]

    async def unplug(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for pipe in list(self._pipes):
            pipe.cancel()

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self._target_port)

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            except (ConnectionError, asyncio.CancelledError):
                pass
            finally:
                sink.close()

        tasks = [
            asyncio.create_task(pipe(reader, upstream_writer)),
            asyncio.create_task(pipe(upstream_reader, writer)),
        ]
        self._pipes.update(tasks)
        await asyncio.gather(*tasks, return_exceptions=True)
        self._pipes.difference_update(tasks)
