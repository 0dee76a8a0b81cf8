"""A loopback HTTP server that answers from a script, for transport cases the CATS sandbox never produces.

The sandbox is the faithful double; this one exists to say things CATS might but the sandbox
will not (a 201 without Location, a 200 that is not JSON, a redirect, a link to another host)
and to show exactly which headers the client sent.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import pytest
from aiohttp import web
from pytest_aiohttp import AiohttpServer

Answer = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


def reply(status: int = 200, body: str | bytes = b"", headers: dict[str, str] | None = None) -> Answer:
    async def answer(_: web.Request) -> web.StreamResponse:
        data = body.encode() if isinstance(body, str) else body
        return web.Response(status=status, body=data, headers=headers, content_type="application/json")

    return answer


class ScriptedCats:
    """Answers each request with the next scripted answer (500 when the script has run out)."""

    def __init__(self) -> None:
        self.script: deque[Answer] = deque()
        self.seen: list[Seen] = []
        self.url = ""

    def then(self, *answers: Answer) -> ScriptedCats:
        self.script.extend(answers)
        return self

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.seen.append(
            Seen(
                method=request.method,
                path=request.path,
                query=dict(request.query),
                headers=dict(request.headers),
                body=await request.read(),
            )
        )
        if not self.script:
            return web.Response(status=500, text="script exhausted")
        return await self.script.popleft()(request)


@pytest.fixture
async def scripted(aiohttp_server: AiohttpServer) -> ScriptedCats:
    server = ScriptedCats()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", server.handle)
    running = await aiohttp_server(app, host="127.0.0.1")
    server.url = f"http://127.0.0.1:{running.port}/v3"
    return server
