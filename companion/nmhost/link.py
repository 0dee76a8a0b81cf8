"""The host's and the CLI's side of the daemon connection: finding the daemon, starting it, HTTP to it.

`DaemonLocator` (shared by the host's threads) reads daemon.json from the runtime dir and, when no
daemon answers, starts one detached and waits for it (bounded). Each thread talks through its own
`Channel`: one keep-alive HTTP/1.1 connection over the per-user Unix socket (TCP 127.0.0.1 where
there is none), with a timeout on every socket operation. `Channel.open_session` turns its
connection into a `SessionStream`: the native session, request frames out, reply frames in. The
CLI reaches the daemon through the same classes (companion.cli.daemon_client).
"""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence

from companion.errors import DaemonTimeoutError, DaemonUnavailableError
from companion.nmhost.http11 import Connection, ProtocolError, RemoteDisconnected, Response
from companion.nmhost.locations import (
    DaemonInfo,
    private_dir_problem,
    private_socket_problem,
    read_daemon_info,
)
from companion.nmhost.wire import CALLER_HEADER, SESSION_LENGTH, SESSION_PATH, session_frame

CONNECT_TIMEOUT = 2.0
#: How long a message may take in the daemon; slow work must answer at once and report by events.
REQUEST_TIMEOUT = 30.0
#: How long to wait for a daemon the host started to write daemon.json and answer.
START_TIMEOUT = 10.0
#: A host tries to start the daemon at most this often, so a daemon that crashes at start-up is
#: not restarted on every message.
START_INTERVAL = 30.0
_POLL = 0.02
#: What is kept of a reply frame too big to relay: enough to read its id.
_HEAD_BYTES = 1024

Log = Callable[[str], None]


def _no_log(message: str) -> None:
    pass


def open_connection(
    info: DaemonInfo, *, timeout: float = REQUEST_TIMEOUT, connect_timeout: float = CONNECT_TIMEOUT
) -> Connection:
    """An unconnected HTTP connection to the daemon `info` describes.

    Over the per-user Unix socket the daemon requires `Host: localhost`; over TCP (platforms
    without the socket) the Host is 127.0.0.1:PORT, both as the daemon's Host allowlist expects.
    """
    if info.socket is not None and hasattr(socket, "AF_UNIX"):
        path = info.socket

        def unix() -> socket.socket:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.settimeout(connect_timeout)
                sock.connect(path)
                sock.settimeout(timeout)
            except BaseException:
                sock.close()
                raise
            return sock

        return Connection(unix, "localhost")

    port = info.port

    def tcp() -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", port), connect_timeout)
        # A session sends each frame as it comes: never held back waiting for an ACK (Nagle).
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(timeout)
        return sock

    return Connection(tcp, f"127.0.0.1:{port}")


def daemon_command() -> list[str]:
    """How the host starts the daemon: the interpreter running the host, so the same installation."""
    return [sys.executable, "-m", "companion", "serve"]


