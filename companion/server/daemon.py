"""Starting and stopping the companion daemon: listeners, runtime files, database, CATS client.

    daemon = await start_daemon(DaemonConfig(cats_base_url=url), key=ApiKey("..."))
    print(daemon.url, daemon.socket_path)
    ...
    await daemon.close()

Start-up order: claim the runtime dir (one daemon per user), token, database, API key and CATS
client, then the listeners -- TCP on 127.0.0.1 only, and the per-user Unix socket (0600) -- and
only then daemon.json, so a client that finds the file finds a daemon that answers. The CATS
connection is checked once, in the background, so a slow CATS never delays start-up; nothing
polls it afterwards. `close()` undoes all of it in reverse order.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import re
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from aiohttp import web

from companion import __version__, paths
from companion.errors import CompanionError, ConfigError
from companion.keystore import DEFAULT_BASE_URL, normalize_base_url
from companion.secret import ApiKey
from companion.server import runtime
from companion.server.app import create_app
from companion.server.cats_link import record_connected, use_client
from companion.server.context import CatsClientLike, DaemonContext, KeySource, static_key_source
from companion.server.push_routes import attach_push
from companion.server.token import load_or_create_token
from companion.services.company_lookup import CompanyLookupService, settings_source
from companion.services.sync_scheduler import SyncPolicy
from companion.settings.catalogue_store import CATALOGUE_FILE, CatalogueStore
from companion.settings.service import SettingsService
from companion.store import Database, open_database
from companion.store.db import DB_FILE_NAME

log = logging.getLogger(__name__)

#: The only address the daemon binds: never 0.0.0.0, never a LAN address.
LOOPBACK: Final = "127.0.0.1"
_EXTENSION_ORIGIN: Final = re.compile(r"^chrome-extension://[a-p]{32}$")
#: How long in-flight requests may take to finish once a stop is asked for.
SHUTDOWN_TIMEOUT: Final = 5.0

ClientFactory = Callable[[str, ApiKey], CatsClientLike]


@dataclass(frozen=True)
class DaemonConfig:
    cats_base_url: str = DEFAULT_BASE_URL
    #: 0 = any free port.
    port: int = 0
    #: Browser origins allowed to call the API, each `chrome-extension://<32 letters a-p>`.
    extension_origins: tuple[str, ...] = ()
    #: None = the per-install token kept in the data dir (tests pass a known one).
    token: str | None = field(default=None, repr=False)
    #: None = the platform's locations (companion.paths), which CATS_COMPANION_HOME overrides.
    db_path: Path | None = None
    data_dir: Path | None = None
    runtime_dir: Path | None = None
    #: Also listen on the per-user Unix socket (POSIX only).
    unix_socket: bool = True
    #: Ask CATS once at start-up whether the key works (one request).
    check_connection: bool = True
    #: A fixed company-sync schedule (tests, benches); None: the cache settings decide it.
    sync: SyncPolicy | None = None
    #: Admin mode: edit and install the team policy. Refused (policy.admin_required) unless this
    #: user may write `site_config_dir` (what the CLI's --admin asks for).
    admin: bool = False
    #: Where the system-wide team policy lives; None = companion.paths.site_config_dir().
    site_config_dir: Path | None = None
    #: Send the push outbox to CATS in the background (tests that count requests may turn it off).
    send_outbox: bool = True
    #: Where the user's settings.json lives; None = companion.paths.config_dir().
    config_dir: Path | None = None

    def database_path(self) -> Path | None:
        """db_path, else companion.db in data_dir when that is given, else None (the default place)."""
        if self.db_path is not None or self.data_dir is None:
            return self.db_path
        return self.data_dir / DB_FILE_NAME

    def validated(self) -> DaemonConfig:
        """A copy with the CATS URL normalised; ConfigError on anything invalid."""
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"the port must be between 0 and 65535, not {self.port}")
        for origin in self.extension_origins:
            if not _EXTENSION_ORIGIN.match(origin):
                raise ConfigError(
                    f"{origin!r} is not an extension origin: expected chrome-extension:// "
                    "followed by the 32-letter extension id"
                )
        if self.token is not None and len(self.token) < 32:
            raise ConfigError("the daemon token must be at least 32 characters")
        return dataclasses.replace(self, cats_base_url=normalize_base_url(self.cats_base_url))


def extension_origin(extension_id: str) -> str:
    return f"chrome-extension://{extension_id}"


class RunningDaemon:
    """A started daemon. `close()` stops it and removes its runtime files; safe to call twice."""

    def __init__(
        self,
        *,
        ctx: DaemonContext,
        runner: web.AppRunner,
        port: int,
        run_dir: Path,
        socket_path: Path | None,
        lock: runtime.InstanceLock,
    ) -> None:
        self.ctx = ctx
        self.port = port
        self.url = f"http://{LOOPBACK}:{port}"
        self.run_dir = run_dir
        self.runtime_file = runtime.runtime_file_path(run_dir)
        self.socket_path = socket_path
        self.check_task: asyncio.Task[None] | None = None
        self._runner = runner
        self._lock = lock
        self._closed = False

    @property
    def token(self) -> str:
        return self.ctx.token

    @property
    def addresses(self) -> list[object]:
        """What the listeners are bound to: ("127.0.0.1", port) and the socket path."""
        return list(self._runner.addresses)

    def __repr__(self) -> str:
        return f"RunningDaemon(url={self.url!r}, socket_path={self.socket_path!r})"

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            if self.check_task is not None:
                self.check_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self.check_task
            if self.ctx.outbox is not None:
                # Before the client and database close; an item mid-send stays in flight, checked next time.
                await self.ctx.outbox.close()
            if self.ctx.sync is not None:
                # Before the database closes: a page being stored is rolled back, never half-written.
                await self.ctx.sync.close()
            # Open event streams never end by themselves: end them, or cleanup waits SHUTDOWN_TIMEOUT.
            self.ctx.events.close()
            await self._runner.cleanup()
            if self.ctx.client is not None:
                await self.ctx.client.close()
            if self.ctx.lookup is not None:
                self.ctx.lookup.close()
            await self.ctx.db.close()
        finally:
            runtime.remove_runtime_files(self.run_dir, pid=os.getpid(), sock=self.socket_path)
            self._lock.release()
        log.info("daemon stopped")


async def start_daemon(
    config: DaemonConfig,
    *,
    key: ApiKey | None = None,
    key_source: KeySource | None = None,
    client_factory: ClientFactory | None = None,
) -> RunningDaemon:
    """Start the daemon. The API key is `key` when given, else `key_source(base_url)` (default: the keyring).

    Raises DaemonAlreadyRunningError when this user's daemon is already up, ConfigError on a bad
    configuration, StoreError/SchemaTooNewError when the database cannot be used; nothing is left
    behind in any of these cases.
    """
    config = config.validated()
    run_dir = runtime.runtime_dir(config.runtime_dir)
    lock = await runtime.claim_runtime(run_dir)
    db: Database | None = None
    client: CatsClientLike | None = None
    runner: web.AppRunner | None = None
    lookup: CompanyLookupService | None = None
    try:
        # First: a refused admin mode must stop start-up before anything else is opened.
        settings = _settings_service(config)
        token = config.token if config.token is not None else load_or_create_token(config.data_dir)
        db = await open_database(config.database_path())
        source = static_key_source(key) if key is not None else (key_source or _keyring_source())
        ctx = DaemonContext(
            db=db,
            sync_policy=config.sync,
            cats_base_url=config.cats_base_url,
            key_source=source,
            token=token,
            extension_origins=frozenset(config.extension_origins),
            settings=settings,
            client_factory=client_factory,
        )
        # The company index is built from the cache before anything can ask for a lookup.
        lookup = ctx.lookup = await CompanyLookupService.open(db, settings=settings_source(settings))
        attach_push(ctx)
        found = await _load_key(ctx)
        if found is not None:
            client = (client_factory or _default_client_factory)(config.cats_base_url, found)
            # Started below, once the listeners are up.
            await use_client(ctx, client, start=False)
        runner = web.AppRunner(
            create_app(ctx), access_log=None, handle_signals=False, shutdown_timeout=SHUTDOWN_TIMEOUT
        )
        await runner.setup()
        port = await _listen_tcp(runner, config.port)
        ctx.http_port = port
        sock = await _listen_unix(runner, run_dir) if config.unix_socket else None
        daemon = RunningDaemon(
            ctx=ctx, runner=runner, port=port, run_dir=run_dir, socket_path=sock, lock=lock
        )
        info = runtime.RuntimeInfo(
            port=port, token=token, pid=os.getpid(), version=__version__, socket=str(sock) if sock else None
        )
        runtime.write_runtime_file(run_dir, info)
    except BaseException:
        if runner is not None:
            await runner.cleanup()
        if client is not None:
            await client.close()
        if lookup is not None:
            lookup.close()
        if db is not None:
            await db.close()
        runtime.remove_runtime_files(run_dir, pid=os.getpid(), sock=runtime.socket_path(run_dir))
        lock.release()
        raise
    if client is not None and config.check_connection:
        daemon.check_task = asyncio.create_task(check_connection_once(ctx), name="cats-connection-check")
    if ctx.sync is not None:
        ctx.sync.start()
    if ctx.outbox is not None and config.send_outbox:
        ctx.outbox.start()
    log.info("daemon listening on %s%s", daemon.url, f" and {sock}" if sock else "")
    return daemon


async def check_connection_once(ctx: DaemonContext) -> None:
    """One request to CATS; the result goes to ctx.monitor."""
    if ctx.client is None:
        return
    ctx.monitor.record_unknown("checking the connection to CATS")
    try:
        info = await ctx.client.check_connection()
    except CompanionError as exc:
        ctx.monitor.record_error(exc)
        log.warning("CATS connection check failed: %s", exc.code)
        return
    except Exception:
        log.exception("CATS connection check failed unexpectedly")
        ctx.monitor.record_unknown("the connection check failed unexpectedly; see the daemon's log")
        return
    await record_connected(ctx, info)


async def wait_for_stop_signal() -> None:
    """Return when SIGTERM or SIGINT arrives (on Windows, only Ctrl-C, as KeyboardInterrupt)."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    signals = (signal.SIGTERM, signal.SIGINT)
    installed = []
    for signum in signals:
        try:
            loop.add_signal_handler(signum, stop.set)
            installed.append(signum)
        except (NotImplementedError, RuntimeError):
            pass  # Windows event loops: KeyboardInterrupt ends asyncio.run instead
    try:
        await stop.wait()
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)


