"""Which pystray backend can show the tray icon on this desktop, and the thread the icon runs in.

pystray picks its backend when it is imported (appindicator, then gtk, then xorg on Linux), without
asking whether the desktop can show what that backend draws. We ask first: an AppIndicator needs a
StatusNotifier host on the D-Bus session bus (KDE, GNOME with the AppIndicator extension, recent
XFCE panels); a GTK status icon needs an X11 system tray (XEmbed); pystray's plain X11 backend docks
an icon but has no menu, so it is the last resort. The choice is handed to pystray through its own
PYSTRAY_BACKEND variable before the import.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Protocol

#: How long the icon may take to appear (GTK's start-up on a loaded machine) before we give up on it.
START_TIMEOUT: Final = 15.0
#: How long stopping waits for the icon's thread (a daemon thread: the process exits regardless).
STOP_TIMEOUT: Final = 3.0
#: The D-Bus name of the registry that AppIndicator / StatusNotifier icons dock into.
STATUS_NOTIFIER_WATCHER: Final = "org.kde.StatusNotifierWatcher"
#: What to run when there is no tray: the settings window without the icon.
WITHOUT_TRAY: Final = "open the settings with `cats-companion settings`"


class NoTrayHere(Exception):
    """This desktop shows no tray icon; `reason` is worded for the person at the desk."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Backend:
    """A pystray backend and why it fits this desktop (logged once at start-up)."""

    name: str
    why: str


class DesktopProbe(Protocol):
    """What the desktop offers; the real one asks GObject introspection and the session bus."""

    def has_gtk(self) -> bool: ...

    def has_appindicator(self) -> bool: ...

    def has_status_notifier_host(self) -> bool: ...

    def has_xembed_tray(self) -> bool: ...


def choose_backend(
    env: Mapping[str, str], platform: str = sys.platform, probe: DesktopProbe | None = None
) -> Backend:
    """The backend to use here, or NoTrayHere saying why there is none."""
    forced = env.get("PYSTRAY_BACKEND")
    if forced:
        return Backend(forced, "chosen by PYSTRAY_BACKEND")
    if platform == "win32":
        return Backend("win32", "the Windows notification area")
    if platform == "darwin":
        # AppKit runs only on the main thread, which the daemon's event loop owns.
        raise NoTrayHere(f"the macOS menu bar icon is not available yet; {WITHOUT_TRAY}")
    x11, wayland = bool(env.get("DISPLAY")), bool(env.get("WAYLAND_DISPLAY"))
    if not (x11 or wayland):
        raise NoTrayHere(f"this session has no desktop to show it on (no display); {WITHOUT_TRAY}")
    probe = probe or GiProbe(env)
    if probe.has_appindicator() and probe.has_status_notifier_host():
        return Backend("appindicator", "the desktop's StatusNotifier host (AppIndicator over D-Bus)")
    if not x11:
        raise NoTrayHere(
            "this desktop shows no tray icons (no StatusNotifier host; on GNOME, turn on the "
            f"AppIndicator extension); {WITHOUT_TRAY}"
        )
    if probe.has_gtk():
        if probe.has_xembed_tray():
            return Backend("gtk", "a GTK status icon in the X11 system tray")
        # A panel started after us still takes the icon, so it is shown regardless; but say so.
        return Backend(
            "gtk",
            "a GTK status icon, waiting for an X11 system tray: this desktop shows none yet (on "
            f"GNOME, turn on the AppIndicator extension); {WITHOUT_TRAY}",
        )
    return Backend(
        "xorg",
        "plain X11 icon without a menu: a click opens the settings (the GTK bindings of the "
        "`tray` extra give it its menu)",
    )


