"""Route declaration rules (no state-changing GET), 404/405, and the one error middleware."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from pytest_aiohttp import AiohttpServer

from companion.app import Companion
from companion.errors import CatsDuplicateError, KeyMissingError
from companion.server.app import create_app
from companion.server.daemon import RunningDaemon
from companion.server.routes import ApiRoutes, RouteDeclarationError, mutating
from companion.server.state import ServerState
from companion.store import Database, Migration, open_database
from tests.fixtures.daemon import DAEMON_TOKEN, auth_headers

NOTES = Migration(1, "notes", "CREATE TABLE notes (text TEXT NOT NULL);")


def new_handler() -> Callable[[web.Request], Awaitable[web.Response]]:
    """A fresh handler each time: `mutating` marks the function object itself."""

    async def handler(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    return handler


# --- declaration rules ----------------------------------------------------------------------------


def test_a_mutating_handler_under_get_is_refused_at_registration() -> None:
    routes = ApiRoutes()
    with pytest.raises(RouteDeclarationError, match="GET /api/things: a @mutating handler"):
        routes.get("/api/things")(mutating(new_handler()))
    assert routes.routes == ()


def test_a_mutating_handler_under_head_is_refused() -> None:
    with pytest.raises(RouteDeclarationError, match="HEAD /api/things: a @mutating handler"):
        ApiRoutes().add("HEAD", "/api/things", mutating(new_handler()))


def test_marking_a_handler_mutating_after_registering_it_under_get_is_caught_at_install() -> None:
    routes = ApiRoutes()
    handler = new_handler()
    routes.get("/api/late")(handler)
    mutating(handler)  # decorators in the wrong order: the flag arrives after registration
    with pytest.raises(RouteDeclarationError, match="GET /api/late"):
        routes.install(web.Application())


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_a_mutating_handler_under_an_unsafe_method_is_accepted(method: str) -> None:
    routes = ApiRoutes()
    routes.add(method, "/api/things", mutating(new_handler()))
    routes.install(web.Application())
    assert [r.method for r in routes.routes] == [method]


def test_the_same_route_declared_twice_is_refused() -> None:
    routes = ApiRoutes()
    routes.get("/api/x")(new_handler())
    with pytest.raises(RouteDeclarationError, match="twice"):
        routes.get("/api/x")(new_handler())


def test_methods_the_api_does_not_serve_are_refused() -> None:
    with pytest.raises(RouteDeclarationError, match="TRACE"):
        ApiRoutes().add("TRACE", "/api/x", new_handler())


# --- served behaviour ----------------------------------------------------------------------------


async def test_wrong_method_gets_405_with_a_stable_code(
    daemon: RunningDaemon, daemon_session: aiohttp.ClientSession
) -> None:
    async with daemon_session.post("/api/status", json={}) as response:
        assert response.status == 405
        assert response.headers["Allow"] == "GET,HEAD"
        body = await response.json()
    assert body["error"]["code"] == "request.method_not_allowed"


async def test_unknown_path_gets_404_with_a_stable_code(daemon_session: aiohttp.ClientSession) -> None:
    async with daemon_session.get("/api/nope") as response:
        assert response.status == 404
        assert (await response.json())["error"]["code"] == "request.not_found"


async def test_wrong_method_without_a_token_is_401_not_405(daemon: RunningDaemon) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{daemon.url}/api/status") as response,
    ):
        assert response.status == 401


ServeRoutes = Callable[[ApiRoutes], Awaitable[str]]


@pytest.fixture
async def notes_db(tmp_path: Path) -> AsyncIterator[Database]:
    db = await open_database(tmp_path / "routes.db", migrations=[NOTES])
    yield db
    await db.close()


@pytest.fixture
def serve_routes(companion: Companion, aiohttp_server: AiohttpServer) -> ServeRoutes:
    """Serve an app built by create_app with custom routes (pytest-aiohttp's server); returns its base URL."""

    async def serve(routes: ApiRoutes) -> str:
        server = await aiohttp_server(create_app(companion, ServerState(token=DAEMON_TOKEN), routes=routes))
        return str(server.make_url("")).rstrip("/")

    return serve


async def test_a_get_handler_that_writes_fails_and_writes_nothing(
    serve_routes: ServeRoutes, notes_db: Database
) -> None:
    routes = ApiRoutes()

    async def sneaky(request: web.Request) -> web.Response:
        async with notes_db.transaction() as conn:
            await conn.execute("INSERT INTO notes VALUES ('written by a GET')")
        return web.json_response({})

    @mutating
    async def honest(request: web.Request) -> web.Response:
        async with notes_db.transaction() as conn:
            await conn.execute("INSERT INTO notes VALUES ('written by a POST')")
        return web.json_response({}, status=201)

    routes.get("/api/sneaky")(sneaky)
    routes.post("/api/honest")(honest)
    url = await serve_routes(routes)
    async with aiohttp.ClientSession(headers=auth_headers()) as session:
        async with session.get(f"{url}/api/sneaky") as response:
            assert response.status == 500
            assert (await response.json())["error"]["code"] == "store.read_only"
        async with session.post(f"{url}/api/honest") as response:
            assert response.status == 201
    rows = await notes_db.fetchall("SELECT text FROM notes")
    assert [row["text"] for row in rows] == ["written by a POST"]


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (KeyMissingError("no key stored"), 409, "key.missing"),
        (CatsDuplicateError("already in CATS", existing_id=7), 409, "cats.duplicate"),
    ],
)
async def test_a_companion_error_becomes_its_status_and_stable_code(
    serve_routes: ServeRoutes, error: Exception, status: int, code: str
) -> None:
    routes = ApiRoutes()

    async def failing(request: web.Request) -> web.Response:
        raise error

    routes.get("/api/failing")(failing)
    url = await serve_routes(routes)
    async with (
        aiohttp.ClientSession(headers=auth_headers()) as session,
        session.get(f"{url}/api/failing") as response,
    ):
        assert response.status == status
        assert await response.json() == {"error": {"code": code, "message": str(error)}}


async def test_an_unexpected_exception_is_500_internal_without_details(
    serve_routes: ServeRoutes, caplog: pytest.LogCaptureFixture
) -> None:
    routes = ApiRoutes()

    async def broken(request: web.Request) -> web.Response:
        raise RuntimeError("private detail 12345")

    routes.get("/api/broken")(broken)
    url = await serve_routes(routes)
    with caplog.at_level(logging.ERROR, logger="companion.server.security"):
        async with (
            aiohttp.ClientSession(headers=auth_headers()) as session,
            session.get(f"{url}/api/broken") as response,
        ):
            assert response.status == 500
            text = await response.text()
    assert "private detail" not in text
    assert "Traceback" not in text
    assert '"code": "internal"' in text
    assert "private detail 12345" in caplog.text  # but the log has it, for whoever debugs


async def test_a_too_large_body_is_413_with_a_stable_code(serve_routes: ServeRoutes) -> None:
    routes = ApiRoutes()

    @mutating
    async def echo(request: web.Request) -> web.Response:
        return web.json_response({"size": len(await request.read())})

    routes.post("/api/echo")(echo)
    url = await serve_routes(routes)
    async with (
        aiohttp.ClientSession(headers=auth_headers()) as session,
        session.post(f"{url}/api/echo", data=b"x" * (2 * 1024 * 1024)) as response,
    ):
        assert response.status == 413
        assert (await response.json())["error"]["code"] == "request.too_large"
