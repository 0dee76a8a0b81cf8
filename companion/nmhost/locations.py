"""Where the host finds the daemon (runtime dir, daemon.json) and its log dir, in stdlib-only code.

This mirrors companion.paths.runtime_dir() and log_dir() (which use platformdirs) without
importing platformdirs; tests/nmhost/test_locations.py checks that both give the same answer, and
`cats-companion doctor` says so when they do not.
"""

from __future__ import annotations

import json
import os
import posixpath
import stat
import sys
from collections.abc import Mapping

APP_NAME = "cats-companion"
HOME_ENV = "CATS_COMPANION_HOME"
RUNTIME_FILE_NAME = "daemon.json"
SOCKET_NAME = "daemon.sock"


def runtime_dir(env: Mapping[str, str] | None = None, platform: str | None = None) -> str:
    """The daemon's runtime dir, as companion.paths.runtime_dir() computes it."""
    env = os.environ if env is None else env
    platform = sys.platform if platform is None else platform
    home = env.get(HOME_ENV)
    if home:
        return os.path.join(home, "run")
    if platform == "win32":
        return os.path.join(_local_appdata(env), "Temp", APP_NAME)
    xdg = env.get("XDG_RUNTIME_DIR", "")
    if posixpath.isabs(xdg) and _acceptable_runtime_base(xdg, missing_ok=True):
        return posixpath.join(xdg, APP_NAME)
    if platform == "darwin":
        return posixpath.join(_home(env), "Library", "Caches", "TemporaryItems", APP_NAME)
    default = f"/run/user/{os.geteuid()}"
    if _acceptable_runtime_base(default, missing_ok=False):
        return posixpath.join(default, APP_NAME)
    return posixpath.join(_temp_dir(env), f"runtime-{os.geteuid()}", APP_NAME)


def log_dir(env: Mapping[str, str] | None = None, platform: str | None = None) -> str:
    """Where logs go, as companion.paths.log_dir() computes it."""
    env = os.environ if env is None else env
    platform = sys.platform if platform is None else platform
    home = env.get(HOME_ENV)
    if home:
        return os.path.join(home, "log")
    if platform == "win32":
        return os.path.join(_local_appdata(env), APP_NAME, "Logs")
    if platform == "darwin":
        return posixpath.join(_home(env), "Library", "Logs", APP_NAME)
    state = env.get("XDG_STATE_HOME", "")
    base = state if posixpath.isabs(state) else posixpath.join(_home(env), ".local", "state")
    return posixpath.join(base, APP_NAME, "log")


class DaemonInfo:
    """What daemon.json says about the running daemon."""

    __slots__ = ("pid", "port", "socket", "token")

    def __init__(self, *, port: int, token: str, pid: int, socket: str | None) -> None:
        self.port = port
        self.token = token
        self.pid = pid
        self.socket = socket

    def __repr__(self) -> str:
        return f"DaemonInfo(port={self.port}, pid={self.pid}, socket={self.socket!r}, token=<redacted>)"


def read_daemon_info(run_dir: str) -> DaemonInfo | None:
    """The recorded daemon, or None when there is none we can use (missing, torn or foreign file)."""
    try:
        with open(os.path.join(run_dir, RUNTIME_FILE_NAME), "rb") as handle:
            raw = json.loads(handle.read())
    except (OSError, ValueError):
        return None
    if not isinstance(raw, dict):
        return None
    port, token, pid, sock = raw.get("port"), raw.get("token"), raw.get("pid"), raw.get("socket")
    if not (isinstance(port, int) and isinstance(token, str) and token and isinstance(pid, int)):
        return None
    return DaemonInfo(
        port=port, token=token, pid=pid, socket=sock if isinstance(sock, str) and sock else None
    )


def private_dir_problem(path: str) -> str | None:
    """Why `path` cannot be trusted to hold our token and socket, or None when it can (POSIX only)."""
    if os.name != "posix":
        return None
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return f"{path} does not exist"
    except OSError as exc:
        return f"{path} cannot be read ({exc.strerror})"
    if not stat.S_ISDIR(info.st_mode) or stat.S_ISLNK(info.st_mode):
        return f"{path} is not a plain directory"
    if info.st_uid != os.geteuid():
        return f"{path} belongs to another user"
    if info.st_mode & 0o077:
        return f"{path} is accessible by other users (mode {stat.S_IMODE(info.st_mode):04o})"
    return None


def private_socket_problem(path: str) -> str | None:
    """Why the daemon's socket at `path` cannot be trusted, or None when it can (POSIX only).

    A socket others may connect to, or one another user made, is not our daemon's: talking to it
    would hand the bearer token and the extension's requests to whoever listens there.
    """
    if os.name != "posix":
        return None
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return f"{path} does not exist"
    except OSError as exc:
        return f"{path} cannot be read ({exc.strerror})"
    if not stat.S_ISSOCK(info.st_mode):
        return f"{path} is not a socket"
    if info.st_uid != os.geteuid():
        return f"{path} belongs to another user"
    if info.st_mode & 0o077:
        return f"{path} is accessible by other users (mode {stat.S_IMODE(info.st_mode):04o})"
    return None


def _acceptable_runtime_base(path: str, *, missing_ok: bool) -> bool:
    """platformdirs' rule for a runtime base: ours, 0700, no symlink, below parents others cannot replace."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return missing_ok and _safe_parents(posixpath.dirname(path), missing_ok=True)
    except OSError:
        return False
    own = stat.S_ISDIR(info.st_mode) and not stat.S_ISLNK(info.st_mode) and info.st_uid == os.geteuid()
    return own and stat.S_IMODE(info.st_mode) == 0o700 and _safe_parents(posixpath.dirname(path), missing_ok)


def _safe_parents(path: str, missing_ok: bool) -> bool:
    """Every directory from / to `path` is root's or ours and not writable by others (unless sticky)."""
    current = "/"
    owners = {0, os.geteuid()}
    for part in [p for p in path.split("/") if p]:
        current = posixpath.join(current, part)
        try:
            info = os.lstat(current)
        except FileNotFoundError:
            return missing_ok
        except OSError:
            return False
        if stat.S_ISLNK(info.st_mode):
            return _safe_parents(os.path.realpath(path), missing_ok)
        if info.st_uid not in owners or not stat.S_ISDIR(info.st_mode):
            return False
        if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH) and not info.st_mode & stat.S_ISVTX:
            return False
    return True


def _temp_dir(env: Mapping[str, str]) -> str:
    for name in ("TMPDIR", "TEMP", "TMP"):
        value = env.get(name, "")
        if posixpath.isabs(value) and os.path.isdir(value):
            return value
    # What tempfile.gettempdir() answers on any normal system, without importing tempfile (slow).
    return "/tmp"  # noqa: S108 -- platformdirs' own fallback root; the dir is checked before use


def _home(env: Mapping[str, str]) -> str:
    return env.get("HOME") or os.path.expanduser("~")


def _local_appdata(env: Mapping[str, str]) -> str:
    return env.get("LOCALAPPDATA") or os.path.join(_home(env), "AppData", "Local")
