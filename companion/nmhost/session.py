"""The host's one long-lived session with the daemon, and the promise that every request gets one reply.

The thread reading Chrome's input calls `submit` for each well-formed request: it is written to the
session (opened on first use, and again on the next request after the daemon went away) and waits
in the pending table. One thread per connection reads reply frames and hands each to `deliver`
(the host's stdout writer), matched to its request by id: replies may come in any order. A request
is answered by whichever comes first -- its reply, its deadline (`daemon.timeout`, answered by the
watchdog thread: Chrome itself never times out), or its connection breaking (`daemon.unavailable`)
-- and never twice.

The watchdog sleeps until the oldest deadline, or when nothing is pending for one timeout span,
sleeps until woken: so a steady stream of requests never wakes it, and neither does an idle host.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable

from companion.errors import CompanionError, DaemonTimeoutError, DaemonUnavailableError, MessageTooLargeError
from companion.nmhost.link import DaemonRefusal, OversizedReplyError
from companion.nmhost.pending import MessageId, PendingRequests
from companion.nmhost.wire import MAX_OUTGOING_BYTES

#: Writes one frame to Chrome; the id is the request it answers (None for none).
Deliver = Callable[[bytes, MessageId | None], None]
Log = Callable[[str], None]
_ID_SCAN = 1024
_decoder = json.JSONDecoder()

TYPE_CHECKING = False  # typing stays unimported at run time (the host's cold start): see companion/errors.py
if TYPE_CHECKING:
    from typing import Protocol, TypeAlias

    class SessionLink(Protocol):
        """An open session with the daemon (companion.nmhost.link.SessionStream; tests pass fakes)."""

        def send(self, body: bytes) -> None: ...

        def wait(self) -> bool: ...

        def read_frame(self, limit: int) -> bytes | None: ...

        def close(self) -> None: ...

    #: Opens a session with its first request already sent; raises CompanionError or DaemonRefusal.
    Opener: TypeAlias = Callable[[bytes], SessionLink]


def error_frame(message_id: MessageId | None, code: str, message: str) -> bytes:
    reply = {"id": message_id, "ok": False, "error": {"code": code, "message": message}}
    return json.dumps(reply, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def error_from(message_id: MessageId | None, error: CompanionError) -> bytes:
    return error_frame(message_id, error.code, error.message)


def reply_id(frame: bytes) -> object:
    """The `id` of a reply envelope, read from its first bytes where the daemon puts it.

    Every reply the daemon encodes starts `{"id":`; anything else is parsed whole.
    """
    if frame.startswith(b'{"id":'):
        head = frame[6:_ID_SCAN].decode("utf-8", "ignore")
        try:
            return _decoder.raw_decode(head)[0]
        except ValueError:
            pass
    try:
        envelope = json.loads(frame)
    except ValueError:
        return None
    return envelope.get("id") if isinstance(envelope, dict) else None


class DaemonSession:
    """Relays requests through one session at a time; see the module docstring."""

    def __init__(
        self,
        opener: Opener,
        deliver: Deliver,
        *,
        timeout: float,
        on_daemon: Callable[[], None] | None = None,
        log: Log,
    ) -> None:
        self._opener = opener
        self._deliver = deliver
        #: Told whenever a reply arrives: the daemon is there (not at open: the first reply comes first).
        self._on_daemon = on_daemon
        self._log = log
        self._timeout_error = DaemonTimeoutError(f"the companion did not answer within {timeout:g} s")
        self._lock = threading.Lock()
        self._wakeup = threading.Condition(self._lock)
        self._drained = threading.Condition(self._lock)
        self._pending = PendingRequests(timeout)
        self._link: SessionLink | None = None
        self._generation = 0
        self._closed = False
        self._watchdog: threading.Thread | None = None
        self._watchdog_idle = False

    def submit(self, message_id: MessageId, body: bytes) -> None:
        """Send one well-formed request; its reply (or error) reaches `deliver` later, exactly once."""
        retried = False
        while True:
            link = self._link
            if link is None:
                self._open_with(message_id, body)
                return
            generation = self._generation
            with self._lock:
                idle = not self._pending
                self._pending.add(message_id, generation, time.monotonic())
                if self._watchdog_idle:
                    self._watchdog_idle = False
                    self._wakeup.notify()
            try:
                link.send(body)
                return
            except OSError as exc:
                with self._lock:
                    self._pending.take(message_id)
                why = f"the connection to the companion broke ({_why(exc)})"
                self._lost(link, generation, DaemonUnavailableError(why))
                if idle and not retried:
                    # Idle until now, so the daemon closed it (it stopped or restarted): this request
                    # never reached it, and a fresh session decides.
                    retried = True
                    continue
                self._deliver(error_from(message_id, DaemonUnavailableError(why)), message_id)
                return

    def drain(self, timeout: float) -> bool:
        """Wait until every request sent has been answered; False if `timeout` passed first."""
        with self._lock:
            return self._drained.wait_for(lambda: not self._pending, timeout)

    def close(self) -> None:
        """End the session; requests still pending are answered `daemon.unavailable`."""
        with self._lock:
            self._closed = True
            link = self._link
            self._wakeup.notify_all()
        if link is not None:
            link.close()

    def _open_with(self, message_id: MessageId, body: bytes) -> None:
        """Open a session whose opening request carries this first request (one round trip less)."""
        # Only the submitting thread opens sessions, so this needs no lock while it waits.
        try:
            link = self._opener(body)
        except CompanionError as exc:
            self._log(f"{message_id!r}: {exc.code}: {exc.message}")
            self._deliver(error_from(message_id, exc), message_id)
            return
        except DaemonRefusal as refusal:
            self._log(f"{message_id!r}: the companion refused the session: {refusal.code}")
            self._deliver(error_frame(message_id, refusal.code, refusal.message), message_id)
            return
        with self._lock:
            closed = self._closed
            if not closed:
                self._generation += 1
                generation = self._generation
                self._link = link
                # Before the reply thread starts: its reply may be waiting already.
                self._pending.add(message_id, generation, time.monotonic())
                self._watchdog_idle = False
                self._wakeup.notify()
        if closed:
            link.close()
            self._deliver(error_from(message_id, DaemonUnavailableError("the host is closing")), message_id)
            return
        self._log(f"session {generation} open")
        # Only now, with the first request on its way: starting a thread takes a millisecond or more
        # on a busy machine, and the daemon is working on the request meanwhile.
        self._start_threads(link, generation)

    def _start_threads(self, link: SessionLink, generation: int) -> None:
        """The new session's reply reader, and the deadline watchdog if it is not running yet."""
        threading.Thread(
            target=self._read_replies, args=(link, generation), name=f"replies-{generation}", daemon=True
        ).start()
        if self._watchdog is None:
            self._watchdog = threading.Thread(target=self._watch, name="deadlines", daemon=True)
            self._watchdog.start()

    def _read_replies(self, link: SessionLink, generation: int) -> None:
        """One connection's reader: each reply frame to its request, until the session ends."""
        why = "the companion ended the session"
        try:
            while True:
                try:
                    if not link.wait():
                        break
                except TimeoutError:
                    continue  # a quiet daemon; the watchdog minds the deadlines
                try:
                    frame = link.read_frame(MAX_OUTGOING_BYTES)
                except OversizedReplyError as exc:
                    self._answer(
                        reply_id(exc.head),
                        MessageTooLargeError(
                            f"the answer was {exc.size} bytes, over the {MAX_OUTGOING_BYTES} Chrome accepts; "
                            "ask for a smaller page"
                        ),
                    )
                    continue
                if frame is None:
                    break
                self._answer(reply_id(frame), frame)
        except OSError as exc:
            why = f"the connection to the companion broke ({_why(exc)})"
        self._lost(link, generation, DaemonUnavailableError(why))

    def _answer(self, message_id: object, reply: bytes | CompanionError) -> None:
        if isinstance(message_id, bool) or not isinstance(message_id, int | str):
            self._log("dropped a reply without a usable id")
            return
        with self._lock:
            found = self._pending.take(message_id)
            if found and not self._pending:
                self._drained.notify_all()
        if not found:
            self._log(f"dropped a reply to {message_id!r}: it was answered already")
            return
        if isinstance(reply, CompanionError):
            self._log(f"reply to {message_id!r}: {reply.code}")
            reply = error_from(message_id, reply)
        self._deliver(reply, message_id)
        if self._on_daemon is not None:
            self._on_daemon()

    def _lost(self, link: SessionLink, generation: int, error: CompanionError) -> None:
        """`link` broke or ended: it is closed, and its pending requests get `error`."""
        with self._lock:
            if self._link is link:
                self._link = None
            failed = self._pending.fail(generation)
            if not self._pending:
                self._drained.notify_all()
        link.close()
        self._log(f"session {generation} ended: {error.message}")
        for message_id in failed:
            self._deliver(error_from(message_id, error), message_id)

    def _watch(self) -> None:
        """Answer `daemon.timeout` for each request whose deadline passes."""
        lingered = False
        while True:
            with self._lock:
                if self._closed:
                    return
                now = time.monotonic()
                expired = self._pending.expire(now)
                if not expired:
                    # Sleeping at most one timeout span: a request added meanwhile expires no sooner.
                    deadline = self._pending.next_deadline()
                    if deadline is not None:
                        lingered = False
                        self._wakeup.wait(deadline - now)
                    elif not lingered:
                        lingered = True
                        self._wakeup.wait(self._pending.timeout)
                    else:
                        lingered = False
                        self._watchdog_idle = True
                        self._wakeup.wait()
                    continue
                if not self._pending:
                    self._drained.notify_all()
            for message_id in expired:
                self._log(f"{message_id!r}: daemon.timeout")
                self._deliver(error_from(message_id, self._timeout_error), message_id)


def _why(exc: BaseException) -> str:
    return type(exc).__name__ if not str(exc) else f"{type(exc).__name__}: {exc}"
