"""The tray icon's menu, status line, backend choice and daemon actions, without a display.

The menu is built with pystray's own `Menu` and `MenuItem` (its `dummy` backend needs no desktop), so
whatever pystray refuses -- an action of three arguments -- fails here too; only the `Icon` is a fake.
The real icon on a real X server is tests/desktop/test_tray_desktop.py.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest

from companion import tray
from companion.server.daemon import RunningDaemon
from companion.tray import (
    NO_BROWSER,
    DaemonTrayActions,
    TrayView,
    build_menu,
    menu_entries,
    start_tray,
    status_text,
    team_summary,
    tooltip,
)
from companion.tray_backend import Backend, NoTrayHere, choose_backend
from tests.fixtures.daemon import DaemonFactory
from tests.fixtures.sandbox import SandboxFactory

X11 = {"DISPLAY": ":7"}


@pytest.fixture(scope="module")
def pystray() -> Any:
    """The real pystray, on its display-free backend (pystray reads the variable at its first import)."""
    previous = os.environ.get("PYSTRAY_BACKEND")
    os.environ["PYSTRAY_BACKEND"] = "dummy"
    try:
        import pystray as module
    finally:
        if previous is None:
            del os.environ["PYSTRAY_BACKEND"]
        else:
            os.environ["PYSTRAY_BACKEND"] = previous
    return module


class FakeActions:
    def __init__(self) -> None:
        self.calls: list[str] = []
        self.status = "Connected to acme"

    def status_line(self) -> str:
        return self.status

    def open_settings(self) -> None:
        self.calls.append("open")

    def sync_now(self) -> None:
        self.calls.append("sync")

    def quit(self) -> None:
        self.calls.append("quit")


class FakeIcon:
    """pystray's Icon contract: `run(setup)` calls setup in the loop's thread and returns at `stop()`."""

    HAS_NOTIFICATION = True

    def __init__(self, name: str, image: Any, title: str, menu: Any) -> None:
        self.name, self.image, self.title, self.menu = name, image, title, menu
        self.visible = False
        self.thread: threading.Thread | None = None
        self.menu_updates = 0
        self.notes: list[str] = []
        self._stopped = threading.Event()

    def run(self, setup: Any) -> None:
        self.thread = threading.current_thread()
        setup(self)
        self._stopped.wait(30)

    def update_menu(self) -> None:
        self.menu_updates += 1

    def notify(self, message: str, title: str) -> None:
        self.notes.append(message)

    def stop(self) -> None:
        self._stopped.set()


class FakeProbe:
    def __init__(
        self, *, gtk: bool = False, appindicator: bool = False, host: bool = False, tray: bool = True
    ) -> None:
        self.gtk, self.appindicator, self.host, self.tray = gtk, appindicator, host, tray

    def has_gtk(self) -> bool:
        return self.gtk

    def has_appindicator(self) -> bool:
        return self.appindicator

    def has_status_notifier_host(self) -> bool:
        return self.host

    def has_xembed_tray(self) -> bool:
        return self.tray


@pytest.fixture(autouse=True)
def _fresh_once_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tray, "_said_unavailable", threading.Event())


@pytest.fixture
def icons() -> Iterator[list[FakeIcon]]:
    made: list[FakeIcon] = []
    yield made
    for one in made:
        one.stop()


def fake_pystray(pystray: Any, icons: list[FakeIcon]) -> Any:
    def icon(*args: Any) -> FakeIcon:
        icons.append(FakeIcon(*args))
        return icons[-1]

    return SimpleNamespace(Menu=pystray.Menu, MenuItem=pystray.MenuItem, Icon=icon)


def test_the_menu_has_status_open_sync_and_quit() -> None:
    actions = FakeActions()
    entries = menu_entries(actions)
    assert [entry.text() for entry in entries] == [actions.status, "Open settings", "Sync now", "Quit"]
    assert [entry.enabled for entry in entries] == [False, True, True, True]
    assert [entry.default for entry in entries] == [False, True, False, False]


def test_pystrays_menu_runs_the_actions_and_rereads_the_status(pystray: Any) -> None:
    actions = FakeActions()
    menu = build_menu(pystray, actions)
    status, open_item, sync_item, quit_item = menu.items
    assert status.enabled is False
    assert status.text == actions.status
    actions.status = "Offline: CATS cannot be reached"
    assert status.text == "Offline: CATS cannot be reached"
    assert [open_item.text, sync_item.text, quit_item.text] == ["Open settings", "Sync now", "Quit"]
    assert open_item.default is True and not sync_item.default
    for item in (open_item, sync_item, quit_item):
        item(object())  # what a backend does on a click: the item is called with the icon
    assert actions.calls == ["open", "sync", "quit"]


def test_pystray_refuses_an_action_of_three_arguments_so_this_menu_would_fail_with_one(pystray: Any) -> None:
    with pytest.raises(ValueError):
        pystray.MenuItem("Open settings", lambda _icon, _item, _extra: None)


def test_a_failing_action_is_logged_and_does_not_take_the_icon_down(
    pystray: Any, caplog: pytest.LogCaptureFixture
) -> None:
    actions = FakeActions()

    def broken() -> None:
        raise RuntimeError("no browser")

    actions.open_settings = broken  # type: ignore[method-assign]
    open_item = build_menu(pystray, actions).items[1]
    with caplog.at_level(logging.ERROR, logger="companion.tray"):
        open_item(object())
    assert "Open settings" in caplog.text


def test_the_icon_runs_in_a_daemon_thread_of_its_own_and_stops(
    pystray: Any, icons: list[FakeIcon], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="companion.tray"):
        handle = start_tray(
            FakeActions(),
            env=X11,
            probe=FakeProbe(gtk=True),
            importer=lambda _b: fake_pystray(pystray, icons),
        )
    assert handle is not None and handle.backend.name == "gtk"
    (icon,) = icons
    assert icon.visible and icon.title == "CATS Companion" and icon.image.size == (64, 64)
    assert icon.thread is not None and icon.thread is not threading.current_thread() and icon.thread.daemon
    assert "tray icon shown with pystray's gtk backend" in caplog.text
    handle.show(TrayView(connection="unreachable", detail="cats.network: down"))
    assert icon.title == "CATS Companion: Offline: CATS cannot be reached" and icon.menu_updates == 1
    handle.stop()
    assert not icon.thread.is_alive()


def test_an_icon_the_desktop_refuses_is_reported_once_and_the_daemon_runs_on(
    pystray: Any, caplog: pytest.LogCaptureFixture
) -> None:
    def refusing(*_args: Any) -> Any:
        raise OSError("cannot open display")

    broken = SimpleNamespace(Menu=pystray.Menu, MenuItem=pystray.MenuItem, Icon=refusing)
    with caplog.at_level(logging.INFO, logger="companion.tray"):
        for _ in range(2):
            assert start_tray(FakeActions(), env=X11, probe=FakeProbe(), importer=lambda _b: broken) is None
    messages = [record.getMessage() for record in caplog.records if record.name == "companion.tray"]
    assert len(messages) == 1
    assert "the desktop did not take the tray icon (OSError: cannot open display)" in messages[0]
    assert "`cats-companion settings`" in messages[0]


def test_without_pystray_the_daemon_runs_on_and_says_how_to_get_it(caplog: pytest.LogCaptureFixture) -> None:
    def missing(_backend: Backend) -> Any:
        raise ModuleNotFoundError("No module named 'pystray'", name="pystray")

    with caplog.at_level(logging.INFO, logger="companion.tray"):
        assert start_tray(FakeActions(), env=X11, probe=FakeProbe(), importer=missing) is None
    assert "pip install 'cats-companion[tray]'" in caplog.text


def test_without_a_display_the_message_says_what_to_run_instead(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="companion.tray"):
        assert start_tray(FakeActions(), env={}) is None
    assert (
        "no tray icon: this session has no desktop to show it on (no display); open the settings with "
        "`cats-companion settings`; the companion runs without it"
    ) in caplog.text


@pytest.mark.parametrize(
    ("env", "platform", "probe", "backend"),
    [
        ({**X11, "PYSTRAY_BACKEND": "xorg"}, "linux", FakeProbe(gtk=True), "xorg"),
        ({}, "win32", FakeProbe(), "win32"),
        (X11, "linux", FakeProbe(gtk=True, appindicator=True, host=True), "appindicator"),
        ({"WAYLAND_DISPLAY": "wayland-0"}, "linux", FakeProbe(appindicator=True, host=True), "appindicator"),
        (X11, "linux", FakeProbe(gtk=True, appindicator=True), "gtk"),
        (X11, "linux", FakeProbe(gtk=True, host=True), "gtk"),
        (X11, "linux", FakeProbe(), "xorg"),
    ],
    ids=["forced", "windows", "sni-host", "wayland-sni", "x11-no-host", "x11-no-indicator-lib", "x11-no-gtk"],
)
def test_the_backend_is_what_the_desktop_offers(
    env: dict[str, str], platform: str, probe: FakeProbe, backend: str
) -> None:
    assert choose_backend(env, platform, probe).name == backend


@pytest.mark.parametrize(
    ("env", "platform", "probe", "says"),
    [
        ({}, "linux", FakeProbe(gtk=True), "no display"),
        ({"WAYLAND_DISPLAY": "wayland-0"}, "linux", FakeProbe(gtk=True), "AppIndicator extension"),
        (X11, "darwin", FakeProbe(), "macOS"),
    ],
    ids=["headless", "wayland-no-host", "macos"],
)
def test_where_no_tray_can_be_shown_the_reason_names_the_way_round(
    env: dict[str, str], platform: str, probe: FakeProbe, says: str
) -> None:
    with pytest.raises(NoTrayHere) as refused:
        choose_backend(env, platform, probe)
    assert says in refused.value.reason and "`cats-companion settings`" in refused.value.reason


def test_a_gtk_icon_with_no_tray_to_dock_in_says_so_and_how_to_get_one() -> None:
    docked = choose_backend(X11, "linux", FakeProbe(gtk=True))
    waiting = choose_backend(X11, "linux", FakeProbe(gtk=True, tray=False))
    assert docked.name == waiting.name == "gtk"  # a panel that starts later still takes the icon
    assert "waiting" not in docked.why
    assert "shows none yet" in waiting.why and "AppIndicator extension" in waiting.why


def test_the_status_line_follows_the_companions_state() -> None:
    until = datetime(2026, 1, 2, 14, 5, tzinfo=UTC)
    cases = {
        TrayView(connection="connected", detail="ok", site="acme"): "Connected to acme",
        TrayView(connection="unreachable", detail="cats.network"): "Offline: CATS cannot be reached",
        TrayView(connection="connected", detail="ok", syncing=True, pages_done=3, pages_total=10): (
            "Syncing companies: page 3 of 10"
        ),
        TrayView(connection="connected", detail="ok", syncing=True, companies_done=40): (
            "Syncing companies: 40 so far"
        ),
        TrayView(connection="connected", detail="ok", rate_limited_until=until): (
            f"Rate-limited by CATS until {until.astimezone():%H:%M}"
        ),
        TrayView(
            connection="bad_key", detail="cats.auth"
        ): "CATS refused the API key: Open settings to change it",
        TrayView(
            connection="keyring_locked", detail="key.keyring_locked"
        ): "The keyring is locked: unlock it to use the stored API key",
        TrayView(connection="connected", detail="ok", site="acme", notice="Sync started"): (
            "Connected to acme · Sync started"
        ),
    }
    team = TrayView(
        connection="connected", detail="ok", site="acme", team="team offline", notice="Sync started"
    )
    cases[team] = "Connected to acme · team offline · Sync started"
    assert {view: status_text(view) for view in cases} == cases
    assert tooltip(TrayView(connection="not_configured", detail="-")) == (
        "CATS Companion: No API key yet: Open settings to add one"
    )


async def _until(condition: Any, what: str) -> None:
    try:
        async with asyncio.timeout(10):
            while not condition():  # noqa: ASYNC110 -- the icon's and the browser's threads change it
                await asyncio.sleep(0.01)
    except TimeoutError:
        pytest.fail(f"no {what} within 10 s")


async def test_open_settings_opens_a_working_one_time_link_in_the_browser(daemon: RunningDaemon) -> None:
    opened: list[str] = []

    def browser(url: str) -> bool:
        opened.append(url)
        return True  # as webbrowser.open says when a browser took the link

    actions = DaemonTrayActions(daemon, asyncio.get_running_loop(), lambda: None, opener=browser)
    assert actions.status_line() == "No API key yet: Open settings to add one"
    # pystray calls from the icon's thread.
    await asyncio.to_thread(actions.open_settings)
    await _until(lambda: "Settings opened" in actions.status_line(), "the browser's answer")
    (url,) = opened
    async with (
        aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http,
        http.get(url, allow_redirects=False) as response,
    ):
        assert response.status == 303


async def test_when_no_browser_opens_the_status_line_names_the_settings_command(
    daemon: RunningDaemon,
) -> None:
    actions = DaemonTrayActions(daemon, asyncio.get_running_loop(), lambda: None, opener=lambda _url: False)
    await asyncio.to_thread(actions.open_settings)
    await _until(lambda: NO_BROWSER in actions.status_line(), "the fallback")
    assert "cats-companion settings" in actions.status_line()


async def test_a_browser_that_does_not_return_blocks_neither_the_tray_nor_the_daemon(
    daemon: RunningDaemon,
) -> None:
    release = threading.Event()

    def stuck_browser(_url: str) -> bool:
        release.wait(30)  # a BROWSER command that runs until that browser is closed
        return True

    actions = DaemonTrayActions(daemon, asyncio.get_running_loop(), lambda: None, opener=stuck_browser)
    try:
        await asyncio.to_thread(actions.open_settings)  # returns although the browser has not
        await asyncio.to_thread(actions.sync_now)
        await _until(lambda: "Sync not started: no API key yet" in actions.status_line(), "Sync now")
    finally:
        release.set()
    await _until(lambda: "Settings opened" in actions.status_line(), "the browser's answer")
    await actions.close()


async def test_sync_now_says_it_started_and_how_it_ended(
    daemon_factory: DaemonFactory, sandbox_factory: SandboxFactory
) -> None:
    sandbox = await sandbox_factory(seed=20)
    daemon = await daemon_factory(key=sandbox.key, cats_base_url=sandbox.url)
    notices: list[str] = []
    actions = DaemonTrayActions(daemon, asyncio.get_running_loop(), lambda: None)
    original = actions._tell

    def record(notice: str, *, notify: bool = True) -> None:
        notices.append(notice)
        original(notice, notify=notify)

    actions._tell = record  # type: ignore[method-assign]
    await asyncio.to_thread(actions.sync_now)
    await _until(lambda: len(notices) == 2, "the sync's end")
    companies = (await daemon.companion.sync.state()).companies_in_cache  # type: ignore[union-attr]
    assert companies > 0
    assert notices == ["Sync started", f"Sync finished: {companies} companies cached"]
    assert actions.status_line().endswith(f"Sync finished: {companies} companies cached")


async def test_quit_from_the_tray_asks_the_daemon_to_stop(daemon: RunningDaemon) -> None:
    quit_asked = asyncio.Event()
    actions = DaemonTrayActions(daemon, asyncio.get_running_loop(), quit_asked.set)
    await asyncio.to_thread(actions.quit)
    async with asyncio.timeout(5):
        await quit_asked.wait()


async def test_the_icon_follows_the_companion_into_a_rate_limit(
    daemon_factory: DaemonFactory, sandbox_factory: SandboxFactory, pystray: Any, icons: list[FakeIcon]
) -> None:
    sandbox = await sandbox_factory()
    daemon = await daemon_factory(key=sandbox.key, cats_base_url=sandbox.url)
    assert daemon.companion.check_task is not None and daemon.companion.client is not None
    await daemon.companion.check_task
    actions = DaemonTrayActions(daemon, asyncio.get_running_loop(), lambda: None)
    handle = await asyncio.to_thread(
        start_tray,
        actions,
        env=X11,
        probe=FakeProbe(gtk=True),
        importer=lambda _b: fake_pystray(pystray, icons),
    )
    assert handle is not None
    follow = asyncio.create_task(actions.follow(handle))
    try:
        (icon,) = icons
        await _until(lambda: icon.title.startswith("CATS Companion: Connected to "), "connected tooltip")
        status = build_menu(pystray, actions).items[0]
        daemon.companion.client.budget.block(600)  # what a 429 with Retry-After: 600 does
        await _until(lambda: "Rate-limited by CATS until" in icon.title, "rate-limited tooltip")
        assert status.text.startswith("Rate-limited by CATS until")
        assert icon.menu_updates >= 2  # rebuilt on each change, so the open menu shows it
    finally:
        follow.cancel()
        handle.stop()


@pytest.mark.parametrize(
    ("team", "summary"),
    [
        ({"joined": False, "state": "not_joined", "reason": None}, None),
        (
            {"joined": False, "state": "not_joined", "reason": "team.json is damaged"},
            "team mode off (see the settings window)",
        ),
        ({"joined": True, "state": "offline"}, "team offline"),
        ({"joined": True, "state": "connecting"}, "connecting to the team"),
        ({"joined": True, "state": "removed"}, "removed from the team by its admin: working alone"),
        (
            {"joined": True, "state": "connected", "is_syncer": True, "replication": {"lag_changes": 0}},
            "team connected, this companion syncs",
        ),
        (
            {"joined": True, "state": "connected", "syncer": "dana", "replication": {"lag_changes": 4}},
            "team connected, dana syncs, 4 changes behind",
        ),
    ],
    ids=["solo", "damaged", "offline", "connecting", "removed", "syncer", "follower-behind"],
)
def test_the_team_line_says_the_teams_state_in_a_few_words(team: dict[str, Any], summary: str | None) -> None:
    assert team_summary(team) == summary


async def test_a_companion_outside_a_team_shows_no_team_line(daemon: RunningDaemon) -> None:
    actions = DaemonTrayActions(daemon, asyncio.get_running_loop(), lambda: None)
    assert actions.view().team is None
    assert "team" not in actions.status_line()


async def test_an_action_that_fails_on_the_daemons_loop_is_logged(
    daemon: RunningDaemon, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def no_link() -> str:
        raise RuntimeError("the window's sessions are closed")

    monkeypatch.setattr(daemon.state, "window_link", no_link)
    actions = DaemonTrayActions(daemon, asyncio.get_running_loop(), lambda: None)
    with caplog.at_level(logging.ERROR, logger="companion.tray"):
        await asyncio.to_thread(actions.open_settings)
        await _until(lambda: "a tray action failed" in caplog.text, "log of the failure")
    assert "the window's sessions are closed" in caplog.text
