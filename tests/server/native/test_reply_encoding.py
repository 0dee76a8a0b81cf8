"""Replies are encoded once: a handler's pydantic model goes straight to the same JSON as its model_dump."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, cast

from pydantic import BaseModel

from companion.app import Companion
from companion.nmhost.wire import MAX_OUTGOING_BYTES
from companion.protocol import JsonObject, NoParams, encode, encode_ok_reply, ok_reply
from companion.server.native.dispatch import Dispatcher
from companion.server.operations import Call, Operation, Operations
from companion.server.state import ServerState


class Item(BaseModel):
    name: str
    score: float | None


class Answer(BaseModel):
    title: str
    when: datetime
    items: list[Item]
    nothing: None = None


ANSWER = Answer(
    title='Société "Générale" \u2013 東京 \\ tab\t',
    when=datetime(2026, 11, 28, 2, 26, 38, 128804, tzinfo=UTC),
    items=[Item(name="a", score=90.9), Item(name="b", score=None)],
)


def test_a_model_reply_is_byte_for_byte_the_envelope_of_its_model_dump() -> None:
    for message_id in ("abc-1", 7, "ünïcode"):
        expected = encode(ok_reply(message_id, ANSWER.model_dump(mode="json")))
        assert encode_ok_reply(message_id, ANSWER) == expected


def test_a_mapping_reply_is_encoded_as_before() -> None:
    data: JsonObject = {"pong": True, "echo": "é"}
    assert encode_ok_reply(3, data) == encode(ok_reply(3, data))


class Big(BaseModel):
    text: str


async def _big(call: Call, params: NoParams) -> Big:
    return Big(text="x" * MAX_OUTGOING_BYTES)


async def _answer(call: Call, params: NoParams) -> Answer:
    return ANSWER


async def _dispatch(message: dict[str, Any]) -> bytes:
    operations = Operations(
        [Operation("test.big", _big, NoParams), Operation("test.answer", _answer, NoParams)]
    )
    companion = cast(Companion, None)  # neither handler looks at the companion
    dispatcher = Dispatcher(operations, companion, ServerState(token="t" * 32))
    return await dispatcher.dispatch_bytes(json.dumps(message).encode(), None)


async def test_a_model_reply_over_one_mebibyte_becomes_message_too_large() -> None:
    reply = json.loads(await _dispatch({"id": "b", "type": "test.big"}))
    assert reply["id"] == "b" and reply["error"]["code"] == "message.too_large"
    assert str(MAX_OUTGOING_BYTES) in reply["error"]["message"]


async def test_dispatch_answers_a_model_with_its_json() -> None:
    reply = json.loads(await _dispatch({"id": 9, "type": "test.answer"}))
    assert reply == {"id": 9, "ok": True, "data": json.loads(ANSWER.model_dump_json())}
