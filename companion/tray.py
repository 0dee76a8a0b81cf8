"""The tray icon (optional extra `tray`, pystray): a status line, Open settings, Sync now and Quit.

The menu is built from `menu_entries(actions)`, plain data that tests check without a display, and
its status line is `status_text(view)`, a pure function of the companion's state. pystray is
imported only by `start_tray`, after `tray_backend.choose_backend` has picked the backend this
desktop can show; the icon then runs in its own thread. Where no tray can be shown -- no pystray,
no display, a desktop without a tray -- `start_tray` says so once and the daemon runs without it.

The daemon's side (`DaemonTrayActions`) is called from the icon's thread and never blocks it: every
action is handed to the daemon's event loop, where the settings window's sessions and the sync
scheduler live, and a browser is started from a thread of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import webbrowser
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final, Protocol

from companion.tray_backend import (
    WITHOUT_TRAY,
    Backend,
    DesktopProbe,
    IconThread,
    NoTrayHere,
    choose_backend,
    fit_icon,
    import_pystray,
)

if TYPE_CHECKING:
    from companion.server.daemon import RunningDaemon
    from companion.services.connection import CatsState

log = logging.getLogger(__name__)

TITLE: Final = "CATS Companion"
#: How often the status line and tooltip are brought up to date (in-memory reads, no CATS request).
REFRESH_SECONDS: Final = 1.0
#: A Sync now waits this long for its run's end before it stops watching (the run goes on).
SYNC_WATCH_SECONDS: Final = 6 * 3600.0
#: Shown when no browser took the link: the command that prints the link (and opens it where it can).
NO_BROWSER: Final = "No browser opened: type cats-companion settings in a terminal for the link"


class TrayActions(Protocol):
    """What the tray's menu does; the daemon implements it, tests use a fake."""

    def status_line(self) -> str: ...

    def open_settings(self) -> None: ...

    def sync_now(self) -> None: ...

    def quit(self) -> None: ...


@dataclass(frozen=True)
class MenuEntry:
    """One line of the tray menu; `text` is re-read each time the menu is rebuilt."""

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
    """The pystray.Menu for `actions`; `pystray` is the module, passed in so tests choose the backend."""
    items = []
    for entry in menu_entries(actions):
        text = entry.text
        if entry.action is None:
            # pystray calls a text callable with the item, and re-reads it when the menu is rebuilt.
            items.append(pystray.MenuItem(lambda _item, text=text: text(), None, enabled=False))
            continue
        label = text()
        # pystray accepts actions of 0, 1 (icon) or 2 (icon, item) arguments; ours need none.
        items.append(pystray.MenuItem(label, _guarded(label, entry.action), default=entry.default))
    return pystray.Menu(*items)


def icon_image() -> Any:
    """The icon: the app's blue rounded square with a white ring, drawn with Pillow (64x64)."""
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, 63, 63), radius=14, fill=(36, 84, 214, 255))
    draw.ellipse((16, 16, 47, 47), outline=(255, 255, 255, 255), width=6)
    return image


@dataclass(frozen=True)
class TrayView:
    """What the status line shows: the companion's state at one moment, read on the daemon's loop."""

    connection: CatsState
    detail: str
    site: str | None = None
    syncing: bool = False
    pages_done: int = 0
    pages_total: int | None = None
    companies_done: int = 0
    #: Set while CATS has asked us to wait (a 429's Retry-After).
    rate_limited_until: datetime | None = None
    #: The team's state in a few words (`team_summary`); None outside a team.
    team: str | None = None
    #: The outcome of the last thing done from the tray (Sync now, Open settings), if any.
    notice: str | None = None


def status_text(view: TrayView) -> str:
    """The menu's status line (and the tooltip's text): the state, the team's, then the last outcome."""
    parts = [_state_text(view)]
    if view.team:
        parts.append(view.team)
    if view.notice:
        parts.append(view.notice)
    return " · ".join(parts)


def team_summary(team: Mapping[str, Any]) -> str | None:
    """The status's `team` section in a few words for the tray's status line; None outside a team."""
    if not team.get("joined"):
        return "team mode off (see the settings window)" if team.get("reason") else None
    state = team.get("state")
    if state == "offline":
        return "team offline"
    if state == "removed":
        return "removed from the team by its admin: working alone"
    if state != "connected":
        return "connecting to the team"
    syncer = team.get("syncer")
    who = "this companion syncs" if team.get("is_syncer") else f"{syncer} syncs" if syncer else "nobody syncs"
    lag = (team.get("replication") or {}).get("lag_changes") or 0
    return f"team connected, {who}" + (f", {lag} changes behind" if lag else "")


