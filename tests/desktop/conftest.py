"""A desktop for the tray tests: Xvfb, a D-Bus session bus, `trayer` as the system tray, and the CATS
sandbox; `tray_daemon(...)` starts `cats-companion serve --tray` on it as a recruiter would.

Clicks go through `xdotool` (the X server's XTEST, as a real mouse), screenshots through Pillow's
ImageGrab on the X display; they are saved under artifacts/tray/ at the repository root. Every wait
is bounded. ./dev test installs xvfb, trayer and xdotool (and the GTK bindings) when missing; here a
missing tool skips, which CI turns into a failure.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Final

import pytest
from PIL import Image, ImageChops, ImageGrab

REPO: Final = Path(__file__).resolve().parents[2]
ARTIFACTS: Final = REPO / "artifacts" / "tray"
SCREEN: Final = (800, 600)
#: The icon's blue (companion/tray.py's icon_image), as it shows once scaled into the tray.
ICON_BLUE: Final = (36, 84, 214)
#: Generous for a loaded 2-core machine; every loop returns as soon as its condition holds.
START_TIMEOUT: Final = 45.0
#: The issue's bound for Quit and SIGTERM.
STOP_TIMEOUT: Final = 10.0
API_KEY: Final = "tray-test-sandbox-key"


def _need(*tools: str) -> None:
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if importlib.util.find_spec("gi") is None:
        missing.append("PyGObject (the `tray` extra)")
    if missing:
        pytest.skip(f"the desktop tests need {', '.join(missing)} (./dev test installs them)")


def _read_line(stream: IO[str], timeout: float, what: str) -> str:
    ready, _, _ = select.select([stream], [], [], timeout)
    if not ready:
        pytest.fail(f"{what} said nothing within {timeout:.0f} s")
    return stream.readline().strip()


def wait_until(condition: Callable[[], Any], timeout: float, what: str, *, step: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(step)
    pytest.fail(f"no {what} within {timeout:.0f} s")


def _stop(process: subprocess.Popen[Any]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def start_tray_manager(env: dict[str, str]) -> subprocess.Popen[bytes]:
    """`trayer` on the top edge, once its window is up; started again if it does not come up."""
    args = ["trayer", "--edge", "top", "--align", "right", "--widthtype", "request", "--height", "32"]
    args += ["--transparent", "false", "--tint", "0xffffff", "--SetDockType", "true"]

    def window() -> bool:
        search = ["xdotool", "search", "--classname", "trayer"]
        return subprocess.run(search, env=env, capture_output=True, timeout=10).returncode == 0

    for _attempt in range(2):
        process = subprocess.Popen(args, env=env, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + START_TIMEOUT / 2
        while time.monotonic() < deadline:
            if window():
                return process
            time.sleep(0.1)
        _stop(process)
    pytest.fail(f"trayer showed no window within {START_TIMEOUT:.0f} s")


@dataclass
class Desktop:
    """The X display and session bus every process of a test shares."""

    display: str
    bus_address: str
    sandbox_url: str
    tray_manager: subprocess.Popen[bytes]

    def restart_tray_manager(self) -> None:
        """A fresh trayer, for a test that must not depend on what earlier icons left behind."""
        _stop(self.tray_manager)
        self.tray_manager = start_tray_manager(
            {**os.environ, "DISPLAY": self.display, "DBUS_SESSION_BUS_ADDRESS": self.bus_address}
        )

    def screenshot(self, name: str | None = None) -> Image.Image:
        image = ImageGrab.grab(xdisplay=self.display).convert("RGB")
        if name is not None:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            image.save(ARTIFACTS / f"{name}.png")
        return image

    def xdotool(self, *args: str) -> None:
        subprocess.run(
            ["xdotool", *args], env={**os.environ, "DISPLAY": self.display}, check=True, timeout=10
        )

    def find_icon(self) -> tuple[int, int] | None:
        """The centre of the companion's icon on screen, found by its blue; None while not shown."""
        image = self.screenshot()
        top = image.crop((0, 0, SCREEN[0], 64))  # trayer sits on the top edge
        raw = top.tobytes()  # RGB, row by row
        hits = [
            (index % SCREEN[0], index // SCREEN[0])
            for index in range(len(raw) // 3)
            if all(abs(raw[3 * index + k] - ICON_BLUE[k]) <= 12 for k in range(3))
        ]
        if len(hits) < 30:
            return None
        xs, ys = [x for x, _ in hits], [y for _, y in hits]
        return (min(xs) + max(xs)) // 2, (min(ys) + max(ys)) // 2

    def click_icon(self, button: int) -> tuple[int, int]:
        where: tuple[int, int] = wait_until(self.find_icon, START_TIMEOUT, "tray icon on screen")
        self.xdotool("mousemove", str(where[0]), str(where[1]), "click", str(button))
        return where

    def click_window(self, classname: str, button: int) -> None:
        """Click the middle of the docked window of that WM_CLASS name (for an icon drawn unreliably)."""

        def geometry() -> dict[str, int] | None:
            found = subprocess.run(
                [
                    "xdotool",
                    "search",
                    "--onlyvisible",
                    "--classname",
                    classname,
                    "getwindowgeometry",
                    "--shell",
                ],
                env={**os.environ, "DISPLAY": self.display},
                capture_output=True,
                text=True,
                timeout=10,
            )
            if found.returncode != 0:
                return None
            values = dict(line.split("=", 1) for line in found.stdout.split())
            box = {key: int(values[key]) for key in ("X", "Y", "WIDTH", "HEIGHT")}
            # Docked: inside trayer, on the top edge at the right (before that it is elsewhere).
            return box if box["Y"] < 40 and box["X"] > SCREEN[0] // 2 else None

        box: dict[str, int] = wait_until(geometry, START_TIMEOUT, f"window {classname!r} docked in trayer")
        x, y = box["X"] + box["WIDTH"] // 2, box["Y"] + box["HEIGHT"] // 2
        self.xdotool("mousemove", str(x), str(y), "click", str(button))

    def open_menu(self, name: str | None = None) -> Image.Image:
        """Right-click the icon and return the screen once the menu has appeared on it."""
        before = self.screenshot()
        self.click_icon(3)

        def menu_shown() -> Image.Image | None:
            after = self.screenshot()
            box = ImageChops.difference(before, after).getbbox()
            # A menu is a box of some size; a highlight alone changes a few pixels.
            if box is not None and (box[2] - box[0]) * (box[3] - box[1]) > 80 * 60:
                return after
            return None

        shown: Image.Image = wait_until(menu_shown, START_TIMEOUT, "menu after a right-click")
        if name is not None:
            self.screenshot(name)
        return shown

    def look_at_menu(self, name: str) -> None:
        """Open the menu, save it as `name`, close it again."""
        self.open_menu(name)
        self.xdotool("key", "Escape")

    def choose(self, position: int) -> None:
        """Activate the menu's `position`-th clickable item (1 = Open settings), by keyboard as a user
        may: the status line is not clickable, so the first Down lands on Open settings."""
        self.xdotool("key", *(["Down"] * position), "Return")


@pytest.fixture(scope="module")
def desktop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desktop]:
    _need("Xvfb", "trayer", "xdotool", "dbus-daemon")
    base = tmp_path_factory.mktemp("desktop")
    processes: list[subprocess.Popen[Any]] = []
    try:
        read_fd, write_fd = os.pipe()
        xvfb = subprocess.Popen(
            [
                "Xvfb",
                "-displayfd",
                str(write_fd),
                "-screen",
                "0",
                f"{SCREEN[0]}x{SCREEN[1]}x24",
                "-nolisten",
                "tcp",
            ],
            pass_fds=(write_fd,),
            stderr=subprocess.DEVNULL,
        )
        processes.append(xvfb)
        os.close(write_fd)
        with os.fdopen(read_fd) as numbers:
            display = ":" + _read_line(numbers, START_TIMEOUT, "Xvfb")
        bus = subprocess.Popen(
            ["dbus-daemon", "--session", "--nofork", "--print-address"],
            stdout=subprocess.PIPE,
            text=True,
        )
        processes.append(bus)
        assert bus.stdout is not None
        bus_address = _read_line(bus.stdout, START_TIMEOUT, "dbus-daemon")
        env = {**os.environ, "DISPLAY": display, "DBUS_SESSION_BUS_ADDRESS": bus_address}
        tray_manager = start_tray_manager(env)
        sandbox = subprocess.Popen(
            [sys.executable, "-m", "companion", "sandbox", "--seed", "40", "--api-key", API_KEY],
            cwd=REPO,
            env={**os.environ, "CATS_COMPANION_HOME": str(base / "sandbox-home")},
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        processes.append(sandbox)
        assert sandbox.stdout is not None
        first = _read_line(sandbox.stdout, START_TIMEOUT, "the CATS sandbox")
        desktop = Desktop(display, bus_address, first.rsplit(" ", 1)[-1], tray_manager)
        try:
            yield desktop
        finally:
            _stop(desktop.tray_manager)
    finally:
        for process in reversed(processes):
            _stop(process)


@dataclass
class TrayDaemon:
    """`cats-companion serve --tray` on the desktop, its log and what its browser was asked to open."""

    process: subprocess.Popen[bytes]
    log: Path
    opened: Path
    children: list[int] = field(default_factory=list)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for_log(self, text: str, timeout: float = START_TIMEOUT) -> str:
        def seen() -> str | None:
            if self.process.poll() is not None and text not in self.log_text():
                pytest.fail(
                    f"serve exited with {self.process.returncode} before logging {text!r}:\n{self.log_text()}"
                )
            return self.log_text() if text in self.log_text() else None

        result: str = wait_until(seen, timeout, f"log line {text!r}")
        return result

    def opened_urls(self) -> list[str]:
        return self.opened.read_text().split() if self.opened.exists() else []

    def terminate(self) -> int:
        """SIGTERM, as a session's logout sends it; the exit code (within STOP_TIMEOUT)."""
        self.process.send_signal(signal.SIGTERM)
        return self.wait_for_exit()

    def wait_for_exit(self, timeout: float = STOP_TIMEOUT) -> int:
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"serve did not end within {timeout:.0f} s:\n{self.log_text()}")


TrayDaemonFactory = Callable[..., TrayDaemon]


@pytest.fixture
def tray_daemon(desktop: Desktop, tmp_path: Path) -> Iterator[TrayDaemonFactory]:
    """`tray_daemon(browser="record"|"fail"|"stuck", backend=None)`: serve --tray with the sandbox's key
    in a key file; `backend` forces pystray's backend through PYSTRAY_BACKEND.

    The browser is a BROWSER command: `record` writes the link it gets and exits, `fail` exits 1 (no
    browser), `stuck` writes the link and stays until the test ends (a browser window left open).
    """
    started: list[TrayDaemon] = []
    key = tmp_path / "cats.key"
    key.write_text(API_KEY + "\n")
    key.chmod(0o600)

    def start(browser: str = "record", backend: str | None = None) -> TrayDaemon:
        opened = tmp_path / "opened.txt"
        script = tmp_path / f"browser-{browser}.sh"
        body = {
            "record": f'echo "$1" >> {opened}\n',
            "fail": "exit 1\n",
            "stuck": f'echo "$1" >> {opened}\necho $$ >> {tmp_path}/stuck.pid\nexec sleep 120\n',
        }[browser]
        script.write_text("#!/bin/sh\n" + body)
        script.chmod(0o700)
        home = tmp_path / "home"
        env = {k: v for k, v in os.environ.items() if k != "PYSTRAY_BACKEND"}
        env.update(
            DISPLAY=desktop.display,
            DBUS_SESSION_BUS_ADDRESS=desktop.bus_address,
            CATS_COMPANION_HOME=str(home),
            HOME=str(home),
            XDG_CONFIG_HOME=str(home / "xdg-config"),
            XDG_RUNTIME_DIR=str(tmp_path),
            BROWSER=str(script),
            # Never a real keyring (nor its unlock prompt): the key comes from the key file.
            PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
        )
        if backend is not None:
            env["PYSTRAY_BACKEND"] = backend
        if browser == "fail":
            # Python's webbrowser tries every browser it finds on PATH after BROWSER: find none.
            empty = tmp_path / "no-browsers"
            empty.mkdir(exist_ok=True)
            env["PATH"] = str(empty)
        log = tmp_path / "serve.log"
        with log.open("wb") as sink:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "companion",
                    "serve",
                    "--tray",
                    "--key-file",
                    str(key),
                    "--cats-url",
                    desktop.sandbox_url,
                ],
                cwd=REPO,
                env=env,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        daemon = TrayDaemon(process, log, opened)
        started.append(daemon)
        return daemon

    yield start
    for daemon in started:
        if daemon.process.poll() is None:
            daemon.process.kill()
            daemon.process.wait(10)
    stuck = tmp_path / "stuck.pid"
    if stuck.exists():
        for pid in stuck.read_text().split():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)


