"""The native host's main loop: check the caller, then relay frames to the daemon and events back.

A few relay threads take turns reading Chrome's input (leader/follower): the thread that reads a
frame answers a malformed one itself, or relays it (`POST /api/native`) over its own keep-alive
connection and writes the reply, while the next thread reads the next frame. So one slow message
does not hold up a quick lookup, and no frame is handed from one thread to another on its way (a
queue handoff costs tens of microseconds, a visible part of a lookup's round trip). One thread
reads the daemon's event stream. Every frame to Chrome is written under one lock, and nothing but
frames ever reaches stdout: `sys.stdout` itself is pointed at stderr, so even a stray print
cannot corrupt the stream.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import BinaryIO, Protocol

from companion.errors import (
    BadRequestError,
    CompanionError,
    ConfigError,
    DaemonUnavailableError,
    ForbiddenOriginError,
    MessageTooLargeError,
    PayloadTooLargeError,
)
from companion.nmhost import config as host_config
from companion.nmhost import locations
from companion.nmhost.http11 import Response
from companion.nmhost.link import REQUEST_TIMEOUT, Channel, DaemonLocator, Log
from companion.nmhost.wire import (
    EVENTS_PATH,
    HEARTBEAT_EVENT,
    MAX_INCOMING_BYTES,
    MAX_OUTGOING_BYTES,
    NATIVE_PATH,
    STREAM_OPEN_EVENT,
    OversizedFrameError,
    TruncatedFrameError,
    read_frame,
    write_frame,
)

WORKERS = 4
#: The daemon sends a heartbeat every 15 s: three missed mean the stream is dead.
EVENT_READ_TIMEOUT = 45.0
EXIT_OK = 0
EXIT_CONFIG = 2
EXIT_FORBIDDEN = 3
_ID_LIMIT = 128

MessageId = int | str | None


class DaemonChannel(Protocol):
    """What a relay thread needs of its connection to the daemon (link.Channel; tests pass fakes)."""

    def post(self, path: str, body: bytes) -> tuple[int, bytes]: ...

    def stream(self, path: str) -> Response: ...

    def close(self) -> None: ...


def error_frame(message_id: MessageId, code: str, message: str) -> bytes:
    reply = {"id": message_id, "ok": False, "error": {"code": code, "message": message}}
    return json.dumps(reply, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def error_from(message_id: MessageId, error: CompanionError) -> bytes:
    return error_frame(message_id, error.code, error.message)


def inspect_request(body: bytes) -> tuple[MessageId, CompanionError | None]:
    """The request's id (when one can be read) and what is wrong with it as an envelope, if anything.

    The daemon validates the envelope fully; the host checks only what it needs to answer by itself.
    """
    try:
        raw = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        return None, BadRequestError("the message is not valid UTF-8")
    except ValueError as exc:
        return None, BadRequestError(f"the message is not valid JSON ({exc})")
    if not isinstance(raw, dict):
        return None, BadRequestError(f"a message must be a JSON object, not {type(raw).__name__}")
    message_id = raw.get("id")
    if (
        isinstance(message_id, bool)
        or not isinstance(message_id, int | str)
        or (isinstance(message_id, str) and not 0 < len(message_id) <= _ID_LIMIT)
    ):
        return None, BadRequestError(
            f"a message needs an id: an integer or a string of 1-{_ID_LIMIT} characters"
        )
    if not isinstance(raw.get("type"), str) or not raw["type"]:
        return message_id, BadRequestError('a message needs a type, e.g. "hello"')
    return message_id, None


class Host:
    """One browser connection: frames in from `stdin`, frames out to `stdout`."""

    def __init__(
        self,
        *,
        stdin: BinaryIO,
        stdout: BinaryIO,
        channel: Callable[..., DaemonChannel],
        workers: int = WORKERS,
        log: Log,
    ) -> None:
        self._stdin = stdin
        self._stdout = stdout
        self._new_channel = channel
        self._workers = max(1, workers)
        self._log = log
        self._out_lock = threading.Lock()
        #: Held by the one relay thread reading Chrome's input at a time.
        self._in_lock = threading.Lock()
        self._daemon_seen = threading.Event()
        self._stopping = threading.Event()

    def run(self) -> int:
        threads = [
            threading.Thread(target=self._serve, name=f"relay-{i}", daemon=True)
            for i in range(1, self._workers)
        ]
        for thread in threads:
            thread.start()
        threading.Thread(target=self._relay_events, name="events", daemon=True).start()
        try:
            self._serve()
        finally:
            self._stopping.set()
            self._daemon_seen.set()  # wakes the event thread so it can see the stop
            # The others end once their message is answered (bounded by the request timeout).
            deadline = time.monotonic() + REQUEST_TIMEOUT + 1
            for thread in threads:
                thread.join(max(0.0, deadline - time.monotonic()))
        return EXIT_OK

    def send(self, frame: bytes, message_id: MessageId = None) -> None:
        """Write one frame to Chrome; one over 1 MiB becomes a `message.too_large` error instead."""
        if len(frame) > MAX_OUTGOING_BYTES:
            self._log(f"reply to {message_id!r} was {len(frame)} bytes: sent message.too_large instead")
            frame = error_from(
                message_id,
                MessageTooLargeError(
                    f"the answer was {len(frame)} bytes, over the {MAX_OUTGOING_BYTES} Chrome accepts; "
                    "ask for a smaller page"
                ),
            )
        with self._out_lock:
            try:
                write_frame(self._stdout, frame)
            except (BrokenPipeError, ValueError, OSError):
                # Chrome closed the pipe: nobody is listening any more.
                self._stopping.set()

    def _serve(self) -> None:
        """One relay thread: take the next well-formed request from Chrome, relay it, answer it."""
        channel = self._new_channel()
        try:
            while (job := self._next_request()) is not None:
                message_id, body = job
                self.send(self._relay(channel, message_id, body), message_id)
        finally:
            channel.close()

    def _next_request(self) -> tuple[MessageId, bytes] | None:
        """The next frame worth relaying, answering malformed ones on the way; None once input ends."""
        with self._in_lock:
            while not self._stopping.is_set():
                try:
                    body = read_frame(self._stdin, MAX_INCOMING_BYTES)
                except TruncatedFrameError as exc:
                    self._log(f"input ended mid-frame ({exc}); exiting")
                    break
                except OversizedFrameError as exc:
                    self.send(
                        error_from(
                            None,
                            PayloadTooLargeError(
                                f"a {exc.size}-byte message is over the {exc.limit}-byte limit"
                            ),
                        )
                    )
                    continue
                if body is None:
                    break
                message_id, problem = inspect_request(body)
                if problem is not None:
                    self.send(error_from(message_id, problem), message_id)
                    continue
                return message_id, body
            # Input is over: every other relay thread stops once it comes here.
            self._stopping.set()
            return None

    def _relay(self, channel: DaemonChannel, message_id: MessageId, body: bytes) -> bytes:
        try:
            status, data = channel.post(NATIVE_PATH, body)
        except CompanionError as exc:
            self._log(f"{message_id!r}: {exc.code}: {exc.message}")
            return error_from(message_id, exc)
        self._daemon_seen.set()
        if status == 200:
            return data
        # Refused before dispatch (e.g. 413 for a body the daemon would not read): {"error": {...}}.
        try:
            error = json.loads(data)["error"]
            return error_frame(message_id, str(error["code"]), str(error["message"]))
        except (ValueError, KeyError, TypeError):
            return error_from(message_id, DaemonUnavailableError(f"the companion answered HTTP {status}"))

    def _relay_events(self) -> None:
        channel = self._new_channel(timeout=EVENT_READ_TIMEOUT, start_daemon=False)
        while True:
            # Only once a request got through: the event stream never starts the daemon itself.
            self._daemon_seen.wait()
            if self._stopping.is_set():
                return
            try:
                response = channel.stream(EVENTS_PATH)
                self._log("event stream open")
                while line := response.readline(MAX_OUTGOING_BYTES + 2):
                    self._forward_event(line.rstrip(b"\r\n"))
                self._log("event stream ended")
            except (CompanionError, OSError) as exc:
                self._log(f"event stream failed: {exc}")
                self._daemon_seen.clear()
            finally:
                channel.close()
            # A short pause, so that a daemon ending streams at once cannot make this spin.
            if self._stopping.wait(0.1):
                return

    def _forward_event(self, line: bytes) -> None:
        if not line:
            return
        try:
            name = json.loads(line).get("event")
        except (ValueError, AttributeError):
            self._log("dropped an unreadable event line")
            return
        if name in (HEARTBEAT_EVENT, STREAM_OPEN_EVENT):
            return
        self.send(line)


class _FileLog:
    """Appends timestamped lines to host.log; used only when logging is switched on."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._lock = threading.Lock()

    def __call__(self, message: str) -> None:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
        with self._lock, open(self._path, "a", encoding="utf-8") as handle:
            handle.write(f"{stamp} [{os.getpid()}] {message}\n")


