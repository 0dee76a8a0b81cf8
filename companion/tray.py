"""The tray icon (optional extra `tray`, pystray): a status line, Open settings, Sync now and Quit.

The menu is built from `menu_entries(backend)`, plain data that tests check without a display;
pystray is imported only by `start_tray`, because importing it already needs a desktop (on Linux
it connects to the X server at import). Where no tray can be shown -- no pystray, no display, a
headless server -- `start_tray` logs that once and returns None, and the daemon runs without it.

The daemon's side (`DaemonTrayActions`) is called from pystray's own thread and hands every action
to the daemon's event loop, where the settings window's sessions and the sync scheduler live.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import webbrowser
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Protocol

if TYPE_CHECKING:
    from companion.server.daemon import RunningDaemon

log = logging.getLogger(__name__)

TITLE: Final = "CATS Companion"
#: How long a menu action waits for the daemon's loop before giving up (the tray must not hang).
ACTION_TIMEOUT: Final = 10.0


class TrayActions(Protocol):
    """What the tray's menu does; the daemon implements it, tests use a fake."""

    def status_line(self) -> str: ...

    def open_settings(self) -> None: ...

    def sync_now(self) -> None: ...

    def quit(self) -> None: ...


@dataclass(frozen=True)
class MenuEntry:
    """One line of the tray menu; `text` is re-read each time the menu is shown."""

    text: Callable[[], str]
    action: Callable[[], None] | None
    enabled: bool = True
    #: The action of a plain click on the icon.
    default: bool = False


def menu_entries(actions: TrayActions) -> list[MenuEntry]:
    """Status (not clickable), Open settings (the default), Sync now, Quit."""
    return [
        MenuEntry(text=actions.status_line, action=None, enabled=False),
        MenuEntry(text=lambda: "Open settings", action=actions.open_settings, default=True),
        MenuEntry(text=lambda: "Sync now", action=actions.sync_now),
        MenuEntry(text=lambda: "Quit", action=actions.quit),
    ]


def _guarded(name: str, action: Callable[[], None]) -> Callable[[], None]:
    def run() -> None:
        try:
            action()
        except Exception:
            # pystray would swallow it; a tray action must never take the icon down silently.
            log.exception("the tray's %r failed", name)

    return run


def build_menu(pystray: Any, actions: TrayActions) -> Any:
    """The pystray.Menu for `actions`; `pystray` is the module, passed in so tests need no display."""
    items = []
    for entry in menu_entries(actions):
        text = entry.text
        if entry.action is None:
            items.append(pystray.MenuItem(lambda _item, text=text: text(), None, enabled=False))
            continue
        label = text()
        action = _guarded(label, entry.action)
        items.append(
            pystray.MenuItem(label, lambda _icon, _item, action=action: action(), default=entry.default)
        )
    return pystray.Menu(*items)


def icon_image() -> Any:
    """The icon: the app's blue rounded square with a white ring, drawn with Pillow (64x64)."""
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, 63, 63), radius=14, fill=(36, 84, 214, 255))
    draw.ellipse((16, 16, 47, 47), outline=(255, 255, 255, 255), width=6)
    return image


class TrayHandle:
    """A shown tray icon; `stop()` removes it."""

    def __init__(self, icon: Any) -> None:
        self._icon = icon

    def stop(self) -> None:
        try:
            self._icon.stop()
        except Exception:
            log.debug("the tray icon did not stop cleanly", exc_info=True)


_said_unavailable = threading.Event()


def start_tray(actions: TrayActions, *, importer: Callable[[], Any] | None = None) -> TrayHandle | None:
    """Show the tray icon, or log once that there is none here and return None."""
    try:
        pystray = (importer or _import_pystray)()
        icon = pystray.Icon("cats-companion", icon_image(), TITLE, build_menu(pystray, actions))
        icon.run_detached()
    except Exception as exc:
        # pystray fails with anything from ImportError to Xlib's own errors when there is no tray.
        if not _said_unavailable.is_set():
            _said_unavailable.set()
            log.info("no tray icon: %s; the companion runs without it", _why(exc))
        return None
    return TrayHandle(icon)


def _import_pystray() -> Any:
    import pystray

    return pystray


def team_summary(team: Mapping[str, Any]) -> str | None:
    """The status's `team` section in a few words for the tray's status line; None outside a team."""
    if not team.get("joined"):
        return "team mode off (see the settings window)" if team.get("reason") else None
    state = team.get("state")
    if state == "offline":
        return "team offline"
    if state != "connected":
        return "connecting to the team"
    syncer = team.get("syncer")
    who = "this companion syncs" if team.get("is_syncer") else f"{syncer} syncs" if syncer else "nobody syncs"
    lag = (team.get("replication") or {}).get("lag_changes") or 0
    return f"team connected, {who}" + (f", {lag} changes behind" if lag else "")


def _why(exc: BaseException) -> str:
    if isinstance(exc, ImportError):
        return "pystray is not installed (install the `tray` extra)"
    return f"no desktop tray is available ({type(exc).__name__})"


class DaemonTrayActions:
    """The daemon's tray actions, called from the tray's thread and run on the daemon's loop."""

    def __init__(
        self,
        daemon: RunningDaemon,
        loop: asyncio.AbstractEventLoop,
        on_quit: Callable[[], None],
        *,
        opener: Callable[[str], object] = webbrowser.open,
    ) -> None:
        self._daemon = daemon
        self._loop = loop
        self._on_quit = on_quit
        self._opener = opener

    def status_line(self) -> str:
        status = self._daemon.companion.monitor.status
        team = team_summary(self._daemon.companion.team_status())
        return f"CATS: {status.detail}" + (f" · {team}" if team else "")

    def open_settings(self) -> None:
        url = self._on_loop(self._daemon.state.window_link)
        self._opener(url)

    def sync_now(self) -> None:
        def request() -> bool:
            sync = self._daemon.companion.sync
            return sync.request() if sync is not None else False

        if not self._on_loop(request):
            log.info("tray: no sync started (none configured, or one is already running)")

    def quit(self) -> None:
        self._loop.call_soon_threadsafe(self._on_quit)

    def _on_loop(self, call: Callable[[], Any]) -> Any:
        future: Future[Any] = Future()

        def run() -> None:
            try:
                future.set_result(call())
            except BaseException as exc:
                future.set_exception(exc)

        self._loop.call_soon_threadsafe(run)
        return future.result(timeout=ACTION_TIMEOUT)