class DaemonLocator:
    """Finds this user's daemon and starts one when none answers; safe to share between threads."""

    def __init__(
        self,
        run_dir: str,
        log_dir: str,
        *,
        autostart: bool,
        env: Mapping[str, str] | None = None,
        command: Sequence[str] | None = None,
        start_timeout: float = START_TIMEOUT,
        start_interval: float = START_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
        log: Log = _no_log,
    ) -> None:
        self.run_dir = run_dir
        self.log_dir = log_dir
        self.autostart = autostart
        self._env = env
        self._command = list(command) if command is not None else daemon_command()
        self._start_timeout = start_timeout
        self._start_interval = start_interval
        self._clock = clock
        self._log = log
        self._lock = threading.Lock()
        self._current: DaemonInfo | None = None
        self._last_start: float | None = None
        #: The daemon process this host started, if any (tests stop it; it outlives the host).
        self.started_pid: int | None = None

    def current(self, *, stale: DaemonInfo | None = None, start: bool = True) -> DaemonInfo:
        """The daemon to talk to. `stale`: the one that just failed us, so look again.

        Raises DaemonUnavailableError when none answers and none can be started.
        """
        with self._lock:
            if self._current is not None and self._current is not stale:
                return self._current
            self._current = None
            problem = private_dir_problem(self.run_dir)
            if problem is not None and os.path.lexists(self.run_dir):
                raise DaemonUnavailableError(
                    f"the companion's runtime directory cannot be trusted: {problem}"
                )
            info = read_daemon_info(self.run_dir)
            if info is not None and info.socket is not None and os.path.lexists(info.socket):
                problem = private_socket_problem(info.socket)
                if problem is not None:
                    raise DaemonUnavailableError(f"the companion's socket cannot be trusted: {problem}")
            if info is not None and _answers(info):
                self._current = info
                return info
            if not (start and self.autostart):
                raise DaemonUnavailableError(
                    "the CATS Companion is not running; start it with `cats-companion serve`"
                )
            self._current = self._start()
            return self._current

    def _start(self) -> DaemonInfo:
        now = self._clock()
        if self._last_start is not None and now - self._last_start < self._start_interval:
            raise DaemonUnavailableError(
                f"the CATS Companion is not running and did not start {now - self._last_start:.0f} s ago; "
                f"see {os.path.join(self.log_dir, 'daemon.log')}"
            )
        self._last_start = now
        import subprocess  # only here: starting the daemon is rare, and the import costs start-up time

        os.makedirs(self.log_dir, mode=0o700, exist_ok=True)
        log_path = os.path.join(self.log_dir, "daemon.log")
        self._log(f"no daemon answers; starting {self._command[1:]!r}")
        with open(log_path, "ab") as log_file:
            # Never the host's stdout: Chrome reads that, and a byte of daemon output would kill the port.
            process = subprocess.Popen(  # noqa: S603 -- our own interpreter and module, no shell
                self._command,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
                env=dict(self._env) if self._env is not None else None,
            )
        self.started_pid = process.pid
        deadline = self._clock() + self._start_timeout
        while True:
            info = read_daemon_info(self.run_dir)
            if info is not None and _answers(info):
                self._log(f"daemon started (pid {info.pid})")
                return info
            code = process.poll()
            if code is not None:
                # It may have lost a start-up race to another host's daemon: that one will do.
                info = read_daemon_info(self.run_dir)
                if info is not None and _answers(info):
                    return info
                raise DaemonUnavailableError(
                    f"the CATS Companion exited while starting (status {code}); see {log_path}"
                )
            if self._clock() >= deadline:
                raise DaemonUnavailableError(
                    f"the CATS Companion did not start within {self._start_timeout:.0f} s; see {log_path}"
                )
            time.sleep(_POLL)


def _answers(info: DaemonInfo) -> bool:
    connection = open_connection(info, connect_timeout=CONNECT_TIMEOUT)
    try:
        connection.connect()
    except OSError:
        return False
    finally:
        connection.close()
    return True


