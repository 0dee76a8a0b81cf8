"""The host's framing: Chrome's (4-byte native-endian length, then UTF-8 JSON) and the daemon session's.

The functions take binary file objects, so tests drive them with BytesIO. The constants mirror
companion.protocol (which needs pydantic and so cannot be imported here); a test keeps them equal.
"""

from __future__ import annotations

import struct
from typing import BinaryIO

PROTOCOL_VERSION = 1
MAX_OUTGOING_BYTES = 1024 * 1024
MAX_INCOMING_BYTES = 1024 * 1024
NATIVE_PATH = "/api/native"
EVENTS_PATH = "/api/native/events"
SESSION_PATH = "/api/native/session"
CALLER_HEADER = "X-Companion-Caller"
STREAM_OPEN_EVENT = "stream.open"
HEARTBEAT_EVENT = "stream.heartbeat"

_LENGTH = struct.Struct("=I")
#: A session frame's length prefix: little endian whatever the platform (companion.protocol.SESSION_LENGTH).
SESSION_LENGTH = struct.Struct("<I")
_SKIP_CHUNK = 64 * 1024


class TruncatedFrameError(Exception):
    """The input ended in the middle of a frame (the browser went away)."""


class OversizedFrameError(Exception):
    """A frame longer than the limit arrived; its body was read and thrown away."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"a {size}-byte message is over the {limit}-byte limit")
        self.size = size
        self.limit = limit


def read_frame(stream: BinaryIO, limit: int = MAX_INCOMING_BYTES) -> bytes | None:
    """The next frame's body; None at a clean end of input.

    Raises TruncatedFrameError when the input ends mid-frame, and OversizedFrameError for a body
    over `limit` -- after consuming it, so that the next frame can still be read.
    """
    header = _read_exactly(stream, _LENGTH.size)
    if not header:
        return None
    if len(header) < _LENGTH.size:
        raise TruncatedFrameError("the input ended inside a length prefix")
    (size,) = _LENGTH.unpack(header)
    if size > limit:
        if _skip(stream, size) < size:
            raise TruncatedFrameError("the input ended inside an oversized message")
        raise OversizedFrameError(size, limit)
    body = _read_exactly(stream, size)
    if len(body) < size:
        raise TruncatedFrameError(f"the input ended after {len(body)} of {size} bytes")
    return body


def write_frame(stream: BinaryIO, body: bytes, limit: int = MAX_OUTGOING_BYTES) -> None:
    """Write one frame and flush it; refuses (ValueError) a body Chrome would not accept."""
    if len(body) > limit:
        raise ValueError(f"a {len(body)}-byte frame is over the {limit}-byte limit")
    stream.write(_LENGTH.pack(len(body)) + body)
    stream.flush()


def _read_exactly(stream: BinaryIO, size: int) -> bytes:
    """Up to `size` bytes: fewer only at end of input (a pipe may deliver a frame in pieces)."""
    chunks = []
    remaining = size
    while remaining > 0:
        chunk = stream.read(remaining)
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def _skip(stream: BinaryIO, size: int) -> int:
    skipped = 0
    while skipped < size:
        chunk = stream.read(min(_SKIP_CHUNK, size - skipped))
        if not chunk:
            break
        skipped += len(chunk)
    return skipped