def _no_log(message: str) -> None:
    pass


def _refuse(stdout: BinaryIO, error: CompanionError) -> None:
    write_frame(stdout, error_from(None, error))


def main(
    argv: Sequence[str] | None = None,
    *,
    stdin: BinaryIO | None = None,
    stdout: BinaryIO | None = None,
    env: Mapping[str, str] | None = None,
) -> int:
    """Entry point of `cats-companion-host`: argv[1] is the calling origin, as Chrome passes it."""
    argv = sys.argv if argv is None else argv
    env = os.environ if env is None else env
    if stdout is None:
        stdout = sys.stdout.buffer
        # Anything printed by mistake goes to stderr (Chrome's log), never into the frame stream.
        sys.stdout = sys.stderr
    stdin = sys.stdin.buffer if stdin is None else stdin
    try:
        settings = host_config.load_config(env)
    except host_config.HostConfigError as exc:
        _refuse(stdout, ConfigError(str(exc)))
        return EXIT_CONFIG
    log: Log = _no_log
    log_dir = locations.log_dir(env)
    if settings.log:
        os.makedirs(log_dir, mode=0o700, exist_ok=True)
        log = _FileLog(os.path.join(log_dir, "host.log"))
    caller = argv[1] if len(argv) > 1 else ""
    if caller not in settings.allowed_origins:
        log(f"refused caller {caller!r}")
        _refuse(
            stdout, ForbiddenOriginError(f"this native host does not serve {caller or 'an unnamed caller'}")
        )
        return EXIT_FORBIDDEN
    log(f"started for {caller}")
    locator = DaemonLocator(
        locations.runtime_dir(env), log_dir, autostart=settings.autostart, env=env, log=log
    )

    def channel(*, timeout: float = REQUEST_TIMEOUT, start_daemon: bool = True) -> Channel:
        return Channel(locator, caller, timeout=timeout, start_daemon=start_daemon)

    return Host(stdin=stdin, stdout=stdout, channel=channel, log=log).run()
