"""The few bytes of HTTP/1.1 the host speaks with its daemon: keep-alive requests, sized or chunked replies.

Besides whole requests, a request body may be streamed as chunks (`request(..., chunked=True)`
then `send_chunk`) while its response is read at the same time (`Response.read_exact`): that is
the native session (companion.nmhost.link.SessionStream).

The standard library's http.client would do, but importing it pulls in email and ssl and costs
about 27 ms, a third of the host's cold start; the daemon is ours and speaks plain HTTP/1.1 over a
private socket, so this small client is enough. Every read and write goes through the socket's
timeout; protocol violations raise ProtocolError (an OSError, so callers handle them as I/O).
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Callable, Mapping

_MAX_LINE = 65_536
_MAX_HEADERS = 100


class ProtocolError(OSError):
    """The daemon answered something that is not HTTP/1.1 as we speak it."""


class RemoteDisconnected(ConnectionResetError):
    """The connection closed before a status line arrived (an idle keep-alive the daemon dropped)."""


class Response:
    """One reply: status, lower-cased headers, and its body read whole or line by line."""

    def __init__(self, status: int, headers: dict[str, str], file: _Reader) -> None:
        self.status = status
        self.headers = headers
        self._file = file
        self._chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        length = headers.get("content-length")
        if length is not None and not length.isdigit():
            raise ProtocolError(f"bad Content-Length {length!r}")
        self._left: int | None = int(length) if length is not None else None
        self._chunk_left = 0
        self._done = not self._chunked and self._left == 0
        self.will_close = headers.get("connection", "").lower() == "close" or (
            not self._chunked and self._left is None
        )

    def read(self) -> bytes:
        """The whole remaining body."""
        parts = []
        while line := self.readline(_MAX_LINE):
            parts.append(line)
        return b"".join(parts)

    def read_exact(self, size: int) -> bytes:
        """Exactly `size` bytes of body, across chunks; fewer only where the body ends."""
        out = bytearray()
        while len(out) < size and not self._done:
            room = size - len(out)
            if self._chunked:
                if self._chunk_left == 0 and not self._next_chunk():
                    break
                want = min(room, self._chunk_left)
                piece = self._file.read_exact(want)
                if len(piece) < want:
                    raise ProtocolError("the connection closed in the middle of a chunk")
                self._chunk_left -= want
                if self._chunk_left == 0:
                    self._expect_crlf()
            elif self._left is not None:
                piece = self._file.read_exact(min(room, self._left))
                self._left -= len(piece)
                self._done = self._left == 0
            else:
                piece = self._file.read_exact(room)
                self._done = len(piece) < room
            if not piece and not self._done:
                raise ProtocolError("the connection closed in the middle of a reply")
            out += piece
        return bytes(out)

    def wait(self) -> bool:
        """Block until body bytes can be read without waiting; False once the connection has ended."""
        return self._file.fill()

    def readline(self, limit: int) -> bytes:
        """Up to `limit` bytes of body ending at a newline; b"" once the body is over."""
        out = bytearray()
        while not self._done and len(out) < limit and not out.endswith(b"\n"):
            room = limit - len(out)
            if self._chunked:
                if self._chunk_left == 0 and not self._next_chunk():
                    break
                piece = self._file.readline(min(room, self._chunk_left))
                self._chunk_left -= len(piece)
                if self._chunk_left == 0:
                    self._expect_crlf()
            elif self._left is not None:
                piece = self._file.readline(min(room, self._left))
                self._left -= len(piece)
                self._done = self._left == 0
            else:
                piece = self._file.readline(room)
                self._done = not piece
            if not piece and not self._done:
                raise ProtocolError("the connection closed in the middle of a reply")
            out += piece
        return bytes(out)

    def _next_chunk(self) -> bool:
        line = self._file.readline(_MAX_LINE)
        if not line.endswith(b"\n"):
            raise ProtocolError("the connection closed in the middle of a chunked reply")
        size_text = line.split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise ProtocolError(f"bad chunk size {size_text!r}") from None
        if size == 0:
            # Trailer lines up to the blank line that ends the message.
            for _ in range(_MAX_HEADERS):
                if self._file.readline(_MAX_LINE) in (b"\r\n", b"\n", b""):
                    break
            self._done = True
            return False
        self._chunk_left = size
        return True

    def _expect_crlf(self) -> None:
        if self._file.readline(3) not in (b"\r\n", b"\n"):
            raise ProtocolError("a chunk did not end with CRLF")


class _Reader:
    """A buffered reader with a bounded readline over a socket (socket.makefile's, minus its cost)."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._buffer = b""

    def fill(self) -> bool:
        """Wait for at least one byte to be buffered; False at the end of the stream.

        A timeout here leaves nothing half-read, so the caller may simply wait again.
        """
        if self._buffer:
            return True
        data = self._sock.recv(65_536)
        self._buffer = data
        return bool(data)

    def read_exact(self, size: int) -> bytes:
        """`size` bytes; fewer only at the end of the stream."""
        while len(self._buffer) < size:
            data = self._sock.recv(max(65_536, size - len(self._buffer)))
            if not data:
                break
            self._buffer += data
        piece, self._buffer = self._buffer[:size], self._buffer[size:]
        return piece

    def readline(self, limit: int) -> bytes:
        while True:
            end = self._buffer.find(b"\n", 0, limit)
            if end >= 0:
                line, self._buffer = self._buffer[: end + 1], self._buffer[end + 1 :]
                return line
            if len(self._buffer) >= limit:
                line, self._buffer = self._buffer[:limit], self._buffer[limit:]
                return line
            data = self._sock.recv(65_536)
            if not data:
                line, self._buffer = self._buffer, b""
                return line
            self._buffer += data


class Connection:
    """One keep-alive HTTP/1.1 connection; `connect` opens the socket (Unix or TCP) with its timeouts."""

    def __init__(self, opener: Callable[[], socket.socket], host: str) -> None:
        self._opener = opener
        self._host = host
        self.sock: socket.socket | None = None
        self._reader: _Reader | None = None

    def connect(self) -> None:
        self.sock = self._opener()
        self._reader = _Reader(self.sock)

    def close(self) -> None:
        """Close the socket; safe to call from two threads at once (a session's sender and reader)."""
        sock, self.sock = self.sock, None
        self._reader = None
        if sock is not None:
            # shutdown first: it wakes a thread blocked reading this socket, which close alone does not.
            with contextlib.suppress(OSError):  # not connected any more: nothing to wake
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None,
        headers: Mapping[str, str],
        *,
        chunked: bool = False,
    ) -> None:
        """Send a request; with `chunked`, its head and `body` as its first chunk: more follow
        through `send_chunk`."""
        if self.sock is None:
            self.connect()
        assert self.sock is not None
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self._host}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        if chunked:
            lines.append("Transfer-Encoding: chunked")
        elif body is not None or method in ("POST", "PUT"):
            lines.append(f"Content-Length: {len(body or b'')}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if chunked:
            self.sock.sendall(head + (b"%x\r\n%b\r\n" % (len(body), body) if body else b""))
        else:
            self.sock.sendall(head + (body or b""))

    def send_chunk(self, data: bytes) -> None:
        """One chunk of a streamed request body (an empty one would end the body, so it is not sent)."""
        if data:
            self._live().sendall(b"%x\r\n%b\r\n" % (len(data), data))

    def _live(self) -> socket.socket:
        # Another thread may have closed it (the session's reader, at the end of the session).
        sock = self.sock
        if sock is None:
            raise ConnectionResetError("the connection to the companion is closed")
        return sock

    def getresponse(self) -> Response:
        assert self._reader is not None, "request() first"
        status_line = self._reader.readline(_MAX_LINE)
        if not status_line:
            raise RemoteDisconnected("the companion closed the connection without answering")
        parts = status_line.split(None, 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
            raise ProtocolError(f"not an HTTP status line: {status_line[:80]!r}")
        headers: dict[str, str] = {}
        for _ in range(_MAX_HEADERS + 1):
            line = self._reader.readline(_MAX_LINE)
            if line in (b"\r\n", b"\n"):
                response = Response(int(parts[1]), headers, self._reader)
                if parts[0] == b"HTTP/1.0":
                    response.will_close = True
                return response
            name, sep, value = line.decode("latin-1").partition(":")
            if not sep:
                raise ProtocolError(f"bad header line {line[:80]!r}")
            headers[name.strip().lower()] = value.strip()
        raise ProtocolError("too many header lines")
