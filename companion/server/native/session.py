"""The daemon's side of one native session: request frames read from a stream, answered concurrently.

A session is one HTTP request (`POST /api/native/session`, companion.server.native.endpoint) whose body is a
stream of length-prefixed request frames and whose streaming response carries the reply frames
(companion.nmhost.wire.SESSION_LENGTH). Each frame is answered in its own task, so a slow message
never holds up a quick one; replies are written whole, one at a time, in the order they are ready.
At most `max_in_flight` frames are answered at once: beyond that the session stops reading, and
the socket's own flow control pushes back on the host. A frame over the size limit or a stream that
ends inside a frame gets an error reply (id null: its id cannot be read) and ends the session; so
does `stop()`, which `NativeSessions.close()` calls for every open session when the daemon stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator
from typing import Final

from aiohttp import StreamReader, web

from companion.errors import BadRequestError, CompanionError, PayloadTooLargeError
from companion.nmhost.wire import MAX_INCOMING_BYTES, SESSION_LENGTH
from companion.protocol import encode, error_reply

log = logging.getLogger(__name__)

#: One request envelope in, its encoded reply out; never raises (companion.server.native.dispatch_bytes).
Dispatch = Callable[[bytes], Awaitable[bytes]]

#: Frames of one session answered at once; the next is read only when one of them is answered.
MAX_IN_FLIGHT: Final = 32


class _StreamEnded(Exception):
    """The request stream is over: cleanly (`error` None) or with an error to send before ending."""

    def __init__(self, error: CompanionError | None = None) -> None:
        super().__init__(error.message if error is not None else "the stream ended")
        self.error = error


class NativeSession:
    """One open session: `run()` serves it until its input ends, its peer goes away or `stop()`."""

    def __init__(
        self,
        content: StreamReader,
        response: web.StreamResponse,
        dispatch: Dispatch,
        *,
        max_in_flight: int = MAX_IN_FLIGHT,
        max_frame: int = MAX_INCOMING_BYTES,
    ) -> None:
        if max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        self._content = content
        self._response = response
        self._dispatch = dispatch
        self._max_frame = max_frame
        self._slots = asyncio.Semaphore(max_in_flight)
        self._write_lock = asyncio.Lock()
        self._answering: set[asyncio.Task[None]] = set()
        self._reader: asyncio.Task[None] | None = None
        self._stopped = False

    @property
    def in_flight(self) -> int:
        return len(self._answering)

    async def run(self) -> None:
        """Read and answer frames; once the input is over, finish answering what was read, then end."""
        reader = asyncio.create_task(self._read_frames())
        self._reader = reader
        if self._stopped:
            reader.cancel()
        try:
            await asyncio.wait([reader])
            while self._answering and not self._stopped:
                await asyncio.wait(set(self._answering))
        finally:
            # Stopped (or this handler cancelled): nothing more is read, and what is unanswered stays so;
            # the host answers those requests with daemon.unavailable when the stream ends.
            tasks = [reader, *self._answering]
            for task in tasks:
                task.cancel()
            await asyncio.wait(tasks)
        with contextlib.suppress(ConnectionError):
            await self._response.write_eof()

    def stop(self) -> None:
        """End the session now (the daemon is stopping): stop reading, cancel what is being answered."""
        self._stopped = True
        if self._reader is not None:
            self._reader.cancel()
        for task in self._answering:
            task.cancel()

    async def _read_frames(self) -> None:
        try:
            while True:
                await self._slots.acquire()
                try:
                    body = await self._next_frame()
                except BaseException:
                    self._slots.release()
                    raise
                task = asyncio.create_task(self._answer(body))
                self._answering.add(task)
                task.add_done_callback(self._answering.discard)
        except _StreamEnded as end:
            if end.error is not None:
                log.info("a native session ended: %s", end.error.message)
                await self._write(encode(error_reply(None, end.error)))

    async def _next_frame(self) -> bytes:
        """The next frame's body; raises _StreamEnded at the end of the input, clean or not."""
        try:
            header = await self._content.readexactly(SESSION_LENGTH.size)
        except asyncio.IncompleteReadError as exc:
            if not exc.partial:
                raise _StreamEnded() from None
            raise _StreamEnded(BadRequestError("the session's input ended inside a length prefix")) from None
        except ConnectionError:
            raise _StreamEnded() from None
        (size,) = SESSION_LENGTH.unpack(header)
        if size > self._max_frame:
            # Not skipped: a peer that sends this much is not one of ours, and the session ends here.
            raise _StreamEnded(
                PayloadTooLargeError(f"a {size}-byte message is over the {self._max_frame}-byte limit")
            )
        try:
            return await self._content.readexactly(size)
        except asyncio.IncompleteReadError as exc:
            raise _StreamEnded(
                BadRequestError(f"the session's input ended after {len(exc.partial)} of {size} bytes")
            ) from None
        except ConnectionError:
            raise _StreamEnded() from None

    async def _answer(self, body: bytes) -> None:
        try:
            await self._write(await self._dispatch(body))
        finally:
            self._slots.release()

    async def _write(self, reply: bytes) -> None:
        # One lock: a reply is written whole before the next begins (a write may wait to drain).
        async with self._write_lock:
            try:
                await self._response.write(SESSION_LENGTH.pack(len(reply)) + reply)
            except ConnectionError:
                # The host went away: nobody will read another reply.
                self.stop()


class NativeSessions:
    """The open sessions of one daemon, so that stopping the daemon ends them at once."""

    def __init__(self) -> None:
        self._open: set[NativeSession] = set()
        self._closed = False

    def __len__(self) -> int:
        return len(self._open)

    @contextlib.contextmanager
    def track(self, session: NativeSession) -> Iterator[NativeSession]:
        if self._closed:
            session.stop()
        self._open.add(session)
        try:
            yield session
        finally:
            self._open.discard(session)

    def close(self) -> None:
        """Stop every open session, and any opened from now on."""
        self._closed = True
        for session in list(self._open):
            session.stop()


__all__ = ["MAX_IN_FLIGHT", "Dispatch", "NativeSession", "NativeSessions"]
