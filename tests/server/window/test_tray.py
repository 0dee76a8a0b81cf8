"""The tray icon's menu and actions, with a fake pystray and fake actions: no display needed."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

import aiohttp
import pytest

from companion import tray
from companion.server.daemon import RunningDaemon
from companion.tray import DaemonTrayActions, build_menu, menu_entries, start_tray


class FakeActions:
    def __init__(self) -> None:
        self.calls: list[str] = []
        self.status = "CATS: connected to the CATS site 'acme'"

    def status_line(self) -> str:
        return self.status

    def open_settings(self) -> None:
        self.calls.append("open")

    def sync_now(self) -> None:
        self.calls.append("sync")

    def quit(self) -> None:
        self.calls.append("quit")


class FakeMenuItem:
    def __init__(self, text: Any, action: Any, *, enabled: bool = True, default: bool = False) -> None:
        self.text, self.action, self.enabled, self.default = text, action, enabled, default

    def label(self) -> str:
        return str(self.text(self) if callable(self.text) else self.text)


class FakeMenu:
    def __init__(self, *items: FakeMenuItem) -> None:
        self.items = items


class FakeIcon:
    def __init__(self, name: str, image: Any, title: str, menu: FakeMenu) -> None:
        self.name, self.image, self.title, self.menu = name, image, title, menu
        self.detached = False
        self.stopped = False

    def run_detached(self) -> None:
        self.detached = True

    def stop(self) -> None:
        self.stopped = True


class FakePystray:
    MenuItem = FakeMenuItem
    Menu = FakeMenu

    def __init__(self) -> None:
        self.icons: list[FakeIcon] = []

    def Icon(self, *args: Any) -> FakeIcon:  # pystray's name
        icon = FakeIcon(*args)
        self.icons.append(icon)
        return icon


@pytest.fixture(autouse=True)
def _fresh_once_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tray, "_said_unavailable", threading.Event())


def test_the_menu_has_status_open_sync_and_quit() -> None:
    actions = FakeActions()
    entries = menu_entries(actions)
    assert [entry.text() for entry in entries] == [actions.status, "Open settings", "Sync now", "Quit"]
    assert [entry.enabled for entry in entries] == [False, True, True, True]
    assert [entry.default for entry in entries] == [False, True, False, False]
    for entry in entries[1:]:
        assert entry.action is not None
        entry.action()
    assert actions.calls == ["open", "sync", "quit"]


def test_the_pystray_menu_runs_the_actions_and_rereads_the_status() -> None:
    actions = FakeActions()
    menu = build_menu(FakePystray(), actions)
    status, open_item, sync_item, quit_item = menu.items
    assert status.enabled is False and status.action is None
    assert status.label() == actions.status
    actions.status = "CATS: the key was refused"
    assert status.label() == "CATS: the key was refused"
    assert [open_item.label(), sync_item.label(), quit_item.label()] == ["Open settings", "Sync now", "Quit"]
    assert open_item.default is True
    for item in (open_item, sync_item, quit_item):
        item.action(None, item)
    assert actions.calls == ["open", "sync", "quit"]


def test_a_failing_action_is_logged_and_does_not_take_the_icon_down(caplog: pytest.LogCaptureFixture) -> None:
    actions = FakeActions()

    def broken() -> None:
        raise RuntimeError("no browser")

    actions.open_settings = broken  # type: ignore[method-assign]
    open_item = build_menu(FakePystray(), actions).items[1]
    with caplog.at_level(logging.ERROR, logger="companion.tray"):
        open_item.action(None, open_item)
    assert "Open settings" in caplog.text


def test_the_icon_is_shown_detached_and_can_be_stopped() -> None:
    fake = FakePystray()
    handle = start_tray(FakeActions(), importer=lambda: fake)
    assert handle is not None
    (icon,) = fake.icons
    assert icon.detached and icon.title == "CATS Companion"
    assert icon.image.size == (64, 64)
    handle.stop()
    assert icon.stopped


def test_without_pystray_the_daemon_runs_on_and_says_so_once(caplog: pytest.LogCaptureFixture) -> None:
    def missing() -> Any:
        raise ImportError("No module named 'pystray'")

    with caplog.at_level(logging.INFO, logger="companion.tray"):
        assert start_tray(FakeActions(), importer=missing) is None
        assert start_tray(FakeActions(), importer=missing) is None
    messages = [record.getMessage() for record in caplog.records if record.name == "companion.tray"]
    assert messages == [
        "no tray icon: pystray is not installed (install the `tray` extra); the companion runs without it"
    ]


def test_without_a_display_there_is_no_tray(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    with caplog.at_level(logging.INFO, logger="companion.tray"):
        assert start_tray(FakeActions()) is None
    assert "no tray icon" in caplog.text


async def test_the_daemon_actions_open_a_working_link_and_quit(daemon: RunningDaemon) -> None:
    opened: list[str] = []
    quit_asked = asyncio.Event()
    actions = DaemonTrayActions(daemon, asyncio.get_running_loop(), quit_asked.set, opener=opened.append)
    assert actions.status_line().startswith("CATS: no API key stored")
    # pystray calls from its own thread; the actions hand the work to the daemon's loop.
    await asyncio.to_thread(actions.open_settings)
    (url,) = opened
    async with (
        aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http,
        http.get(url, allow_redirects=False) as response,
    ):
        assert response.status == 303
    await asyncio.to_thread(actions.sync_now)  # no key, so no sync: nothing happens, nothing breaks
    await asyncio.to_thread(actions.quit)
    async with asyncio.timeout(2):
        await quit_asked.wait()
