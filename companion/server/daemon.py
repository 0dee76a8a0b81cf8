"""Starting and stopping the companion daemon: the Companion, its aiohttp app, listeners and runtime files.

    daemon = await start_daemon(DaemonConfig(cats_base_url=url), key=ApiKey("..."))
    print(daemon.url, daemon.socket_path)
    ...
    await daemon.close()

Start-up order: claim the runtime dir (one daemon per user), token, the Companion (database, index,
API key and CATS client: companion.app), the app (which starts the Companion's background work),
then the listeners -- TCP on 127.0.0.1 only, and the per-user Unix socket (0600) -- and only then
daemon.json, so a client that finds the file finds a daemon that answers. The CATS connection is
checked once, in the background, so a slow CATS never delays start-up; nothing polls it
afterwards. `close()` undoes all of it in reverse order.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import re
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from aiohttp import web

from companion import __version__
from companion.app import ClientFactory, Companion, CompanionConfig, KeySource
from companion.errors import ConfigError
from companion.keystore import DEFAULT_BASE_URL, KeyStore, normalize_base_url
from companion.secret import ApiKey, DatabasePassword
from companion.server import runtime
from companion.server.app import create_app
from companion.server.operations import TABLE, Operations
from companion.server.state import ServerState
from companion.server.token import load_or_create_token
from companion.services.sync_scheduler import SyncPolicy
from companion.tuning import INDEX_TUNING

log = logging.getLogger(__name__)

#: The only address the daemon binds: never 0.0.0.0, never a LAN address.
LOOPBACK: Final = "127.0.0.1"
_EXTENSION_ORIGIN: Final = re.compile(r"^chrome-extension://[a-p]{32}$")
#: How long in-flight requests may take to finish once a stop is asked for.
SHUTDOWN_TIMEOUT: Final = 5.0


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
    #: Probe a newly activated key's account once, read-only (`CompanionConfig.probe_on_activation`).
    probe_on_activation: bool = True
    #: A fixed company-sync schedule (tests, benches); None: the cache settings decide it.
    sync: SyncPolicy | None = None
    #: Admin mode: edit and install the team policy. Refused (policy.admin_required) unless this
    #: user may write `site_config_dir` (what the CLI's --admin asks for).
    admin: bool = False
    #: Where the system-wide team policy lives; None = companion.paths.site_config_dirs() (all searched).
    site_config_dir: Path | None = None
    #: Send the push outbox to CATS in the background (tests that count requests may turn it off).
    send_outbox: bool = True
    #: Where the user's settings.json lives; None = companion.paths.config_dir().
    config_dir: Path | None = None
    #: The team database's password (`serve --team-password-file`); None: from the keyring.
    team_password: DatabasePassword | None = field(default=None, repr=False)

    def companion_config(self) -> CompanionConfig:
        """The part of this configuration the services are built from."""
        return CompanionConfig(
            cats_base_url=self.cats_base_url,
            db_path=self.db_path,
            data_dir=self.data_dir,
            config_dir=self.config_dir,
            site_config_dir=self.site_config_dir,
            admin=self.admin,
            sync=self.sync,
            send_outbox=self.send_outbox,
            check_connection=self.check_connection,
            probe_on_activation=self.probe_on_activation,
            team_password=self.team_password,
        )

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
        companion: Companion,
        state: ServerState,
        runner: web.AppRunner,
        port: int,
        run_dir: Path,
        socket_path: Path | None,
        lock: runtime.InstanceLock,
    ) -> None:
        self.companion = companion
        self.state = state
        self.port = port
        self.url = f"http://{LOOPBACK}:{port}"
        self.run_dir = run_dir
        self.runtime_file = runtime.runtime_file_path(run_dir)
        self.socket_path = socket_path
        self._runner = runner
        self._lock = lock
        self._closed = False

    @property
    def token(self) -> str:
        return self.state.token

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
            # Ends the native sessions and event streams, waits for requests in flight, then closes the
            # Companion (outbox worker, sync, CATS client, index, database: companion.app).
            await self._runner.cleanup()
        finally:
            runtime.remove_runtime_files(self.run_dir, pid=os.getpid(), sock=self.socket_path)
            self._lock.release()
        log.info("daemon stopped")


async def start_daemon(
    config: DaemonConfig,
    *,
    key: ApiKey | None = None,
    key_source: KeySource | None = None,
    key_store: KeyStore | None = None,
    client_factory: ClientFactory | None = None,
    operations: Operations = TABLE,
) -> RunningDaemon:
    """Start the daemon. The API key is `key` when given, else `key_source(base_url)` (default: the keyring).

    `key_store` is where a key activated in the settings window goes (default: the OS keyring);
    `operations` is the table the daemon serves (tests add message types of their own).
    Raises DaemonAlreadyRunningError when this user's daemon is already up, ConfigError on a bad
    configuration, StoreError/SchemaTooNewError when the database cannot be used; nothing is left
    behind in any of these cases.
    """
    config = config.validated()
    run_dir = runtime.runtime_dir(config.runtime_dir)
    lock = await runtime.claim_runtime(run_dir)
    companion: Companion | None = None
    runner: web.AppRunner | None = None
    try:
        token = config.token if config.token is not None else load_or_create_token(config.data_dir)
        companion = await Companion.open(
            config.companion_config(),
            key=key,
            key_source=key_source,
            key_store=key_store,
            client_factory=client_factory,
            tuning=INDEX_TUNING,
        )
        state = ServerState(token=token, extension_origins=frozenset(config.extension_origins))
        app = create_app(companion, state, operations=operations)
        # The app starts the Companion's background work as it starts, and closes the Companion on cleanup.
        setting_up = web.AppRunner(
            app, access_log=None, handle_signals=False, shutdown_timeout=SHUTDOWN_TIMEOUT
        )
        await setting_up.setup()
        runner = setting_up
        port = await _listen_tcp(runner, config.port)
        state.http_port = port
        sock = await _listen_unix(runner, run_dir) if config.unix_socket else None
        daemon = RunningDaemon(
            companion=companion,
            state=state,
            runner=runner,
            port=port,
            run_dir=run_dir,
            socket_path=sock,
            lock=lock,
        )
        info = runtime.RuntimeInfo(
            port=port, token=token, pid=os.getpid(), version=__version__, socket=str(sock) if sock else None
        )
        runtime.write_runtime_file(run_dir, info)
    except BaseException:
        if runner is not None:
            await runner.cleanup()
        if companion is not None:
            # Already closed when the app was cleaned up; closing again does nothing.
            await companion.close()
        runtime.remove_runtime_files(run_dir, pid=os.getpid(), sock=runtime.socket_path(run_dir))
        lock.release()
        raise
    log.info("daemon listening on %s%s", daemon.url, f" and {sock}" if sock else "")
    return daemon


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


__all__ = [
    "DaemonConfig",
    "RunningDaemon",
    "extension_origin",
    "start_daemon",
    "wait_for_stop_signal",
]
