"""Where the companion keeps its files on each OS (platformdirs), overridable for tests."""

from __future__ import annotations

import os
import stat
import warnings
from pathlib import Path

import platformdirs

from companion.errors import ConfigError

APP_NAME = "cats-companion"
#: Set to a directory to put every file of the companion under it (tests, portable installs).
HOME_ENV = "CATS_COMPANION_HOME"


def _override(sub: str) -> Path | None:
    home = os.environ.get(HOME_ENV)
    return Path(home) / sub if home else None


def data_dir() -> Path:
    """The database and other durable state."""
    return _override("data") or Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def config_dir() -> Path:
    """The user's settings."""
    return _override("config") or Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def log_dir() -> Path:
    return _override("log") or Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))


def runtime_dir() -> Path:
    """Per-user runtime files: the daemon's port/token file and its Unix socket."""
    override = _override("run")
    if override is not None:
        return override
    with warnings.catch_warnings():
        # Without XDG_RUNTIME_DIR platformdirs falls back to /tmp/runtime-UID and warns; the
        # fallback is fine because private_dir() refuses a directory another user planted there.
        warnings.simplefilter("ignore")
        return Path(platformdirs.user_runtime_dir(APP_NAME, appauthor=False))


def site_config_dir() -> Path:
    """Where an admin deploys the team policy."""
    return Path(platformdirs.site_config_dir(APP_NAME, appauthor=False))


def private_dir(path: Path) -> Path:
    """Create `path` (and parents) readable only by this user; refuse one that is not ours.

    Runtime directories can live under /tmp, where another local user could create the
    directory first (or a symlink) to read our socket and token: such a directory is refused.
    """
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    if os.name == "posix":
        info = path.lstat()
        if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
            raise ConfigError(f"{path} is not a plain directory; remove it and start again")
        if info.st_uid != os.getuid():
            raise ConfigError(f"{path} belongs to another user; remove it or set XDG_RUNTIME_DIR")
        path.chmod(0o700)
    return path
