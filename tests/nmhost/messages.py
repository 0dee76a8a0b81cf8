"""Message types the tests add to the daemon (through MESSAGE_MODULES, as a feature module would)."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from pydantic import BaseModel

from companion.errors import CatsNotFoundError
from companion.server.native import NativeCall, NativeRegistry
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


async def slow(call: NativeCall, params: SlowParams) -> dict[str, Any]:
    await asyncio.sleep(params.seconds)
    return {"slept": params.seconds}


async def big(call: NativeCall, params: BigParams) -> dict[str, Any]:
    return {"blob": "x" * params.size}


async def publish(call: NativeCall, params: PublishParams) -> dict[str, Any]:
    return {"reached": call.events.publish(params.name, params.data)}


async def fail(call: NativeCall, params: FailParams) -> dict[str, Any]:
    if params.kind == "companion":
        raise CatsNotFoundError("no candidate 42 in CATS")
    raise RuntimeError("details that must not reach the browser: /home/someone/secret")


async def write(call: NativeCall, params: WriteParams) -> dict[str, Any]:
    await set_meta(call.ctx.db, "test", params.value)
    return {"written": params.value}


async def hold(call: NativeCall, params: HoldParams) -> dict[str, Any]:
    await gate(params.gate).wait()
    return {"released": params.gate}


def register_messages(registry: NativeRegistry) -> None:
    registry.add("test.slow", slow, params=SlowParams)
    registry.add("test.hold", hold, params=HoldParams)
    registry.add("test.big", big, params=BigParams)
    registry.add("test.publish", publish, params=PublishParams)
    registry.add("test.fail", fail, params=FailParams)
    registry.add("test.write_readonly", write, params=WriteParams)
    registry.add("test.write", write, params=WriteParams, mutates=True)
