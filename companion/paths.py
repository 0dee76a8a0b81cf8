"""Where the companion keeps its files on each OS, overridable for tests (CATS_COMPANION_HOME).

The runtime and log dirs, which the native host must find too, and the CATS_COMPANION_HOME rule
come from companion.nmhost.locations, the stdlib-only module the host uses: one implementation, so
host and daemon cannot disagree. The dirs only the daemon uses (data, config, site config) come
from platformdirs.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import platformdirs

from companion.errors import ConfigError
from companion.nmhost import locations


def _override(sub: str) -> Path | None:
    found = locations.home_override(sub)
    return Path(found) if found is not None else None


def data_dir() -> Path:
    """The database and other durable state."""
    return _override("data") or Path(platformdirs.user_data_dir(locations.APP_NAME, appauthor=False))


def config_dir() -> Path:
    """The user's settings."""
    return _override("config") or Path(platformdirs.user_config_dir(locations.APP_NAME, appauthor=False))


def log_dir() -> Path:
    """The daemon's log (and the native host's, when it logs)."""
    return Path(locations.log_dir())


def runtime_dir() -> Path:
    """Per-user runtime files: the daemon's port/token file and its Unix socket."""
    return Path(locations.runtime_dir())


def site_config_dir() -> Path:
    """Where an admin deploys the team policy."""
    return Path(platformdirs.site_config_dir(locations.APP_NAME, appauthor=False))


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
