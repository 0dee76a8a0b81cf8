"""The CLI's one way to the companion daemon: find this user's daemon (or start it), then ask it.

    with DaemonClient("cats-companion outbox") as daemon:
        listed = daemon.call("outbox.list", {"limit": 50})      # any row of the operations table

Every command that reads or changes the companion's state goes through here, never through the
database file: the daemon owns the database, so a command sees exactly what the browser sees,
whatever data dir that daemon was started with (`cats-companion demo` keeps its data apart but
records itself in the usual runtime dir), and it can leave no stray database behind.

Discovery, the bearer token and autostart are companion.nmhost.link's, the native host's own:
daemon.json in the runtime dir, the per-user socket, and a detached `cats-companion serve` when no
daemon answers (unless CATS_COMPANION_HOST_AUTOSTART=0, the host's switch, says never). `call`
sends one request envelope to `POST /api/native` and returns the reply's data: the CLI speaks the
same operations as the extension (companion.server.operations), nothing else. The daemon's
refusals arrive as DaemonRefusal with its error as sent; no daemon (or a broken connection) is
DaemonUnavailableError.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, Final, TextIO

from companion import paths
from companion.errors import CompanionError, DaemonUnavailableError, PayloadTooLargeError
from companion.nmhost.config import AUTOSTART_ENV
from companion.nmhost.link import REQUEST_TIMEOUT, Channel, DaemonLocator
from companion.nmhost.locations import DaemonInfo
from companion.nmhost.wire import MAX_INCOMING_BYTES, NATIVE_PATH, PROTOCOL_VERSION

#: What the CLI calls itself to the daemon (the caller header); commands add their name.
CALLER: Final = "cats-companion"


class DaemonRefusal(Exception):
    """The daemon answered with an error: `error` as it sent it (`code`, `message`, any details)."""

    def __init__(self, error: Mapping[str, Any]) -> None:
        self.error = dict(error)
        self.code = str(self.error.get("code") or "internal")
        self.message = str(self.error.get("message") or "the companion refused the request")
        super().__init__(f"{self.code}: {self.message}")


def error_of(exc: CompanionError | DaemonRefusal) -> dict[str, Any]:
    """The error's wire form, whether it arose here or in the daemon."""
    return exc.error if isinstance(exc, DaemonRefusal) else exc.to_dict()


def autostart_allowed(env: Mapping[str, str] | None = None) -> bool:
    """Whether the CLI may start the daemon: yes, unless the host's own switch says never."""
    return (os.environ if env is None else env).get(AUTOSTART_ENV) != "0"


def default_locator(*, start: bool, command: Sequence[str] | None = None) -> DaemonLocator:
    """The locator for this user's daemon, where the daemon itself records it (companion.paths)."""
    return DaemonLocator(
        str(paths.runtime_dir()),
        str(paths.log_dir()),
        autostart=start and autostart_allowed(),
        command=command,
    )


def running(locator: DaemonLocator | None = None) -> DaemonInfo | None:
    """The daemon that answers now, or None; never starts one.

    A runtime dir that cannot be trusted counts as none: no daemon of ours could have started there.
    """
    locator = locator or default_locator(start=False)
    try:
        return locator.current(start=False)
    except DaemonUnavailableError:
        return None


class DaemonClient:
    """One command's connection to the daemon; not shared between threads."""

    def __init__(
        self,
        caller: str = CALLER,
        *,
        start: bool = True,
        command: Sequence[str] | None = None,
        locator: DaemonLocator | None = None,
        timeout: float = REQUEST_TIMEOUT,
        notices: TextIO | None = None,
    ) -> None:
        """`start`: start the daemon when none answers (with `command`, default `serve`).

        `locator` replaces the default one (and so `start` and `command`); `notices` (default
        stderr) is told when this client started a daemon, which keeps running after the command.
        """
        self._locator = locator or default_locator(start=start, command=command)
        self._channel = Channel(self._locator, caller, timeout=timeout)
        self._notices = notices
        self._announced = False
        self._next_id = 0

    def __enter__(self) -> DaemonClient:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._channel.close()

    @property
    def started_pid(self) -> int | None:
        """The daemon this client started, if it had to start one."""
        return self._locator.started_pid

    def call(self, message_type: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Send one native message and return its reply's data; DaemonRefusal when it is refused."""
        self._next_id += 1
        envelope = {
            "id": self._next_id,
            "type": message_type,
            "params": dict(params or {}),
            "v": PROTOCOL_VERSION,
        }
        reply = self._exchange("POST", NATIVE_PATH, envelope, message_type)
        if reply.get("id") != self._next_id:
            raise DaemonUnavailableError(f"the companion answered {message_type} with another reply")
        data, error = reply.get("data"), reply.get("error")
        if reply.get("ok") is True and isinstance(data, dict):
            return data
        if isinstance(error, dict):
            raise DaemonRefusal(error)
        raise DaemonUnavailableError(f"the companion sent an unreadable reply to {message_type}")

    def _exchange(self, method: str, path: str, body: Mapping[str, Any] | None, what: str) -> dict[str, Any]:
        raw = None if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
        if raw is not None and len(raw) > MAX_INCOMING_BYTES:
            # The daemon would refuse it after reading; saying so here names the way out.
            raise PayloadTooLargeError(
                f"{what} would send {len(raw):,} bytes, over the {MAX_INCOMING_BYTES:,} the companion "
                "accepts in one request; split it"
            )
        try:
            status, answer = self._channel.request(method, path, raw)
        finally:
            self._announce_start()
        try:
            parsed = json.loads(answer)
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict):
            raise DaemonUnavailableError(f"the companion answered {what} with something that is not JSON")
        if not 200 <= status < 300:
            error = parsed.get("error")
            if isinstance(error, dict):
                raise DaemonRefusal(error)
            raise DaemonUnavailableError(f"the companion refused {what} (HTTP {status})")
        return parsed

    def _announce_start(self) -> None:
        # A daemon started on demand outlives the command: say so once, so it surprises nobody.
        pid = self._locator.started_pid
        if pid is None or self._announced:
            return
        self._announced = True
        where = os.path.join(self._locator.log_dir, "daemon.log")
        print(
            f"cats-companion: no companion daemon was running; started one (pid {pid}, log {where})",
            file=self._notices or sys.stderr,
            flush=True,
        )


__all__ = [
    "CALLER",
    "DaemonClient",
    "DaemonRefusal",
    "autostart_allowed",
    "default_locator",
    "error_of",
    "running",
]
