"""`cats-companion settings`: finds (or starts) the daemon, prints a one-time link and opens it."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import signal
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from companion import paths
from companion.cli import build_parser
from companion.cli.settings import open_settings, run, start_command
from companion.nmhost.link import DaemonLocator
from companion.server import runtime
from companion.server.daemon import RunningDaemon
from tests.fixtures.daemon import DaemonFactory


def locator(*, autostart: bool = False, command: list[str] | None = None) -> DaemonLocator:
    return DaemonLocator(
        str(paths.runtime_dir()),
        str(paths.log_dir()),
        autostart=autostart,
        command=command,
        start_timeout=15.0,
    )


async def call(**kwargs: object) -> tuple[int, str, str, list[str]]:
    opened: list[str] = []
    out, err = io.StringIO(), io.StringIO()

    def opener(url: str) -> bool:
        opened.append(url)
        return True

    # The CLI blocks on HTTP; the daemon under test runs on this loop, so the CLI gets a thread.
    code = await asyncio.to_thread(
        open_settings,
        opener=opener,
        out=out,
        err=err,
        **kwargs,  # type: ignore[arg-type]
    )
    return code, out.getvalue(), err.getvalue(), opened


async def test_it_prints_and_opens_a_link_to_the_running_daemon(daemon: RunningDaemon) -> None:
    code, out, err, opened = await call(admin=False, open_browser=True, locator=locator())
    assert code == 0, err
    (url,) = opened
    assert url in out and url.startswith(f"{daemon.url}/window/open?t=")
    assert daemon.token not in out + err
    async with (
        aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http,
        http.get(url, allow_redirects=False) as response,
    ):
        assert response.status == 303


async def test_no_open_only_prints(daemon: RunningDaemon) -> None:
    code, out, _, opened = await call(admin=False, open_browser=False, locator=locator())
    assert code == 0 and opened == [] and "/window/open?t=" in out


async def test_admin_against_a_daemon_not_in_admin_mode_is_refused(daemon: RunningDaemon) -> None:
    code, out, err, opened = await call(admin=True, open_browser=True, locator=locator())
    assert code == 1 and opened == [] and out == ""
    assert "not in admin mode" in err and "cats-companion settings --admin" in err


async def test_admin_against_an_admin_daemon_opens(daemon_factory: DaemonFactory, tmp_path: Path) -> None:
    await daemon_factory(admin=True, site_config_dir=tmp_path / "site")
    code, _, err, opened = await call(admin=True, open_browser=True, locator=locator())
    assert code == 0 and len(opened) == 1, err


async def test_without_a_daemon_and_no_autostart_it_says_so() -> None:
    code, out, err, opened = await call(admin=False, open_browser=True, locator=locator())
    assert code == 1 and opened == [] and out == ""
    assert "not running" in err


def test_the_command_is_registered_with_its_options() -> None:
    args = build_parser().parse_args(["settings", "--admin", "--no-open"])
    assert args.func is run and args.admin and args.no_open
    serve = build_parser().parse_args(["serve", "--admin", "--tray"])
    assert serve.admin and serve.tray


def test_the_daemon_it_starts_has_the_tray_and_admin_mode_when_asked() -> None:
    assert start_command(admin=False)[-1] == "--tray"
    assert start_command(admin=True)[-2:] == ["--tray", "--admin"]
    assert start_command(admin=True)[:3] == [sys.executable, "-m", "companion"]


def test_it_starts_a_detached_daemon_when_none_runs(capsys: pytest.CaptureFixture[str]) -> None:
    # A real `cats-companion serve --tray` in a child process, headless: it must come up without a tray.
    run_dir = paths.runtime_dir()
    code = open_settings(
        admin=False,
        open_browser=False,
        locator=locator(autostart=True, command=start_command(admin=False)),
    )
    info = runtime.read_runtime_file(run_dir)
    printed = capsys.readouterr()
    try:
        assert code == 0, printed.err
        assert info is not None and info.pid != os.getpid()
        assert f"http://127.0.0.1:{info.port}/window/open?t=" in printed.out
        assert f"started one (pid {info.pid}" in printed.err
    finally:
        if info is not None:
            os.kill(info.pid, signal.SIGTERM)
            deadline = time.monotonic() + 10
            while runtime.pid_alive(info.pid) and time.monotonic() < deadline:
                time.sleep(0.05)
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(info.pid, os.WNOHANG)
    assert not runtime.pid_alive(info.pid)
    log = (paths.log_dir() / "daemon.log").read_text()
    assert "no tray icon" in log
