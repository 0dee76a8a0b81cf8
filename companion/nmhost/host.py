"""The native host's main loop: check the caller, then relay frames to the daemon and events back.

The main thread reads Chrome's input: it answers a malformed frame itself and writes a good one to
the host's one session with the daemon (`POST /api/native/session`, companion.nmhost.session),
whose own thread writes each reply as it comes, in whatever order the daemon answers; so one slow
message does not hold up a quick lookup, and no frame is handed from one thread to another on its
way. One more thread reads the daemon's event stream. Every frame to Chrome is written under one
lock, and nothing but frames ever reaches stdout: `sys.stdout` itself is pointed at stderr, so
even a stray print cannot corrupt the stream.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence

from companion.errors import (
    BadRequestError,
    CompanionError,
    ConfigError,
    ForbiddenOriginError,
    MessageTooLargeError,
    PayloadTooLargeError,
)
from companion.nmhost import config as host_config
from companion.nmhost import locations
from companion.nmhost.http11 import Response
from companion.nmhost.link import REQUEST_TIMEOUT, Channel, DaemonLocator, Log
from companion.nmhost.session import DaemonSession, error_frame, error_from
from companion.nmhost.wire import (
    EVENTS_PATH,
    HEARTBEAT_EVENT,
    MAX_ID_LENGTH,
    MAX_INCOMING_BYTES,
    MAX_OUTGOING_BYTES,
    STREAM_OPEN_EVENT,
    OversizedFrameError,
    TruncatedFrameError,
    read_frame,
    write_frame,
)

TYPE_CHECKING = False  # typing stays unimported at run time (the host's cold start): see companion/errors.py

#: The daemon sends a heartbeat every 15 s: three missed mean the stream is dead.
EVENT_READ_TIMEOUT = 45.0
EXIT_OK = 0
EXIT_CONFIG = 2
EXIT_FORBIDDEN = 3

MessageId = int | str | None

__all__ = ["EXIT_CONFIG", "EXIT_FORBIDDEN", "EXIT_OK", "Host", "error_frame", "error_from", "main"]


if TYPE_CHECKING:
    from typing import BinaryIO, Protocol

    from companion.nmhost.session import Opener, SessionLink

    class DaemonChannel(Protocol):
        """What the host needs of a connection to the daemon (link.Channel; tests pass fakes)."""

        def open_session(self, first: bytes) -> SessionLink: ...

        def stream(self, path: str) -> Response: ...

        def close(self) -> None: ...


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
        or (isinstance(message_id, str) and not 0 < len(message_id) <= MAX_ID_LENGTH)
    ):
        return None, BadRequestError(
            f"a message needs an id: an integer or a string of 1-{MAX_ID_LENGTH} characters"
        )
    if not isinstance(raw.get("type"), str) or not raw["type"]:
        return message_id, BadRequestError('a message needs a type, e.g. "hello"')
    return message_id, None


class Host:
    """One browser connection: frames in from `stdin`, frames out to `stdout`.

    `channel(timeout=..., start_daemon=...)` makes a connection to the daemon: the event stream
    uses one, and each session is opened through a fresh one unless `open_session` is given.
    """

    def __init__(
        self,
        *,
        stdin: BinaryIO,
        stdout: BinaryIO,
        channel: Callable[..., DaemonChannel],
        log: Log,
        open_session: Opener | None = None,
        request_timeout: float = REQUEST_TIMEOUT,
    ) -> None:
        self._stdin = stdin
        self._stdout = stdout
        self._new_channel = channel
        self._log = log
        self._out_lock = threading.Lock()
        self._daemon_seen = threading.Event()
        self._stopping = threading.Event()
        self._request_timeout = request_timeout
        self._session = DaemonSession(
            open_session or (lambda first: channel().open_session(first)),
            self.send,
            timeout=request_timeout,
            on_daemon=self._daemon_seen.set,
            log=log,
        )

    def run(self) -> int:
        threading.Thread(target=self._relay_events, name="events", daemon=True).start()
        try:
            while (job := self._next_request()) is not None:
                message_id, body = job
                self._session.submit(message_id, body)
            # Input is over: what was sent is still answered (each within its deadline), then we exit.
            self._session.drain(self._request_timeout + 1)
        finally:
            self._stopping.set()
            self._daemon_seen.set()  # wakes the event thread so it can see the stop
            self._session.close()
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

    def _next_request(self) -> tuple[int | str, bytes] | None:
        """The next frame worth relaying, answering malformed ones on the way; None once input ends."""
        while not self._stopping.is_set():
            try:
                body = read_frame(self._stdin, MAX_INCOMING_BYTES)
            except TruncatedFrameError as exc:
                self._log(f"input ended mid-frame ({exc}); exiting")
                return None
            except OversizedFrameError as exc:
                self.send(
                    error_from(
                        None,
                        PayloadTooLargeError(f"a {exc.size}-byte message is over the {exc.limit}-byte limit"),
                    )
                )
                continue
            if body is None:
                return None
            message_id, problem = inspect_request(body)
            if problem is not None:
                self.send(error_from(message_id, problem), message_id)
                continue
            assert message_id is not None  # inspect_request reports a missing id as a problem
            return message_id, body
        return None

    def _relay_events(self) -> None:
        channel = self._new_channel(timeout=EVENT_READ_TIMEOUT, start_daemon=False)
        while True:
            # Only once the daemon answered the session: the event stream never starts the daemon itself.
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