class Channel:
    """One thread's keep-alive connection to the daemon."""

    def __init__(
        self,
        locator: DaemonLocator,
        caller: str,
        *,
        timeout: float = REQUEST_TIMEOUT,
        start_daemon: bool = True,
    ) -> None:
        self._locator = locator
        self._caller = caller
        self._timeout = timeout
        self._start_daemon = start_daemon
        self._connection: Connection | None = None
        self._info: DaemonInfo | None = None

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
        self._connection = None

    def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        """POST `body` and read the whole answer: (status, body)."""
        return self.request("POST", path, body)

    def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        """Send one request (a JSON `body`, if any) and read the whole answer: (status, body)."""
        response = self._send(method, path, body)
        try:
            data = response.read()
        except TimeoutError:
            self.close()
            raise DaemonTimeoutError(f"the companion did not answer within {self._timeout:.0f} s") from None
        except OSError as exc:
            self.close()
            raise DaemonUnavailableError(f"the connection to the companion broke ({_why(exc)})") from None
        if response.will_close:
            self.close()
        return response.status, data

    def open_session(self, first: bytes, path: str = SESSION_PATH) -> SessionStream:
        """Open the native session with `first` as its first request frame, sent with the opening
        request; this channel's connection becomes the session's.

        Raises DaemonUnavailableError (no daemon, or a broken connection), DaemonTimeoutError, and
        DaemonRefusal when the daemon answers the opening request with an error -- before reading
        any frame, so `first` was not dispatched and may be sent again.
        """
        response = self._send("POST", path, session_frame(first), chunked=True)
        connection = self._connection
        if response.status != 200 or connection is None:
            refusal = _refusal(response)
            self.close()
            raise refusal
        self._connection = None
        self._info = None
        return SessionStream(connection, response)

    def stream(self, path: str) -> Response:
        """GET a streaming response; the caller reads lines from it and closes the channel after."""
        response = self._send("GET", path, None)
        if response.status != 200:
            self.close()
            raise DaemonUnavailableError(f"the companion refused the event stream (HTTP {response.status})")
        return response

    def _send(self, method: str, path: str, body: bytes | None, *, chunked: bool = False) -> Response:
        stale: DaemonInfo | None = None
        refreshed_token = False
        for _ in range(4):
            info = self._locator.current(stale=stale, start=self._start_daemon)
            if self._connection is None or info is not self._info:
                self.close()
                self._connection = open_connection(info, timeout=self._timeout)
                self._info = info
            connection = self._connection
            reused = connection.sock is not None
            if not reused:
                try:
                    connection.connect()
                except OSError:
                    # Gone since daemon.json was written (crashed, or stopped): look again.
                    self.close()
                    stale = info
                    continue
            headers = {"Authorization": f"Bearer {info.token}", CALLER_HEADER: self._caller}
            if body is not None:
                headers["Content-Type"] = "application/octet-stream" if chunked else "application/json"
            try:
                connection.request(method, path, body, headers, chunked=chunked)
                response = connection.getresponse()
            except TimeoutError:
                self.close()
                raise DaemonTimeoutError(
                    f"the companion did not answer within {self._timeout:.0f} s"
                ) from None
            except (RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
                self.close()
                if reused:
                    # The daemon closed an idle keep-alive connection (or stopped): a fresh one decides.
                    continue
                raise DaemonUnavailableError(f"the connection to the companion broke ({_why(exc)})") from None
            except OSError as exc:
                self.close()
                raise DaemonUnavailableError(f"the connection to the companion broke ({_why(exc)})") from None
            if response.status == 401 and not refreshed_token:
                # A daemon restarted with a new token since we read daemon.json: read it again.
                response.read()
                self.close()
                refreshed_token = True
                stale = info
                continue
            return response
        raise DaemonUnavailableError("the companion kept dropping the connection")


class DaemonRefusal(Exception):
    """The daemon answered the session's opening request with an error: its code and message, as given."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class OversizedReplyError(Exception):
    """A reply frame over the limit arrived: skipped, all but its first bytes (`head`, for its id)."""

    def __init__(self, size: int, head: bytes) -> None:
        super().__init__(f"a {size}-byte reply")
        self.size = size
        self.head = head


class SessionStream:
    """An open native session: request frames go out as body chunks, reply frames come in its answer.

    One thread sends and another reads at the same time: the socket allows it, and neither touches
    the other's state. Every socket operation has the connection's timeout.
    """

    def __init__(self, connection: Connection, response: Response) -> None:
        self._connection = connection
        self._response = response

    def send(self, body: bytes) -> None:
        self._connection.send_chunk(session_frame(body))

    def wait(self) -> bool:
        """Block until a reply frame starts arriving; False once the daemon has closed the session.

        A TimeoutError here means only that the daemon was quiet: nothing is half-read.
        """
        return self._response.wait()

    def read_frame(self, limit: int) -> bytes | None:
        """The next reply frame; None where the session's answer ends cleanly.

        Raises OversizedReplyError for a frame over `limit` (skipped), ProtocolError (an OSError)
        when the answer ends inside a frame.
        """
        header = self._response.read_exact(SESSION_LENGTH.size)
        if not header:
            return None
        if len(header) < SESSION_LENGTH.size:
            raise ProtocolError("the session ended inside a reply's length")
        (size,) = SESSION_LENGTH.unpack(header)
        if size > limit:
            head = self._exactly(min(size, _HEAD_BYTES))
            left = size - len(head)
            while left > 0:
                left -= len(self._exactly(min(left, 65_536)))
            raise OversizedReplyError(size, head)
        return self._exactly(size)

    def _exactly(self, size: int) -> bytes:
        data = self._response.read_exact(size)
        if len(data) < size:
            raise ProtocolError(f"the session ended after {len(data)} of a reply's {size} bytes")
        return data

    def close(self) -> None:
        self._connection.close()


def _refusal(response: Response) -> DaemonRefusal | DaemonUnavailableError:
    """What the daemon's error answer says (`{"error": {"code", "message"}}`)."""
    try:
        error = json.loads(response.read())["error"]
        return DaemonRefusal(str(error["code"]), str(error["message"]))
    except (OSError, ValueError, KeyError, TypeError):
        return DaemonUnavailableError(f"the companion refused the session (HTTP {response.status})")


def _why(exc: BaseException) -> str:
    return type(exc).__name__ if not str(exc) else f"{type(exc).__name__}: {exc}"
