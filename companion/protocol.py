"""The native protocol's envelopes (pydantic), their encoding, and the message-type registry.

The wire constants -- protocol version, size limits, paths, header and event names, name pattern,
session framing -- are defined once in companion.nmhost.wire, which the stdlib-only native host
shares; this module holds only what needs pydantic. native-messaging/PROTOCOL.md is the prose form
of both.

    registry = MessageRegistry[NativeCall]()
    registry.add("company.lookup", lookup, params=LookupParams)            # read-only type
    registry.add("push.create", push, params=PushParams, mutates=True)     # may write
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

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


C = TypeVar("C")
P = TypeVar("P", bound=BaseModel)
Result = Mapping[str, Any] | BaseModel
Handler = Callable[[C, P], Awaitable[Result]]


@dataclass(frozen=True)
class MessageType(Generic[C]):
    name: str
    handler: Handler[C, Any]
    params: type[BaseModel]
    #: False: the handler runs where database writes raise (companion.store.read_only).
    mutates: bool
    summary: str

    def describe(self) -> JsonObject:
        return {"type": self.name, "mutates": self.mutates, "summary": self.summary}


class MessageRegistry(Generic[C]):
    """Message types by name, each with its handler, params model and whether it may write."""

    def __init__(self) -> None:
        self._types: dict[str, MessageType[C]] = {}

    def add(
        self,
        name: str,
        handler: Handler[C, P],
        *,
        params: type[P],
        mutates: bool = False,
        summary: str | None = None,
    ) -> None:
        """Register `handler(call, params) -> dict or model` for requests of type `name`."""
        check_name(name)
        if name in self._types:
            raise ValueError(f"message type {name!r} is registered twice")
        first_line = (summary or handler.__doc__ or "").strip().splitlines()
        self._types[name] = MessageType(
            name=name,
            handler=handler,
            params=params,
            mutates=mutates,
            summary=first_line[0] if first_line else "",
        )

    def message(
        self, name: str, *, params: type[P], mutates: bool = False
    ) -> Callable[[Handler[C, P]], Handler[C, P]]:
        """Decorator form of `add`."""

        def register(handler: Handler[C, P]) -> Handler[C, P]:
            self.add(name, handler, params=params, mutates=mutates)
            return handler

        return register

    def get(self, name: str) -> MessageType[C] | None:
        return self._types.get(name)

    def names(self) -> list[str]:
        return sorted(self._types)

    def describe(self) -> list[JsonObject]:
        return [self._types[name].describe() for name in self.names()]

    def __contains__(self, name: object) -> bool:
        return name in self._types

    def __len__(self) -> int:
        return len(self._types)