class GiProbe:
    """Asks GObject introspection (PyGObject) what is installed and the session bus who listens."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env
        self._gi = importlib.util.find_spec("gi") is not None

    def has_gtk(self) -> bool:
        return self._typelib("Gtk", "3.0")

    def has_appindicator(self) -> bool:
        return self._typelib("AyatanaAppIndicator3", "0.1") or self._typelib("AppIndicator3", "0.1")

    def has_status_notifier_host(self) -> bool:
        address = self._session_bus_address()
        if not self._gi or address is None:
            return False
        from gi.repository import Gio, GLib

        flags = Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION
        try:
            # The bus `env` names (the process's own, but for tests), not whichever GLib finds.
            bus = Gio.DBusConnection.new_for_address_sync(address, flags, None, None)
        except GLib.Error:
            return False
        try:
            reply = bus.call_sync(
                "org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus",
                "NameHasOwner",
                GLib.Variant("(s)", (STATUS_NOTIFIER_WATCHER,)),
                GLib.VariantType("(b)"),
                Gio.DBusCallFlags.NONE,
                2000,  # ms: a bus that does not answer means no host
                None,
            )
        except GLib.Error:
            return False
        finally:
            bus.close_sync(None)
        return bool(reply.unpack()[0])

    def has_xembed_tray(self) -> bool:
        """Whether an X11 system tray (XEmbed) holds the screen's tray selection right now."""
        name = self._env.get("DISPLAY")
        if not name:
            return False
        try:
            from Xlib import display as xdisplay

            connection = xdisplay.Display(name)
        except Exception:
            return False
        try:
            selection = connection.intern_atom(f"_NET_SYSTEM_TRAY_S{connection.get_default_screen()}")
            # python-xlib answers 0 when nobody owns the selection, else the owner's window.
            return bool(connection.get_selection_owner(selection) != 0)
        finally:
            connection.close()

    def _session_bus_address(self) -> str | None:
        # Only a bus that exists: without an address GLib would auto-launch a bus of its own.
        address = self._env.get("DBUS_SESSION_BUS_ADDRESS")
        if address:
            return address
        runtime = self._env.get("XDG_RUNTIME_DIR")
        if runtime and Path(runtime, "bus").exists():
            return f"unix:path={Path(runtime, 'bus')}"
        return None

    def _typelib(self, namespace: str, version: str) -> bool:
        if not self._gi:
            return False
        import gi

        try:
            gi.require_version(namespace, version)
        except ValueError:
            return False
        return True


def import_pystray(backend: Backend) -> Any:
    """pystray, with `backend` (pystray reads PYSTRAY_BACKEND once, at import)."""
    os.environ.setdefault("PYSTRAY_BACKEND", backend.name)
    import pystray

    return pystray


def fit_icon(backend: Backend, icon: Any) -> Any:
    """`icon`, mended where its backend needs it; call it in the icon's thread, before `run()`.

    pystray 0.19's plain X11 icon window asks the X server only for exposure and structure events,
    never for button presses, so every click on it was lost (its one action, the default item,
    could not run): it asks for button presses too.
    """
    window, display = getattr(icon, "_window", None), getattr(icon, "_display", None)
    if backend.name == "xorg" and window is not None and display is not None:
        from Xlib import X

        window.change_attributes(event_mask=X.ExposureMask | X.StructureNotifyMask | X.ButtonPressMask)
        display.flush()
    return icon


class IconThread:
    """Runs a pystray icon with `run()` in a daemon thread of its own.

    The icon is made in that thread too: GTK's widgets and GLib main loop then live in one thread,
    and Windows' message loop belongs to the thread that made the window. pystray's `run_detached()`
    is no alternative here: for GTK it starts no main loop (an empty slot appears), and for plain X11
    it leaves a thread that keeps the process alive after SIGTERM. pystray's own calls from other
    threads (title, menu, stop) are handed to the icon's loop by pystray.
    """

    def __init__(self, make_icon: Callable[[], Any]) -> None:
        self._make_icon = make_icon
        self._shown = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="tray-icon", daemon=True)
        self.icon: Any = None

    def start(self, timeout: float = START_TIMEOUT) -> Any:
        """Show the icon; the icon, or the error that kept it from showing."""
        self._thread.start()
        if not self._shown.wait(timeout):
            self.stop()
            raise TimeoutError(f"the tray icon did not appear within {timeout:.0f} s")
        if self._error is not None:
            raise self._error
        return self.icon

    def stop(self, timeout: float = STOP_TIMEOUT) -> bool:
        """Remove the icon and end its thread; False when the thread is still alive after `timeout`."""
        if self.icon is not None:
            self.icon.stop()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        try:
            self.icon = self._make_icon()
            self.icon.run(setup=self._setup)
        except BaseException as exc:
            self._error = exc
        finally:
            self._shown.set()

    def _setup(self, icon: Any) -> None:
        icon.visible = True
        self._shown.set()
