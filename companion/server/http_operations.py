"""Rows of the operations table served on the loopback HTTP API, for the settings window and the CLI.

    routes.add("GET", "/api/status", operation_route(TABLE, "status"))

A GET takes its params from the query string, any other method from its JSON body (an empty body
is `{}`); path parameters (`{id}`) are added to them. The params model, the read-only guard and
the handler are the operation's own, so the HTTP form of a use case cannot drift from its native
message. A route is declared `@mutating` exactly when its operation is.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ValidationError

from companion.errors import BadRequestError, describe_validation
from companion.server.operations import Call, Operation, Operations
from companion.server.routes import Handler, mutating
from companion.server.security import AUTH_KIND_KEY
from companion.server.state import COMPANION_KEY, STATE_KEY
from companion.store import read_only

#: The HTTP status of a successful answer, from the handler's result (200 unless told otherwise).
StatusFor = Callable[[Any], int]


def operation_route(operations: Operations, name: str, *, status: StatusFor | None = None) -> Handler:
    """An aiohttp handler serving the operation `name` of `operations`."""
    operation = operations.get(name)
    if operation is None:
        raise ValueError(f"no operation {name!r} to serve over HTTP")

    async def handler(request: web.Request) -> web.StreamResponse:
        params = operation.params.model_validate(await _params(request, operation))
        call = Call(
            companion=request.app[COMPANION_KEY],
            server=request.app[STATE_KEY],
            caller=None,
            request_id=0,
            operations=operations,
            window=request.get(AUTH_KIND_KEY) == "window",
        )
        if operation.mutates:
            result = await operation.handler(call, params)
        else:
            with read_only(f"{request.method} {request.path} does not change anything"):
                result = await operation.handler(call, params)
        code = status(result) if status is not None else 200
        if isinstance(result, BaseModel):
            return web.Response(body=result.model_dump_json(), status=code, content_type="application/json")
        return web.json_response(dict(result), status=code)

    async def checked(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except ValidationError as exc:
            raise BadRequestError(f"invalid request: {describe_validation(exc, whole='body')}") from None

    checked.__doc__ = operation.summary
    return mutating(checked) if operation.mutates else checked


async def _params(request: web.Request, operation: Operation[Any]) -> dict[str, Any]:
    if request.method in ("GET", "HEAD"):
        data: dict[str, Any] = dict(request.query)
    else:
        raw = await request.read()
        try:
            body = json.loads(raw) if raw.strip() else {}
        except ValueError:
            raise BadRequestError("the request body must be JSON") from None
        if not isinstance(body, dict):
            raise BadRequestError(f"the request body must be a JSON object, not {type(body).__name__}")
        data = body
    # Path parameters win: `/api/outbox/{id}/retry` retries the item its path names, whatever the body says.
    return {**data, **request.match_info}


__all__ = ["operation_route"]
