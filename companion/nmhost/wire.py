"""The native-messaging wire contract: protocol version, limits, paths, header and event names, framing.

This module is the one definition of what the host and the daemon must agree on to talk;
native-messaging/PROTOCOL.md is its prose form. It imports only the standard library because the
native host may import nothing else (tests/nmhost/test_stdlib_only.py), and the daemon imports
these same names rather than keeping copies (companion.protocol adds the pydantic envelopes).

The frame functions take binary file objects, so tests drive them with BytesIO.
"""

from __future__ import annotations

import struct

TYPE_CHECKING = False  # typing stays unimported at run time (the host's cold start): see companion/errors.py
if TYPE_CHECKING:
    from typing import BinaryIO, Final

#: Bumped only for incompatible changes; new message types and new optional fields are not that.
PROTOCOL_VERSION: Final = 1
#: Chrome disconnects a native host that sends a message over 1 MiB (measured: 1,048,576 bytes
#: of JSON is delivered, one more is not), so no reply or event may be bigger.
MAX_OUTGOING_BYTES: Final = 1024 * 1024
#: The largest request the host relays: the daemon refuses bodies over 1 MiB anyway
#: (companion.server.app.MAX_REQUEST_BYTES), so reading more would only waste memory.
MAX_INCOMING_BYTES: Final = 1024 * 1024

NATIVE_PATH: Final = "/api/native"
EVENTS_PATH: Final = "/api/native/events"
#: One long-lived session per host: a stream of request frames in, reply frames out (PROTOCOL.md).
SESSION_PATH: Final = "/api/native/session"
#: The extension origin Chrome gave the host (argv[1]), passed on so the daemon knows its caller.
CALLER_HEADER: Final = "X-Companion-Caller"

#: Events the daemon's event stream carries for the host itself; the host does not forward them.
STREAM_OPEN_EVENT: Final = "stream.open"
HEARTBEAT_EVENT: Final = "stream.heartbeat"
#: Sent (and forwarded) when a subscriber fell too far behind and was dropped: events were lost,
#: so the extension should re-read whatever state it shows.
LAGGED_EVENT: Final = "stream.lagged"

#: Message and event names: lower-case dotted words, e.g. `company.lookup`, `sync.progress`.
NAME_PATTERN: Final = r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$"
#: A string id may be 1 to this many characters (an integer id has no limit).
MAX_ID_LENGTH: Final = 128

#: A session frame is this 4-byte length, then that many bytes of one UTF-8 JSON envelope; little
#: endian whatever the platform, unlike Chrome's native-endian prefix.
SESSION_LENGTH: Final = struct.Struct("<I")
#: Chrome's own framing: a 4-byte length in native byte order.
_LENGTH = struct.Struct("=I")
_SKIP_CHUNK = 64 * 1024


def session_frame(body: bytes) -> bytes:
    """`body` as one session frame: its length prefix, then the bytes."""
    return SESSION_LENGTH.pack(len(body)) + body


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
