"""The last known state of the connection to CATS, as told by whoever last talked to CATS.

The daemon checks the connection once at start-up; after that it never polls CATS (500 requests
an hour is the whole budget). Any later request that learns something -- a push refused with a
bad key, a sync that could not reach CATS -- reports it here with `record_error` / `record_connected`,
and GET /api/status shows the latest.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from companion.errors import (
    CatsAuthError,
    CatsForbiddenError,
    CatsNetworkError,
    CatsUnavailableError,
    CompanionError,
    KeyMissingError,
    KeyringLockedError,
    KeyringUnavailableError,
)

#: "keyring_locked": a key may be stored, but the keyring is locked and nobody unlocked it.
CatsState = Literal["connected", "not_configured", "keyring_locked", "bad_key", "unreachable", "unknown"]


class ConnectionStatus(BaseModel):
    model_config = ConfigDict(frozen=True)

    state: CatsState
    detail: str
    #: When this was learnt; None while nothing has been learnt yet.
    checked_at: datetime | None = None
    #: The CATS site's subdomain once a connection succeeded (for "connected to <site>").
    site: str | None = None


def state_for(error: CompanionError) -> CatsState:
    """Which connection state an error reveals."""
    if isinstance(error, KeyringLockedError):
        return "keyring_locked"
    if isinstance(error, KeyMissingError | KeyringUnavailableError):
        return "not_configured"
    if isinstance(error, CatsAuthError | CatsForbiddenError):
        return "bad_key"
    if isinstance(error, CatsNetworkError | CatsUnavailableError):
        return "unreachable"
    return "unknown"


class ConnectionMonitor:
    """Holds the latest ConnectionStatus; cheap to update from anywhere on the event loop."""

    def __init__(self, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._clock = clock
        self._status = ConnectionStatus(state="unknown", detail="not checked yet")

    @property
    def status(self) -> ConnectionStatus:
        return self._status

    def record_connected(self, detail: str, *, site: str | None = None) -> None:
        # A later success that does not name the site (a sync) keeps the one already known.
        known = self._status.site if self._status.state == "connected" else None
        self._set("connected", detail, site=site or known)

    def record_answered(self, detail: str) -> None:
        """CATS answered with this key (a sync page): connected as of now. The extension says
        "Connected" only while that is recent, so a connection already known keeps its detail and
        only its time moves on."""
        if self._status.state == "connected":
            self._status = self._status.model_copy(update={"checked_at": self._clock()})
        else:
            self.record_connected(detail)

    def record_not_configured(self, detail: str) -> None:
        self._set("not_configured", detail)

    def record_unknown(self, detail: str) -> None:
        self._set("unknown", detail)

    def record_error(self, error: CompanionError) -> None:
        # error.message never holds the key (errors.py's rule), so it is safe to show.
        self._set(state_for(error), f"{error.code}: {error.message}")

    def _set(self, state: CatsState, detail: str, *, site: str | None = None) -> None:
        self._status = ConnectionStatus(state=state, detail=detail, checked_at=self._clock(), site=site)