def _state_text(view: TrayView) -> str:
    if view.rate_limited_until is not None:
        return f"Rate-limited by CATS until {view.rate_limited_until.astimezone():%H:%M}"
    if view.syncing:
        if view.pages_total:
            return f"Syncing companies: page {view.pages_done} of {view.pages_total}"
        return f"Syncing companies: {view.companies_done} so far"
    if view.connection == "connected":
        return f"Connected to {view.site}" if view.site else "Connected to CATS"
    if view.connection == "not_configured":
        return "No API key yet: Open settings to add one"
    if view.connection == "keyring_locked":
        return "The keyring is locked: unlock it to use the stored API key"
    if view.connection == "bad_key":
        return "CATS refused the API key: Open settings to change it"
    if view.connection == "unreachable":
        return "Offline: CATS cannot be reached"
    return f"CATS: {view.detail}"


def tooltip(view: TrayView) -> str:
    return f"{TITLE}: {status_text(view)}"


class TrayHandle:
    """A shown tray icon: `show()` updates its status line and tooltip, `stop()` removes it."""

    def __init__(self, runner: IconThread, backend: Backend) -> None:
        self._runner = runner
        self.backend = backend

    def show(self, view: TrayView) -> None:
        if self.backend.name == "xorg":
            # No menu and no tooltip to show it in; and pystray's X11 title setter waits for the
            # icon's thread, which must never hold up the daemon's loop.
            return
        icon = self._runner.icon
        try:
            icon.title = tooltip(view)
            # pystray re-reads the status callable only when the menu is rebuilt.
            icon.update_menu()
        except Exception:
            log.debug("the tray icon could not be updated", exc_info=True)

    def notify(self, message: str) -> None:
        icon = self._runner.icon
        if not getattr(icon, "HAS_NOTIFICATION", False):
            return
        try:
            icon.notify(message, TITLE)
        except Exception:
            # No notification server is no error: the status line says the same.
            log.debug("no desktop notification", exc_info=True)

    def stop(self) -> None:
        try:
            if not self._runner.stop():
                log.warning("the tray icon's thread did not end; the daemon exits without it")
        except Exception:
            log.debug("the tray icon did not stop cleanly", exc_info=True)


_said_unavailable = threading.Event()


def start_tray(
    actions: TrayActions,
    *,
    env: Mapping[str, str] | None = None,
    probe: DesktopProbe | None = None,
    importer: Callable[[Backend], Any] = import_pystray,
) -> TrayHandle | None:
    """Show the tray icon in its own thread, or say once why there is none here and return None.

    Blocks until the icon is shown (a few seconds at most): call it from a worker thread.
    """
    try:
        backend = choose_backend(os.environ if env is None else env, probe=probe)
        pystray = importer(backend)
        runner = IconThread(
            lambda: fit_icon(
                backend, pystray.Icon("cats-companion", icon_image(), TITLE, build_menu(pystray, actions))
            )
        )
        runner.start()
    except Exception as exc:
        # pystray fails with anything from ImportError to Xlib's own errors when there is no tray.
        if not _said_unavailable.is_set():
            _said_unavailable.set()
            log.info("no tray icon: %s; the companion runs without it", _why(exc))
        return None
    log.info("tray icon shown with pystray's %s backend (%s)", backend.name, backend.why)
    return TrayHandle(runner, backend)


def _why(exc: BaseException) -> str:
    if isinstance(exc, NoTrayHere):
        return exc.reason
    if isinstance(exc, ImportError):
        if isinstance(exc, ModuleNotFoundError) and exc.name == "pystray":
            return f"the tray add-on is not installed (pip install 'cats-companion[tray]'); {WITHOUT_TRAY}"
        return f"the tray add-on cannot load here ({exc}); {WITHOUT_TRAY}"
    return f"the desktop did not take the tray icon ({type(exc).__name__}: {exc}); {WITHOUT_TRAY}"


