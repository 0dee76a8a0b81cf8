"""A bare asyncio client of `POST /api/native/session`: chunked request frames out, reply frames back.

It speaks HTTP/1.1 byte by byte, so tests control every header and can send broken frames.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import struct
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from companion.nmhost.wire import SESSION_PATH
from tests.fixtures.daemon import DAEMON_TOKEN

LENGTH = struct.Struct("<I")


def session_headers(token: str = DAEMON_TOKEN, host: str = "localhost") -> list[tuple[str, str]]:
    return [("Host", host), ("Authorization", f"Bearer {token}"), ("X-Companion-Caller", "tests")]


def chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


def session_frame(message: Mapping[str, Any] | bytes) -> bytes:
    body = message if isinstance(message, bytes) else json.dumps(message).encode()
    return LENGTH.pack(len(body)) + body


class RawSession:
    """One open session; `status`/`headers` are the daemon's answer to the opening request."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._body = bytearray()
        self._body_done = False
        self.status = 0
        self.headers: dict[str, str] = {}

    @classmethod
    async def open(cls, socket_path: Path, headers: Sequence[tuple[str, str]] | None = None) -> RawSession:
        async with asyncio.timeout(5):
            reader, writer = await asyncio.open_unix_connection(str(socket_path))
            session = cls(reader, writer)
            lines = [f"POST {SESSION_PATH} HTTP/1.1"]
            lines += [f"{name}: {value}" for name, value in (headers or session_headers())]
            lines.append("Transfer-Encoding: chunked")
            writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
            await writer.drain()
            await session._read_head()
        return session

    async def _read_head(self) -> None:
        head = await self._reader.readuntil(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").rstrip("\r\n").split("\r\n")
        self.status = int(status_line.split()[1])
        for line in lines:
            name, _, value = line.partition(":")
            self.headers[name.strip().lower()] = value.strip()

    async def send(self, *messages: Mapping[str, Any] | bytes) -> None:
        """Each message as one frame, all in one chunk."""
        await self.send_raw(b"".join(session_frame(m) for m in messages))

    async def send_raw(self, data: bytes) -> None:
        self._writer.write(chunk(data))
        await self._writer.drain()

    async def end(self) -> None:
        """End the request stream (the last chunk); the daemon answers what it read, then ends."""
        self._writer.write(b"0\r\n\r\n")
        await self._writer.drain()

    async def receive(self, seconds: float = 5.0) -> Any:
        """The next reply frame, decoded; None once the daemon has ended the session."""
        async with asyncio.timeout(seconds):
            header = await self._body_bytes(LENGTH.size)
            if header is None:
                return None
            body = await self._body_bytes(LENGTH.unpack(header)[0])
        assert body is not None, "the session ended inside a reply frame"
        return json.loads(body)

    async def receive_all(self, seconds: float = 5.0) -> list[Any]:
        """Every reply frame until the daemon ends the session."""
        replies = []
        async with asyncio.timeout(seconds):
            while (reply := await self.receive(seconds)) is not None:
                replies.append(reply)
        return replies

    async def error_body(self) -> Any:
        """The JSON body of a refusal (a non-200 answer with a Content-Length)."""
        length = int(self.headers["content-length"])
        return json.loads(await self._reader.readexactly(length))

    async def _body_bytes(self, size: int) -> bytes | None:
        while len(self._body) < size and not self._body_done:
            line = await self._reader.readuntil(b"\r\n")
            length = int(line.split(b";")[0], 16)
            if length == 0:
                await self._reader.readuntil(b"\r\n")
                self._body_done = True
                break
            self._body += await self._reader.readexactly(length)
            assert await self._reader.readexactly(2) == b"\r\n"
        if len(self._body) < size:
            assert not self._body, f"the session ended with {len(self._body)} stray bytes"
            return None
        data = bytes(self._body[:size])
        del self._body[:size]
        return data

    async def close(self) -> None:
        self._writer.close()
        with contextlib.suppress(ConnectionError):
            await self._writer.wait_closed()
