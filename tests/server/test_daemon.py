"""The daemon's life cycle in-process: listeners, runtime files, one daemon per user, status, shutdown."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from companion import __version__, paths
from companion.errors import ConfigError, DaemonAlreadyRunningError, KeyringUnavailableError
from companion.secret import ApiKey
from companion.server.daemon import DaemonConfig, RunningDaemon, start_daemon
from companion.server.runtime import RuntimeInfo, write_runtime_file
from companion.server.token import token_path
from companion.store import Migration, SchemaTooNewError, open_database
from tests.fixtures.daemon import DAEMON_TOKEN, DaemonFactory, auth_headers
from tests.fixtures.sandbox import SandboxHandle

posix_only = pytest.mark.skipif(os.name != "posix", reason="Unix sockets and file modes are POSIX features")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait(timeout=10)
    return child.pid


def record(run_dir: Path, *, pid: int, port: int) -> None:
    """daemon.json as another daemon would have left it."""
    write_runtime_file(run_dir, RuntimeInfo(port=port, token="t" * 43, pid=pid, version="0.0.9"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def status_of(daemon: RunningDaemon) -> dict[str, object]:
    async with (
        aiohttp.ClientSession(headers=auth_headers(daemon.token)) as session,
        session.get(f"{daemon.url}/api/status") as response,
    ):
        assert response.status == 200
        body: dict[str, object] = await response.json()
        return body


# --- runtime files and listeners -----------------------------------------------------------------


@posix_only
async def test_runtime_file_socket_and_dir_are_private(daemon: RunningDaemon) -> None:
    run_dir = paths.runtime_dir()
    assert daemon.runtime_file == run_dir / "daemon.json"
    assert daemon.socket_path == run_dir / "daemon.sock"
    assert mode(run_dir) == 0o700
    assert mode(daemon.runtime_file) == 0o600
    assert stat.S_ISSOCK(daemon.socket_path.stat().st_mode)
    assert mode(daemon.socket_path) == 0o600
    assert sorted(p.name for p in run_dir.iterdir()) == ["daemon.json", "daemon.lock", "daemon.sock"]


async def test_runtime_file_says_where_and_who(daemon: RunningDaemon) -> None:
    recorded = json.loads(daemon.runtime_file.read_text())
    assert recorded == {
        "port": daemon.port,
        "token": DAEMON_TOKEN,
        "pid": os.getpid(),
        "version": __version__,
        "socket": str(daemon.socket_path),
    }


async def test_binds_127_0_0_1_only(daemon: RunningDaemon) -> None:
    tcp = [address for address in daemon.addresses if isinstance(address, tuple)]
    assert [address[0] for address in tcp] == ["127.0.0.1"]
    # 127.0.0.2 is loopback too: a listener on 0.0.0.0 would accept it, ours must not.
    with pytest.raises(OSError):
        _, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.2", daemon.port), 2)
        writer.close()


@posix_only
async def test_the_unix_socket_serves_the_same_api_with_its_own_host_rule(daemon: RunningDaemon) -> None:
    assert daemon.socket_path is not None
    connector = aiohttp.UnixConnector(path=str(daemon.socket_path))
    async with aiohttp.ClientSession(connector=connector) as session:
        async with session.get("http://localhost/api/status", headers=auth_headers()) as response:
            assert response.status == 200
            assert (await response.json())["cats"]["state"] == "not_configured"
        async with session.get("http://localhost/api/status") as response:
            assert response.status == 401
        headers = {**auth_headers(), "Host": f"127.0.0.1:{daemon.port}"}
        async with session.get("http://localhost/api/status", headers=headers) as response:
            assert response.status == 403


async def test_close_removes_runtime_files_and_can_be_called_twice(daemon_factory: DaemonFactory) -> None:
    daemon = await daemon_factory()
    runtime_file, sock = daemon.runtime_file, daemon.socket_path
    await daemon.close()
    await daemon.close()
    assert not runtime_file.exists()
    assert sock is None or not sock.exists()
    with pytest.raises(OSError):
        await asyncio.open_connection("127.0.0.1", daemon.port)
    with pytest.raises(ValueError):  # the database is closed too
        await daemon.companion.db.fetchall("SELECT 1")


# --- one daemon per user --------------------------------------------------------------------------


async def test_a_second_daemon_for_the_same_user_refuses_and_leaves_the_first_alone(
    daemon: RunningDaemon,
) -> None:
    before = daemon.runtime_file.read_bytes()
    with pytest.raises(DaemonAlreadyRunningError, match=f"already running .*pid {os.getpid()}"):
        await start_daemon(DaemonConfig(token=DAEMON_TOKEN, check_connection=False))
    assert daemon.runtime_file.read_bytes() == before
    assert (await status_of(daemon))["version"] == __version__


async def test_a_live_answering_daemon_is_detected_even_without_the_lock(
    daemon_factory: DaemonFactory,
) -> None:
    # A daemon the lock cannot see (an older version, another platform): alive pid, answering port.
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    try:
        port = server.sockets[0].getsockname()[1]
        run_dir = paths.private_dir(paths.runtime_dir())
        record(run_dir, pid=os.getpid(), port=port)
        with pytest.raises(DaemonAlreadyRunningError, match=f"http://127.0.0.1:{port}"):
            await daemon_factory()
        assert RuntimeInfo.model_validate_json((run_dir / "daemon.json").read_bytes()).port == port
    finally:
        server.close()
        await server.wait_closed()


@posix_only
async def test_stale_runtime_files_of_a_dead_daemon_are_replaced(daemon_factory: DaemonFactory) -> None:
    run_dir = paths.private_dir(paths.runtime_dir())
    record(run_dir, pid=dead_pid(), port=free_port())
    leftover = socket.socket(socket.AF_UNIX)
    leftover.bind(str(run_dir / "daemon.sock"))  # a socket file nobody listens on any more
    leftover.close()

    daemon = await daemon_factory()
    recorded = RuntimeInfo.model_validate_json(daemon.runtime_file.read_bytes())
    assert (recorded.pid, recorded.port) == (os.getpid(), daemon.port)
    assert (await status_of(daemon))["version"] == __version__


async def test_a_recorded_live_pid_that_does_not_answer_is_stale(daemon_factory: DaemonFactory) -> None:
    # The pid was reused by some other process: alive, but nothing listens where the file says.
    run_dir = paths.private_dir(paths.runtime_dir())
    record(run_dir, pid=os.getpid(), port=free_port())
    daemon = await daemon_factory()
    assert RuntimeInfo.model_validate_json(daemon.runtime_file.read_bytes()).port == daemon.port


async def test_a_torn_runtime_file_is_stale(daemon_factory: DaemonFactory) -> None:
    run_dir = paths.private_dir(paths.runtime_dir())
    (run_dir / "daemon.json").write_text('{"port": 12')
    daemon = await daemon_factory()
    assert RuntimeInfo.model_validate_json(daemon.runtime_file.read_bytes()).port == daemon.port


# --- failed starts change nothing -----------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides",
    [
        {"extension_origins": ("chrome-extension://not-an-id",)},
        {"extension_origins": ("https://evil.com",)},
        {"port": 70000},
        {"cats_base_url": "ftp://example.com"},
        {"cats_base_url": "http://cats.example.com/v3"},  # a key over plain http off loopback
        {"token": "short"},
    ],
)
async def test_a_bad_configuration_is_refused_and_leaves_nothing(
    daemon_factory: DaemonFactory, overrides: dict[str, object]
) -> None:
    with pytest.raises(ConfigError):
        await daemon_factory(**overrides)
    assert not (paths.runtime_dir() / "daemon.json").exists()
    assert (await status_of(await daemon_factory()))["version"] == __version__  # nothing holds the lock


async def test_a_database_from_a_newer_companion_stops_the_start_and_leaves_nothing(
    daemon_factory: DaemonFactory,
) -> None:
    db = await open_database(migrations=[Migration(v, f"step{v}", "SELECT 1;") for v in range(1, 100)])
    await db.close()
    with pytest.raises(SchemaTooNewError):
        await daemon_factory()
    run_dir = paths.runtime_dir()
    assert not (run_dir / "daemon.json").exists()
    assert not (run_dir / "daemon.sock").exists()


# --- token -----------------------------------------------------------------------------------------


async def test_the_install_token_is_random_private_and_survives_restarts(
    daemon_factory: DaemonFactory,
) -> None:
    first = await daemon_factory(token=None)
    token = first.token
    await first.close()
    assert len(token) >= 43
    assert token != DAEMON_TOKEN
    if os.name == "posix":
        assert mode(token_path()) == 0o600
    second = await daemon_factory(token=None)
    assert second.token == token
    assert (await status_of(second))["version"] == __version__


@posix_only
async def test_a_token_file_others_could_read_is_replaced(daemon_factory: DaemonFactory) -> None:
    first = await daemon_factory(token=None)
    await first.close()
    token_path().chmod(0o644)
    second = await daemon_factory(token=None)
    assert second.token != first.token
    assert mode(token_path()) == 0o600


# --- status -----------------------------------------------------------------------------------------


async def test_status_without_a_key_is_not_configured(daemon: RunningDaemon) -> None:
    daemon.companion.clock = lambda: daemon.companion.started_at + 42.5
    status = await status_of(daemon)
    assert status["version"] == __version__
    assert status["uptime_seconds"] == 42.5
    assert status["rate_budget"] is None
    cats = status["cats"]
    assert isinstance(cats, dict)
    assert cats["base_url"] == "https://api.catsone.com/v3"
    assert cats["state"] == "not_configured"
    assert "cats-companion key set" in cats["detail"]


async def test_an_unavailable_keyring_is_reported_not_configured_and_the_daemon_still_serves() -> None:
    def locked_keyring(base_url: str) -> ApiKey | None:
        raise KeyringUnavailableError("the keyring is locked")

    daemon = await start_daemon(DaemonConfig(token=DAEMON_TOKEN), key_source=locked_keyring)
    try:
        cats = (await status_of(daemon))["cats"]
        assert isinstance(cats, dict)
        assert cats["state"] == "not_configured"
        assert cats["detail"] == "key.keyring_unavailable: the keyring is locked"
    finally:
        await daemon.close()


async def connected_daemon(daemon_factory: DaemonFactory, url: str, key: ApiKey) -> RunningDaemon:
    daemon = await daemon_factory(key=key, cats_base_url=url)
    assert daemon.companion.check_task is not None
    await asyncio.wait_for(daemon.companion.check_task, 10)
    return daemon


async def test_status_with_a_working_key_is_connected_after_one_request(
    daemon_factory: DaemonFactory, sandbox: SandboxHandle
) -> None:
    await sandbox.control.reset_counters()
    daemon = await connected_daemon(daemon_factory, sandbox.url, sandbox.key)
    status = await status_of(daemon)
    cats = status["cats"]
    assert isinstance(cats, dict)
    assert cats["state"] == "connected"
    assert cats["base_url"] == sandbox.url
    budget = status["rate_budget"]
    assert isinstance(budget, dict)
    assert budget["used"] >= 1
    assert (await sandbox.control.counters())["requests_total"] == 1
    # Asking for the status again never goes to CATS.
    await status_of(daemon)
    assert (await sandbox.control.counters())["requests_total"] == 1


async def test_status_with_a_refused_key_is_bad_key(
    daemon_factory: DaemonFactory, sandbox: SandboxHandle
) -> None:
    daemon = await connected_daemon(daemon_factory, sandbox.url, ApiKey("not-the-sandbox-key"))
    cats = (await status_of(daemon))["cats"]
    assert isinstance(cats, dict)
    assert cats["state"] == "bad_key"
    assert "not-the-sandbox-key" not in json.dumps(cats)


async def test_status_with_cats_unreachable_is_unreachable(daemon_factory: DaemonFactory) -> None:
    nobody_listens = f"http://127.0.0.1:{free_port()}/v3"
    daemon = await connected_daemon(daemon_factory, nobody_listens, ApiKey("some-key"))
    cats = (await status_of(daemon))["cats"]
    assert isinstance(cats, dict)
    assert cats["state"] == "unreachable"


async def test_a_given_data_dir_holds_the_token_and_the_database(
    daemon_factory: DaemonFactory, tmp_path: Path
) -> None:
    data = tmp_path / "elsewhere"
    daemon = await daemon_factory(token=None, data_dir=data)
    assert daemon.companion.db.path == data / "companion.db"
    assert token_path(data).read_text().strip() == daemon.token