async def _load_key(ctx: DaemonContext) -> ApiKey | None:
    try:
        # keyring may block on D-Bus: keep it off the event loop.
        found = await asyncio.to_thread(ctx.key_source, ctx.cats_base_url)
    except CompanionError as exc:
        ctx.monitor.record_error(exc)
        log.warning("no CATS API key available: %s", exc.message)
        return None
    if found is None:
        ctx.monitor.record_not_configured(
            f"no API key stored for {ctx.cats_base_url}; run `cats-companion key set`"
        )
    return found


async def _listen_tcp(runner: web.AppRunner, port: int) -> int:
    site = web.TCPSite(runner, LOOPBACK, port)
    try:
        await site.start()
    except OSError as exc:
        raise ConfigError(f"cannot listen on {LOOPBACK}:{port}: {exc.strerror or exc}") from exc
    for address in runner.addresses:
        if isinstance(address, tuple):
            return int(address[1])
    raise RuntimeError("the TCP listener reported no address")


async def _listen_unix(runner: web.AppRunner, run_dir: Path) -> Path | None:
    if os.name != "posix":
        log.info("no Unix socket on this platform (a named pipe is not implemented yet); TCP only")
        return None
    path = runtime.socket_path(run_dir)
    site = web.UnixSite(runner, str(path))
    try:
        await site.start()
    except OSError as exc:
        raise ConfigError(f"cannot listen on the socket {path}: {exc.strerror or exc}") from exc
    # Created with the umask's mode; the 0700 runtime dir already keeps others out meanwhile.
    path.chmod(0o600)
    return path


def _settings_service(config: DaemonConfig) -> SettingsService:
    data = config.data_dir if config.data_dir is not None else paths.data_dir()
    return SettingsService(
        config_dir=config.config_dir if config.config_dir is not None else paths.config_dir(),
        site_dir=config.site_config_dir if config.site_config_dir is not None else paths.site_config_dir(),
        catalogue=CatalogueStore(data / CATALOGUE_FILE),
        admin=config.admin,
    )


def _keyring_source() -> KeySource:
    from companion.keystore import load_key

    return load_key


def _default_client_factory(base_url: str, key: ApiKey) -> CatsClientLike:
    from companion.cats.client import CatsClient

    return CatsClient(base_url, key)


__all__ = [
    "DaemonConfig",
    "RunningDaemon",
    "check_connection_once",
    "extension_origin",
    "start_daemon",
    "wait_for_stop_signal",
]
