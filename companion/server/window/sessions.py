"""The settings window's credentials: one-time links, cookie sessions with an idle timeout, CSRF tokens.

A client holding the daemon's bearer token (the CLI, the tray, the native host on behalf of the
extension) asks for a one-time link; visiting it trades the one-time code for a session cookie.
The code is random (128 bits), single use and valid for LINK_TTL seconds; the session is random
too, ends after IDLE_TIMEOUT seconds without a request (or on "Sign out") and carries its own
CSRF token, which every state-changing request made with the cookie must echo in X-CSRF-Token.

Everything lives in memory: a daemon restart ends every session, which is the safe direction.
Codes and sessions are looked up by their SHA-256 so a timing difference in the dict lookup says
nothing about a secret; the CSRF token is compared with hmac.compare_digest.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

#: Seconds a one-time link may wait before it is used.
LINK_TTL: Final = 60.0
#: Seconds of inactivity after which a window session ends.
IDLE_TIMEOUT: Final = 30 * 60.0
#: The most links waiting at once; the oldest go first (a loop asking for links cannot fill memory).
MAX_PENDING_LINKS: Final = 32
#: The most open sessions; the least recently used goes first.
MAX_SESSIONS: Final = 16

COOKIE_NAME: Final = "cats_companion_window"
CSRF_HEADER: Final = "X-CSRF-Token"
#: The path the one-time link opens; its code travels in the `t` query parameter.
OPEN_PATH: Final = "/window/open"


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogateescape")).hexdigest()


@dataclass
class WindowSession:
    """One signed-in settings window. `csrf_token` is shown to the page; `id` only ever sits in the cookie."""

    id: str = field(repr=False)
    csrf_token: str = field(repr=False)
    created_at: float
    last_seen: float

    def csrf_matches(self, presented: str | None) -> bool:
        if presented is None:
            return False
        return hmac.compare_digest(
            presented.encode("utf-8", "surrogateescape"), self.csrf_token.encode("utf-8")
        )


class WindowSessions:
    """One-time codes and sessions of this daemon; `clock` is monotonic seconds (injectable for tests)."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        link_ttl: float = LINK_TTL,
        idle_timeout: float = IDLE_TIMEOUT,
    ) -> None:
        #: Monotonic seconds; replaceable (tests move time forward without sleeping).
        self.clock = clock
        self.link_ttl = link_ttl
        self.idle_timeout = idle_timeout
        #: sha256(code) -> expiry
        self._codes: dict[str, float] = {}
        #: sha256(session id) -> session
        self._sessions: dict[str, WindowSession] = {}

    def __repr__(self) -> str:
        return f"WindowSessions(pending_links={len(self._codes)}, sessions={len(self._sessions)})"

    @property
    def session_count(self) -> int:
        self._prune()
        return len(self._sessions)

    def new_code(self) -> str:
        """A fresh one-time code, valid for `link_ttl` seconds."""
        self._prune()
        while len(self._codes) >= MAX_PENDING_LINKS:
            del self._codes[min(self._codes, key=self._codes.__getitem__)]
        code = secrets.token_urlsafe(16)
        self._codes[_digest(code)] = self.clock() + self.link_ttl
        return code

    def redeem(self, code: str) -> WindowSession | None:
        """A new session for a valid code, which is spent; None for an unknown, used or expired one."""
        expiry = self._codes.pop(_digest(code), None)
        if expiry is None or self.clock() >= expiry:
            return None
        self._prune()
        while len(self._sessions) >= MAX_SESSIONS:
            oldest = min(self._sessions, key=lambda key: self._sessions[key].last_seen)
            del self._sessions[oldest]
        now = self.clock()
        session = WindowSession(
            id=secrets.token_urlsafe(32), csrf_token=secrets.token_urlsafe(32), created_at=now, last_seen=now
        )
        self._sessions[_digest(session.id)] = session
        return session

    def find(self, session_id: str) -> WindowSession | None:
        """The live session with this id, its idle timer restarted; None when unknown or idle too long."""
        key = _digest(session_id)
        session = self._sessions.get(key)
        if session is None:
            return None
        now = self.clock()
        if now - session.last_seen >= self.idle_timeout:
            del self._sessions[key]
            return None
        session.last_seen = now
        return session

    def end(self, session_id: str) -> bool:
        """Sign out: the session is gone at once. False when there was none."""
        return self._sessions.pop(_digest(session_id), None) is not None

    def expires_in(self, session: WindowSession) -> float:
        return max(0.0, session.last_seen + self.idle_timeout - self.clock())

    def _prune(self) -> None:
        now = self.clock()
        for key in [key for key, expiry in self._codes.items() if now >= expiry]:
            del self._codes[key]
        for key in [key for key, s in self._sessions.items() if now - s.last_seen >= self.idle_timeout]:
            del self._sessions[key]


def link_url(port: int, code: str) -> str:
    """The one-time link for `code` on the daemon listening on 127.0.0.1:`port`."""
    return f"http://127.0.0.1:{port}{OPEN_PATH}?t={code}"
