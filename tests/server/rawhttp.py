"""Byte-exact HTTP/1.1 requests for tests that must control every header (or leave Host out)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


async def raw_request(
    port: int,
    method: str,
    path: str,
    headers: list[tuple[str, str]],
    *,
    host: str = "127.0.0.1",
    version: str = "1.1",
) -> RawResponse:
    """Send exactly these header lines (no Host unless given) and read the whole answer."""
    async with asyncio.timeout(5):
        reader, writer = await asyncio.open_connection(host, port)
        return await _exchange(reader, writer, method, path, headers, version)


async def raw_unix_request(
    socket_path: Path, method: str, path: str, headers: list[tuple[str, str]]
) -> RawResponse:
    """The same over the daemon's Unix socket."""
    async with asyncio.timeout(5):
        reader, writer = await asyncio.open_unix_connection(str(socket_path))
        return await _exchange(reader, writer, method, path, headers, "1.1")


async def _exchange(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    method: str,
    path: str,
    headers: list[tuple[str, str]],
    version: str,
) -> RawResponse:
    lines = [f"{method} {path} HTTP/{version}", *(f"{name}: {value}" for name, value in headers)]
    lines.append("Connection: close")
    try:
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        await writer.drain()
        raw = await reader.read()
    finally:
        writer.close()
        await writer.wait_closed()
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    parsed = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        parsed[name.strip().lower()] = value.strip()
    return RawResponse(int(status_line.split()[1]), parsed, body)
