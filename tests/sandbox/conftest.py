"""A bare CATS resource app (routes + store, no harness middlewares) served on loopback, for route tests."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from pytest_aiohttp import AiohttpServer

from companion.sandbox.routes import add_cats_routes
from companion.sandbox.store import SandboxStore


class FakeClock:
    """The store's clock, moved by tests instead of sleeping."""

    def __init__(self, start: datetime = datetime(2025, 5, 1, 12, 0, tzinfo=UTC)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str]
    text: str


_UNSET: Any = object()


@dataclass
class CatsApi:
    """HTTP access to the bare app plus the store behind it and a user to own records."""

    origin: str
    http: aiohttp.ClientSession
    store: SandboxStore
    clock: FakeClock
    owner_id: int
    _seq: list[int] = field(default_factory=lambda: [0])

    def url(self, path: str) -> str:
        return f"{self.origin}/v3/{path.lstrip('/')}"

    async def call(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = _UNSET,
        data: str | bytes | None = None,
        params: dict[str, Any] | None = None,
    ) -> Reply:
        kwargs: dict[str, Any] = {"params": params}
        if json_body is not _UNSET:
            kwargs["data"] = json.dumps(json_body)
            kwargs["headers"] = {"Content-Type": "application/json"}
        elif data is not None:
            kwargs["data"] = data
            kwargs["headers"] = {"Content-Type": "application/json"}
        async with self.http.request(method, self.url(path), **kwargs) as response:
            text = await response.text()
            body = json.loads(text) if text else None
            return Reply(response.status, body, dict(response.headers), text)

    async def get(self, path: str, **params: Any) -> Reply:
        return await self.call("GET", path, params=params or None)

    async def post(self, path: str, body: Any = _UNSET, **params: Any) -> Reply:
        return await self.call("POST", path, json_body=body, params=params or None)

    async def put(self, path: str, body: Any = _UNSET) -> Reply:
        return await self.call("PUT", path, json_body=body)

    async def delete(self, path: str) -> Reply:
        return await self.call("DELETE", path)

    async def create(self, resource: str, body: dict[str, Any], **params: Any) -> int:
        reply = await self.post(resource, body, **params)
        assert reply.status == 201, reply.text
        return int(reply.headers["Location"].rsplit("/", 1)[1])

    def _next(self) -> int:
        self._seq[0] += 1
        return self._seq[0]

    async def company(self, **fields: Any) -> int:
        return await self.create(
            "companies", {"name": f"Company {self._next()}", "owner_id": self.owner_id, **fields}
        )

    async def contact(self, company_id: int, **fields: Any) -> int:
        n = self._next()
        body = {
            "first_name": f"First{n}",
            "last_name": f"Last{n}",
            "owner_id": self.owner_id,
            "company_id": company_id,
            **fields,
        }
        return await self.create("contacts", body)

    async def candidate(self, **fields: Any) -> int:
        n = self._next()
        return await self.create("candidates", {"first_name": f"First{n}", "last_name": f"Last{n}", **fields})


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def cats_api(fake_clock: FakeClock, aiohttp_server: AiohttpServer) -> AsyncIterator[CatsApi]:
    store = SandboxStore(clock=fake_clock)
    owner_id = store.create_user(username="owner", first_name="Olive", last_name="Owner", title="Recruiter")
    app = web.Application()
    add_cats_routes(app, store)
    server = await aiohttp_server(app, host="127.0.0.1")
    try:
        async with aiohttp.ClientSession() as http:
            yield CatsApi(f"http://127.0.0.1:{server.port}", http, store, fake_clock, owner_id)
    finally:
        store.close()
