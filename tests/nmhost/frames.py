"""Helpers for driving the native host: frames as Chrome writes them, and the host as a child process."""

from __future__ import annotations

import asyncio
import json
import os
import struct
import sys
from collections.abc import Mapping
from typing import Any

from companion.nmhost.config import EXTENSION_ID, origin_of

LENGTH = struct.Struct("=I")
OUR_ORIGIN = origin_of(EXTENSION_ID)
#: `request` reads at most this many events before the reply it waits for.
MAX_EVENTS_BETWEEN = 100


def frame(message: Mapping[str, Any] | bytes) -> bytes:
    body = message if isinstance(message, bytes) else json.dumps(message).encode()
    return LENGTH.pack(len(body)) + body


def parse_frames(data: bytes) -> list[Any]:
    """Every frame in `data`; fails on any byte that is not part of a well-formed frame."""
    messages = []
    offset = 0
    while offset < len(data):
        assert offset + 4 <= len(data), f"stray bytes after the last frame: {data[offset:]!r}"
        (size,) = LENGTH.unpack_from(data, offset)
        body = data[offset + 4 : offset + 4 + size]
        assert len(body) == size, "truncated frame"
        assert size <= 1024 * 1024, "a frame over 1 MiB reached Chrome"
        messages.append(json.loads(body.decode("utf-8")))
        offset += 4 + size
    return messages


def host_env(**extra: str) -> dict[str, str]:
    """The environment Chrome would give the host, under this test's CATS_COMPANION_HOME."""
    env = dict(os.environ)
    env.update(
        CATS_COMPANION_HOST_AUTOSTART="0",
        PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
    )
    env.pop("CATS_COMPANION_HOST_CONFIG", None)
    env.update(extra)
    return env


class HostProcess:
    """The host run as Chrome runs it: `python -m companion.nmhost <origin>` with pipes."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.received = bytearray()
        #: Events that arrived while `request` waited for a reply.
        self.events: list[Any] = []

    @classmethod
    async def start(cls, env: Mapping[str, str], origin: str = OUR_ORIGIN) -> HostProcess:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "companion.nmhost",
            origin,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=dict(env),
        )
        return cls(process)

    async def send(self, message: Mapping[str, Any] | bytes) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(frame(message))
        await self.process.stdin.drain()

    async def receive(self, seconds: float = 15.0) -> Any:
        assert self.process.stdout is not None
        async with asyncio.timeout(seconds):
            header = await self.process.stdout.readexactly(4)
            (size,) = LENGTH.unpack(header)
            body = await self.process.stdout.readexactly(size)
        self.received += header + body
        return json.loads(body)

    async def request(self, message: Mapping[str, Any]) -> Any:
        """Send a request and return its reply; the daemon's events relayed meanwhile (unsolicited, no
        `id`: a CATS check finishing, a sync's progress) are kept in `events` rather than taken for it."""
        await self.send(message)
        for _ in range(MAX_EVENTS_BETWEEN):
            reply = await self.receive()
            if not (isinstance(reply, dict) and "event" in reply and "id" not in reply):
                return reply
            self.events.append(reply)
        raise AssertionError(f"no reply among {MAX_EVENTS_BETWEEN} frames after {message!r}")

    async def close(self, seconds: float = 15.0) -> tuple[int, bytes]:
        """Close stdin as Chrome does on disconnect; the exit status and whatever else was on stdout."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.close()
        async with asyncio.timeout(seconds):
            rest = await self.process.stdout.read()
            code = await self.process.wait()
        self.received += rest
        return code, rest

    def kill(self) -> None:
        if self.process.returncode is None:
            self.process.kill()
