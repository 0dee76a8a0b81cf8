"""With no daemon running, the host starts one detached, waits for it, and relays; or says why not."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import Any

import pytest

from companion.nmhost import locations
from tests.fixtures import file_keyring
from tests.fixtures.sandbox import SandboxHandle
from tests.nmhost.frames import HostProcess, host_env

pytestmark = [
    pytest.mark.timeout(90),
    pytest.mark.skipif(os.name != "posix", reason="the daemon's Unix socket is a POSIX feature"),
]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def stop(pid: int) -> None:
    """The daemon outlives the host (as it does in Chrome): the test must end it itself."""
    if not alive(pid):
        return
    os.kill(pid, signal.SIGTERM)
    async with asyncio.timeout(20):
        while alive(pid):  # noqa: ASYNC110 -- not our child: polling is the only way to watch it
            await asyncio.sleep(0.05)


async def status_and_daemon(host: HostProcess, env: dict[str, str]) -> tuple[Any, int]:
    """The first `status` through the host (which starts the daemon) and the started daemon's pid."""
    reply = await host.request({"id": 1, "type": "status"})
    info = locations.read_daemon_info(locations.runtime_dir(env))
    assert info is not None
    return reply, info.pid


async def test_the_host_starts_a_detached_daemon_and_relays_to_it() -> None:
    env = host_env(CATS_COMPANION_HOST_AUTOSTART="1")
    host = await HostProcess.start(env)
    pid = None
    try:
        reply, pid = await status_and_daemon(host, env)
        assert reply["id"] == 1 and reply["ok"] is True
        assert reply["data"]["cats"]["state"] == "not_configured"
        assert os.getsid(pid) == pid  # its own session: Chrome closing the host's group spares it
        assert await asyncio.to_thread(Path(locations.log_dir(env), "daemon.log").exists)
        assert (await host.close())[0] == 0
        assert alive(pid)
        # A second host finds the running daemon rather than starting another.
        again = await HostProcess.start(env)
        assert (await again.request({"id": 2, "type": "ping"}))["ok"] is True
        await again.close()
        second = locations.read_daemon_info(locations.runtime_dir(env))
        assert second is not None and second.pid == pid
    finally:
        host.kill()
        if pid is not None:
            await stop(pid)


async def test_a_daemon_that_cannot_start_is_reported_and_not_retried_at_once(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "data").write_text("a file where the data directory should be")
    env = host_env(CATS_COMPANION_HOST_AUTOSTART="1", CATS_COMPANION_HOME=str(home))
    host = await HostProcess.start(env)
    try:
        first = await host.request({"id": 1, "type": "ping"})
        assert first["error"]["code"] == "daemon.unavailable"
        assert "exited while starting" in first["error"]["message"]
        assert "daemon.log" in first["error"]["message"]
        loop = asyncio.get_running_loop()
        started = loop.time()
        second = await host.request({"id": 2, "type": "ping"})
        assert (
            second["error"]["code"] == "daemon.unavailable" and "did not start" in second["error"]["message"]
        )
        assert loop.time() - started < 2
    finally:
        host.kill()
        await host.process.wait()


async def test_a_daemon_started_on_demand_runs_on_the_cats_url_and_key_set_up_with_key_set(
    tmp_path: Path, sandbox: SandboxHandle
) -> None:
    env = host_env(
        CATS_COMPANION_HOST_AUTOSTART="1",
        PYTHON_KEYRING_BACKEND=file_keyring.CLASS_PATH,
        **{file_keyring.FILE_ENV: str(tmp_path / "keyring.json")},
    )
    # Set up as a recruiter would: the sandbox's URL (not the default) and its key, through the CLI.
    setup = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "companion", "key", "set", "--cats-url", sandbox.url,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env=env,
    )  # fmt: skip
    async with asyncio.timeout(60):
        out, err = await setup.communicate(sandbox.key.reveal().encode() + b"\n")
    assert setup.returncode == 0, err.decode()
    assert sandbox.key.reveal().encode() not in out + err

    host = await HostProcess.start(env)
    pid = None
    try:
        reply, pid = await status_and_daemon(host, env)
        assert reply["data"]["cats"]["base_url"] == sandbox.url
        # Its start-up check with the key from the keyring: connected, as soon as it has answered.
        cats = reply["data"]["cats"]
        for attempt in range(200):
            if cats["state"] != "unknown":
                break
            await asyncio.sleep(0.05)
            cats = (await host.request({"id": 2 + attempt, "type": "status"}))["data"]["cats"]
        assert cats["state"] == "connected", cats
    finally:
        host.kill()
        await host.process.wait()
        if pid is not None:
            await stop(pid)
