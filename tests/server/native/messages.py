"""Message types the tests add to the daemon: `daemon_factory(operations=WITH_TEST_OPERATIONS)`."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from pydantic import BaseModel

from companion.errors import CatsNotFoundError
from companion.server.operations import TABLE, Call, Operation
from companion.store.meta import set_meta


class SlowParams(BaseModel):
    seconds: float


class BigParams(BaseModel):
    size: int


class PublishParams(BaseModel):
    name: str
    data: dict[str, Any]


class FailParams(BaseModel):
    kind: Literal["companion", "unexpected"]


class WriteParams(BaseModel):
    value: str


class HoldParams(BaseModel):
    gate: str


#: Gates `test.hold` waits on, by name: a test opens one with `gate(name).set()`.
GATES: dict[str, asyncio.Event] = {}


def gate(name: str) -> asyncio.Event:
    return GATES.setdefault(name, asyncio.Event())


async def slow(call: Call, params: SlowParams) -> dict[str, Any]:
    await asyncio.sleep(params.seconds)
    return {"slept": params.seconds}


async def big(call: Call, params: BigParams) -> dict[str, Any]:
    return {"blob": "x" * params.size}


async def publish(call: Call, params: PublishParams) -> dict[str, Any]:
    return {"reached": call.companion.events.publish(params.name, params.data)}


async def fail(call: Call, params: FailParams) -> dict[str, Any]:
    if params.kind == "companion":
        raise CatsNotFoundError("no candidate 42 in CATS")
    raise RuntimeError("details that must not reach the browser: /home/someone/secret")


async def write(call: Call, params: WriteParams) -> dict[str, Any]:
    await set_meta(call.companion.db, "test", params.value)
    return {"written": params.value}


async def hold(call: Call, params: HoldParams) -> dict[str, Any]:
    await gate(params.gate).wait()
    return {"released": params.gate}


TEST_OPERATIONS = [
    Operation("test.slow", slow, SlowParams),
    Operation("test.hold", hold, HoldParams),
    Operation("test.big", big, BigParams),
    Operation("test.publish", publish, PublishParams),
    Operation("test.fail", fail, FailParams),
    Operation("test.write_readonly", write, WriteParams),
    Operation("test.write", write, WriteParams, mutates=True),
]
#: The built-in table plus the tests' types.
WITH_TEST_OPERATIONS = TABLE.extended(TEST_OPERATIONS)
