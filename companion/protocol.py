"""The native protocol's envelopes (pydantic) and their encoding.

The wire constants -- protocol version, size limits, paths, header and event names, name pattern,
session framing -- are defined once in companion.nmhost.wire, which the stdlib-only native host
shares; this module holds only what needs pydantic. native-messaging/PROTOCOL.md is the prose form
of both. The message types themselves are the rows of the daemon's operations table
(companion.server.operations).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from companion.errors import CompanionError
from companion.nmhost.wire import MAX_ID_LENGTH, NAME_PATTERN, PROTOCOL_VERSION

_NAME = re.compile(NAME_PATTERN)

MessageId = StrictInt | Annotated[StrictStr, Field(min_length=1, max_length=MAX_ID_LENGTH)]
JsonObject = dict[str, Any]


class Request(BaseModel):
    """`{"id": <string or int>, "type": "<dotted.name>", "params": {...}, "v": 1}`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: MessageId
    type: Annotated[StrictStr, Field(pattern=NAME_PATTERN, max_length=100)]
    params: JsonObject = Field(default_factory=dict)
    v: StrictInt = PROTOCOL_VERSION


class NoParams(BaseModel):
    """The params model of a type that takes none: any key is refused."""

    model_config = ConfigDict(extra="forbid")


def ok_reply(message_id: int | str, data: JsonObject) -> JsonObject:
    return {"id": message_id, "ok": True, "data": data}


def error_reply(message_id: int | str | None, error: CompanionError) -> JsonObject:
    return {"id": message_id, "ok": False, "error": error.to_dict()}


def event_message(name: str, data: JsonObject) -> JsonObject:
    return {"event": name, "data": data}


def encode(message: JsonObject) -> bytes:
    """The compact UTF-8 JSON form sent on the wire (what the size limits count)."""
    return json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def encode_ok_reply(message_id: int | str, result: Mapping[str, Any] | BaseModel) -> bytes:
    """`encode(ok_reply(message_id, data))` for a handler's result, encoded once.

    A pydantic model is serialised straight to JSON by pydantic (compact, UTF-8, in Rust): about
    a quarter of the cost of `model_dump` followed by `json.dumps`, for the same JSON.
    """
    if isinstance(result, BaseModel):
        head = encode({"id": message_id, "ok": True})[:-1]
        return head + b',"data":' + result.model_dump_json().encode("utf-8") + b"}"
    return encode(ok_reply(message_id, dict(result)))


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise ValueError(f"{name!r} is not a message or event name (lower-case dotted words)")
    return name