class DaemonTrayActions:
    """The daemon's tray actions: called from the icon's thread, run on the daemon's loop.

    Make it on the daemon's loop; `follow(handle)` then keeps the icon's status line current.
    """

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
        self._notice: str | None = None
        self._handle: TrayHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._text = status_text(self.view())

    # -- called from the icon's thread: each returns at once --

    def status_line(self) -> str:
        return self._text

    def open_settings(self) -> None:
        self._soon(self._open_settings)

    def sync_now(self) -> None:
        self._soon(self._sync_now)

    def quit(self) -> None:
        self._loop.call_soon_threadsafe(self._on_quit)

    # -- on the daemon's loop --

    def view(self) -> TrayView:
        """The companion's state as the tray shows it (in-memory reads only)."""
        companion = self._daemon.companion
        status = companion.monitor.status
        sync = companion.sync
        progress = sync.engine.progress if sync is not None and sync.running else None
        client = companion.client
        return TrayView(
            connection=status.state,
            detail=status.detail,
            site=status.site,
            syncing=sync is not None and sync.running,
            pages_done=progress.pages_done if progress else 0,
            pages_total=progress.pages_total if progress else None,
            companies_done=progress.companies_done if progress else 0,
            rate_limited_until=client.budget.snapshot().blocked_until if client is not None else None,
            team=team_summary(companion.team_status()),
            notice=self._notice,
        )

    def refresh(self) -> None:
        """Bring the status line and tooltip up to date, touching the icon only on a change."""
        view = self.view()
        text = status_text(view)
        if text != self._text:
            self._text = text
            if self._handle is not None:
                self._handle.show(view)

    async def follow(self, handle: TrayHandle) -> None:
        """Keep `handle`'s status line current until cancelled."""
        self._handle = handle
        handle.show(self.view())
        while True:
            self.refresh()
            await asyncio.sleep(REFRESH_SECONDS)

    async def close(self) -> None:
        """Cancel what the tray started and still waits on (a sync it watches, a browser's answer)."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _tell(self, notice: str, *, notify: bool = True) -> None:
        log.info("tray: %s", notice)
        self._notice = notice
        self.refresh()
        if notify and self._handle is not None:
            self._handle.notify(notice)

    def _soon(self, job: Callable[[], Coroutine[Any, Any, None]]) -> None:
        def start() -> None:
            task = self._loop.create_task(job())
            self._tasks.add(task)
            task.add_done_callback(self._ended)

        self._loop.call_soon_threadsafe(start)

    def _ended(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            # The icon's thread has long returned: this log is the only place the failure can go.
            log.error("a tray action failed", exc_info=task.exception())

    async def _open_settings(self) -> None:
        url = self._daemon.state.window_link()
        if await self._open_in_browser(url):
            self._tell("Settings opened in the browser", notify=False)
        else:
            self._tell(NO_BROWSER)

    async def _open_in_browser(self, url: str) -> bool:
        """Start the browser from a daemon thread: a BROWSER command may run until that browser exits,
        and neither the icon nor the daemon's exit may wait for it."""
        opened: asyncio.Future[bool] = self._loop.create_future()

        def answer(ok: bool) -> None:
            if not opened.done():
                opened.set_result(ok)

        def run() -> None:
            try:
                ok = bool(self._opener(url))
            except Exception:
                log.debug("the browser could not be started", exc_info=True)
                ok = False
            with contextlib.suppress(RuntimeError):  # the daemon's loop closed meanwhile
                self._loop.call_soon_threadsafe(answer, ok)

        threading.Thread(target=run, name="tray-browser", daemon=True).start()
        return await opened

    async def _sync_now(self) -> None:
        sync = self._daemon.companion.sync
        if sync is None:
            self._tell("Sync not started: no API key yet (Open settings to add one)")
            return
        before = sync.runs_ended
        if not sync.request():
            self._tell("A sync is already running", notify=False)
            return
        self._tell("Sync started")
        try:
            async with asyncio.timeout(SYNC_WATCH_SECONDS):
                await sync.wait_for_run(before)
        except TimeoutError:
            return  # still running after hours: the status line shows its progress meanwhile
        state = await sync.state()
        if state.last_error is not None:
            self._tell(f"Sync failed: {state.last_error.message}")
        else:
            self._tell(f"Sync finished: {state.companies_in_cache} companies cached")