NOTIFICATIONS_XML: Final = """
<node>
  <interface name="org.freedesktop.Notifications">
    <method name="Notify">
      <arg type="s" direction="in"/><arg type="u" direction="in"/><arg type="s" direction="in"/>
      <arg type="s" direction="in"/><arg type="s" direction="in"/><arg type="as" direction="in"/>
      <arg type="a{sv}" direction="in"/><arg type="i" direction="in"/><arg type="u" direction="out"/>
    </method>
    <method name="CloseNotification"><arg type="u" direction="in"/></method>
  </interface>
</node>
"""


@pytest.fixture
def notifications(desktop: Desktop) -> Iterator[list[tuple[str, str]]]:
    """A desktop notification server on the session bus, as a desktop runs one: it records each
    notification's (title, text) and answers as the specification says."""
    from gi.repository import Gio, GLib

    received: list[tuple[str, str]] = []
    context = GLib.MainContext.new()
    loop = GLib.MainLoop.new(context, False)
    context.push_thread_default()
    try:
        bus = Gio.DBusConnection.new_for_address_sync(
            desktop.bus_address,
            Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION,
            None,
            None,
        )

        def on_call(
            _bus: Any, _sender: str, _path: str, _iface: str, method: str, args: Any, call: Any
        ) -> None:
            if method == "Notify":
                _app, _replaces, _icon, title, text, _actions, _hints, _timeout = args.unpack()
                received.append((title, text))
                call.return_value(GLib.Variant("(u)", (len(received),)))
            else:
                call.return_value(None)

        interface = Gio.DBusNodeInfo.new_for_xml(NOTIFICATIONS_XML).interfaces[0]
        bus.register_object("/org/freedesktop/Notifications", interface, on_call, None, None)
        bus.call_sync(
            "org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus",
            "RequestName",
            GLib.Variant("(su)", ("org.freedesktop.Notifications", 0)),
            GLib.VariantType("(u)"),
            Gio.DBusCallFlags.NONE,
            5000,
            None,
        )
    finally:
        context.pop_thread_default()

    def serve() -> None:
        context.push_thread_default()
        loop.run()

    thread = threading.Thread(target=serve, name="notification-server", daemon=True)
    thread.start()
    try:
        yield received
    finally:
        context.invoke_full(GLib.PRIORITY_DEFAULT, loop.quit)
        thread.join(5)
        bus.close_sync(None)
