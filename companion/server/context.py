"""What every request handler of the daemon can reach: the DaemonContext."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final, Protocol

from aiohttp import web

from companion import __version__
from companion.cats.budget import RateBudget
from companion.cats.client import ConnectionInfo
from companion.keystore import KeyStore
from companion.secret import ApiKey
from companion.server.connection import ConnectionMonitor
from companion.server.events import EventHub
from companion.server.window_session import WindowSessions
from companion.services.company_lookup import CompanyLookupService
from companion.services.outbox_worker import OutboxWorker
from companion.services.push import PushService
from companion.services.sync_scheduler import SyncPolicy, SyncScheduler
from companion.settings.service import SettingsService
from companion.store import Database

#: Where the CATS API key comes from for a base URL: the OS keyring in production
#: (companion.keystore.load_key), a fixed key in the demo and tests. May raise
#: KeyringUnavailableError or ConfigError.
KeySource = Callable[[str], ApiKey | None]


class CatsClientLike(Protocol):
    """The part of companion.cats.client.CatsClient the daemon skeleton uses."""

    @property
    def budget(self) -> RateBudget: ...

    async def check_connection(self) -> ConnectionInfo: ...

    async def close(self) -> None: ...


#: Makes the CATS client for a base URL and key (CatsClient in production, a fake in some tests).
ClientFactory = Callable[[str, ApiKey], CatsClientLike]


def static_key_source(key: ApiKey | None) -> KeySource:
    """A KeySource that always gives `key` (the demo's and tests' key, given directly)."""

    def source(_base_url: str) -> ApiKey | None:
        return key

    return source


@dataclass
class DaemonContext:
    db: Database
    cats_base_url: str
    key_source: KeySource
    #: The per-install token every request must present.
    token: str = field(repr=False)
    #: Allowed browser origins, each exactly `chrome-extension://<id>`.
    extension_origins: frozenset[str] = frozenset()
    #: None until an API key exists.
    client: CatsClientLike | None = None
    monitor: ConnectionMonitor = field(default_factory=ConnectionMonitor)
    #: Events pushed to the extension through the native host: `ctx.events.publish(name, data)`.
    events: EventHub = field(default_factory=EventHub)
    #: The company-cache sync; None while there is no API key (the cache stays readable).
    sync: SyncScheduler | None = None
    #: A fixed sync schedule (tests, benches); None: the cache settings decide it.
    sync_policy: SyncPolicy | None = None
    #: The user's and the team's settings; None only where a test builds a bare context.
    settings: SettingsService | None = None
    #: Company lookups from the cache (built at start-up); None only where a test builds a bare context.
    lookup: CompanyLookupService | None = None
    #: Accepts pushes and campaign events into the outbox (companion.server.push_routes.attach_push).
    push: PushService | None = None
    #: Sends the outbox to CATS; it follows `client`, so it waits while there is no API key.
    outbox: OutboxWorker | None = None
    #: Where POST /api/connection stores a key; None = the OS keyring (KeyringKeyStore).
    key_store: KeyStore | None = None
    #: Makes the client for a newly activated key; None = companion.cats.client.CatsClient.
    client_factory: ClientFactory | None = None
    #: The settings window's one-time links and cookie sessions (companion.server.window_session).
    window: WindowSessions = field(default_factory=WindowSessions)
    #: The TCP port the daemon listens on, once it does (the window's links point there).
    http_port: int | None = None
    #: Monotonic seconds; uptime is `clock() - started_at`.
    clock: Callable[[], float] = time.monotonic
    started_at: float = field(default_factory=time.monotonic)
    version: str = __version__

    def uptime_seconds(self) -> float:
        return max(0.0, self.clock() - self.started_at)


CONTEXT_KEY: Final = web.AppKey("companion_daemon_context", DaemonContext)
