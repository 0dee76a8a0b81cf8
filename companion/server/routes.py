"""Declaring the loopback API's routes with their method, so that no GET or HEAD handler can change state.

A handler that changes anything is marked `@mutating`; the registry refuses to put a mutating
handler under GET or HEAD (browsers send GETs from <img>, prefetch and link clicks without the
page's consent, so a state-changing GET is a CSRF hole). The check runs when the route is declared
and again when the routes are installed, so the order of the decorators does not matter. At run
time the server additionally serves GET/HEAD inside `companion.store.read_only()`, where database
writes raise.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final, TypeVar

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
H = TypeVar("H", bound=Handler)

#: Methods that must never change state (RFC 9110 "safe" methods we serve).
SAFE_METHODS: Final = frozenset({"GET", "HEAD"})
ALLOWED_METHODS: Final = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"})
_MUTATING_FLAG: Final = "__companion_mutating__"

#: Paths of the operations served over HTTP (companion.server.app), named where links to them are made.
STATUS_PATH: Final = "/api/status"
SYNC_PATH: Final = "/api/sync"
RETRY_PATH: Final = "/api/outbox/{id}/retry"
TEAM_POLICY_PATH: Final = "/api/team/policy"
TEAM_ALIASES_PATH: Final = "/api/team/aliases"
TEAM_ALIAS_UNDO_PATH: Final = "/api/team/aliases/undo"


class RouteDeclarationError(TypeError):
    """A route was declared in a way the API's rules forbid (a programming error, caught at start-up)."""


def mutating(handler: H) -> H:
    """Mark a handler as changing state: it may then only be served under POST, PUT, PATCH or DELETE."""
    setattr(handler, _MUTATING_FLAG, True)
    return handler


def is_mutating(handler: Handler) -> bool:
    return bool(getattr(handler, _MUTATING_FLAG, False))


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    handler: Handler


class ApiRoutes:
    """The routes of the loopback API, each declared with exactly one method."""

    def __init__(self) -> None:
        self._routes: list[Route] = []

    @property
    def routes(self) -> tuple[Route, ...]:
        return tuple(self._routes)

    def add(self, method: str, path: str, handler: Handler) -> None:
        route = Route(method.upper(), path, handler)
        _check(route)
        if any(r.method == route.method and r.path == route.path for r in self._routes):
            raise RouteDeclarationError(f"{route.method} {route.path} is declared twice")
        self._routes.append(route)

    def get(self, path: str) -> Callable[[H], H]:
        return self._decorator("GET", path)

    def post(self, path: str) -> Callable[[H], H]:
        return self._decorator("POST", path)

    def put(self, path: str) -> Callable[[H], H]:
        return self._decorator("PUT", path)

    def delete(self, path: str) -> Callable[[H], H]:
        return self._decorator("DELETE", path)

    def install(self, app: web.Application) -> None:
        """Add every route to `app`; other methods on the same path answer 405 through aiohttp."""
        for route in self._routes:
            _check(route)
            if route.method == "GET":
                app.router.add_get(route.path, route.handler, allow_head=True)
            else:
                app.router.add_route(route.method, route.path, route.handler)

    def _decorator(self, method: str, path: str) -> Callable[[H], H]:
        def register(handler: H) -> H:
            self.add(method, path, handler)
            return handler

        return register


def _check(route: Route) -> None:
    if route.method not in ALLOWED_METHODS:
        raise RouteDeclarationError(f"{route.method} is not a method the API serves ({route.path})")
    if route.method in SAFE_METHODS and is_mutating(route.handler):
        raise RouteDeclarationError(
            f"{route.method} {route.path}: a @mutating handler cannot be served under a safe method; "
            "use POST, PUT, PATCH or DELETE"
        )
