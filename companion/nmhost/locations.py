"""The per-user file locations host and daemon share: runtime dir, daemon.json, socket, log dir.

This is the one implementation of those rules: companion.paths uses it for the daemon, so the host
always looks where the daemon writes. It imports only the standard library because the native host
may import nothing else. The layout is platformdirs' (which still gives the daemon its data and
config dirs), so an installed companion's files stay where they were; CATS_COMPANION_HOME puts
every file under one directory instead (tests, portable installs).
"""

from __future__ import annotations

import json
import os
import posixpath
import stat
import sys
from collections.abc import Mapping

APP_NAME = "cats-companion"
#: Set to a directory to put every file of the companion under it (tests, portable installs).
HOME_ENV = "CATS_COMPANION_HOME"
#: The daemon's record of where it listens (companion.server.runtime writes it, 0600).
RUNTIME_FILE_NAME = "daemon.json"
#: The daemon's Unix socket, in the runtime dir.
SOCKET_NAME = "daemon.sock"


def home_override(sub: str, env: Mapping[str, str] | None = None) -> str | None:
    """`$CATS_COMPANION_HOME/<sub>` when that variable is set (and not empty), else None."""
    home = (os.environ if env is None else env).get(HOME_ENV)
    return os.path.join(home, sub) if home else None


def runtime_dir(env: Mapping[str, str] | None = None, platform: str | None = None) -> str:
    """Per-user runtime files: daemon.json and the daemon's Unix socket (platformdirs' user_runtime_dir)."""
    env = os.environ if env is None else env
    platform = sys.platform if platform is None else platform
    override = home_override("run", env)
    if override is not None:
        return override
    if platform == "win32":
        return os.path.join(_local_appdata(env), "Temp", APP_NAME)
    xdg = env.get("XDG_RUNTIME_DIR", "")
    if posixpath.isabs(xdg) and _acceptable_runtime_base(xdg, missing_ok=True):
        return posixpath.join(xdg, APP_NAME)
    if platform == "darwin":
        return posixpath.join(_home(env), "Library", "Caches", "TemporaryItems", APP_NAME)
    # Without a private XDG_RUNTIME_DIR the fallback may be under /tmp: fine, because the daemon's
    # private_dir() and the host's private_dir_problem() refuse a directory another user planted.
    default = f"/run/user/{os.geteuid()}"
    if _acceptable_runtime_base(default, missing_ok=False):
        return posixpath.join(default, APP_NAME)
    return posixpath.join(_temp_dir(env), f"runtime-{os.geteuid()}", APP_NAME)


def log_dir(env: Mapping[str, str] | None = None, platform: str | None = None) -> str:
    """Where the daemon's and the host's logs go (platformdirs' user_log_dir)."""
    env = os.environ if env is None else env
    platform = sys.platform if platform is None else platform
    override = home_override("log", env)
    if override is not None:
        return override
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
