"""One request envelope in, one reply envelope out: the native protocol's dispatch onto the operations table.

Never raises: a malformed envelope, an unknown type, invalid params, a refused operation and an
unexpected failure all become an error reply with a stable code (companion.errors); only the last
is logged, and its reply says nothing of the cause (it could hold personal data).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from pydantic import ValidationError

from companion.app import Companion
from companion.errors import (
    BadRequestError,
    CompanionError,
    MessageTooLargeError,
    UnknownMessageTypeError,
    UnsupportedVersionError,
    describe_validation,
)
from companion.nmhost.wire import MAX_ID_LENGTH, MAX_OUTGOING_BYTES, PROTOCOL_VERSION
from companion.protocol import (
    JsonObject,
    Request,
    encode,
    encode_ok_reply,
    error_reply,
)
from companion.server.operations import Call, Operations
from companion.server.state import ServerState
from companion.store import read_only

log = logging.getLogger(__name__)


class Dispatcher:
    """Answers request envelopes for one Companion from one operations table."""

    def __init__(self, operations: Operations, companion: Companion, server: ServerState) -> None:
        self.operations = operations
        self.companion = companion
        self.server = server

    async def dispatch(self, body: bytes, caller: str | None) -> JsonObject:
        """The reply envelope as a dict (tests; the transports send `dispatch_bytes`)."""
        reply: JsonObject = json.loads(await self.dispatch_bytes(body, caller))
        return reply

    async def dispatch_bytes(self, body: bytes, caller: str | None) -> bytes:
        """One request envelope in, its reply envelope out as sent on the wire (encoded once)."""
        raw, message_id, problem = _parse(body)
        if problem is not None:
            return encode(error_reply(message_id, problem))
        try:
            request = Request.model_validate(raw)
        except ValidationError as exc:
            return encode(
                error_reply(
                    message_id, BadRequestError(f"invalid request envelope: {describe_validation(exc)}")
                )
            )
        if request.v != PROTOCOL_VERSION:
            return encode(
                error_reply(
                    request.id,
                    UnsupportedVersionError(
                        f"protocol version {request.v} is not supported; "
                        f"this daemon speaks {PROTOCOL_VERSION}"
                    ),
                )
            )
        operation = self.operations.get(request.type)
        if operation is None:
            return encode(
                error_reply(request.id, UnknownMessageTypeError(f"unknown message type {request.type!r}"))
            )
        try:
            params = operation.params.model_validate(request.params)
        except ValidationError as exc:
            return encode(
                error_reply(
                    request.id,
                    BadRequestError(f"invalid params for {request.type}: {describe_validation(exc)}"),
                )
            )
        call = Call(
            companion=self.companion,
            server=self.server,
            caller=caller,
            request_id=request.id,
            operations=self.operations,
        )
        try:
            if operation.mutates:
                result = await operation.handler(call, params)
            else:
                with read_only(f"the message type {request.type} does not change anything"):
                    result = await operation.handler(call, params)
            reply = encode_ok_reply(request.id, result)
        except CompanionError as exc:
            return encode(error_reply(request.id, exc))
        except Exception:
            # The reply says nothing about the cause: it could hold personal data or worse.
            log.exception("unexpected error handling a %s message", request.type)
            return encode(
                error_reply(request.id, CompanionError("internal error; the daemon's log has the details"))
            )
        if len(reply) > MAX_OUTGOING_BYTES:
            return encode(
                error_reply(
                    request.id,
                    MessageTooLargeError(
                        f"the reply to {request.type} would be {len(reply)} bytes, over the "
                        f"{MAX_OUTGOING_BYTES} Chrome accepts; ask for a smaller page"
                    ),
                )
            )
        return reply


def _parse(body: bytes) -> tuple[Any, int | str | None, CompanionError | None]:
    """The decoded JSON, the request id if one can be read, and the problem if it is not an object."""
    try:
        raw = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        return None, None, BadRequestError("the request is not valid UTF-8")
    except json.JSONDecodeError as exc:
        return None, None, BadRequestError(f"the request is not valid JSON ({exc.msg} at position {exc.pos})")
    if not isinstance(raw, dict):
        return raw, None, BadRequestError(f"a request must be a JSON object, not {type(raw).__name__}")
    return raw, readable_id(raw.get("id")), None


def readable_id(value: object) -> int | str | None:
    """The id to echo in an error reply: only an id the caller could have meant (int or short string)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and 0 < len(value) <= MAX_ID_LENGTH:
        return value
    return None


__all__ = ["Dispatcher", "readable_id"]
