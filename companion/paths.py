"""Where the companion keeps its files on each OS, overridable for tests (CATS_COMPANION_HOME).

The runtime and log dirs, which the native host must find too, and the CATS_COMPANION_HOME rule
come from companion.nmhost.locations, the stdlib-only module the host uses: one implementation, so
host and daemon cannot disagree. The dirs only the daemon uses (data, config) come from platformdirs.

The team policy's places (`site_config_dirs`) are fixed per OS, so nothing a user controls can move
or hide them: CATS_COMPANION_HOME does not touch them, the entries of XDG_CONFIG_DIRS are searched
after them (adding places, never removing one), and CATS_COMPANION_SITE_CONFIG_DIR (tests) is
honoured only for a directory and policy file that the administrator owns and this user cannot write.
"""

from __future__ import annotations

import logging
import os
import stat
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Final

import platformdirs

from companion.errors import ConfigError
from companion.nmhost import locations

log = logging.getLogger(__name__)

#: Moves the team policy's place for tests; honoured only for a place the administrator owns.
SITE_CONFIG_ENV: Final = "CATS_COMPANION_SITE_CONFIG_DIR"
#: The file an administrator deploys in a site config dir (companion.settings.policy reads it).
POLICY_FILE_NAME: Final = "policy.json"


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


def site_config_dir(environ: Mapping[str, str] | None = None, platform: str | None = None) -> Path:
    """Where an admin deploys the team policy (and admin mode writes it): the first of `site_config_dirs`."""
    return site_config_dirs(environ, platform)[0]


def site_config_dirs(environ: Mapping[str, str] | None = None, platform: str | None = None) -> list[Path]:
    """Every place the team policy is looked for, in order: the OS's fixed places, then XDG_CONFIG_DIRS's."""
    env = os.environ if environ is None else environ
    platform = sys.platform if platform is None else platform
    moved = env.get(SITE_CONFIG_ENV, "").strip()
    if moved:
        refusal = untrusted_site_dir(Path(moved))
        if refusal is None:
            return [Path(moved)]
        log.warning("%s is ignored: %s", SITE_CONFIG_ENV, refusal)
    found = _fixed_site_dirs(platform)
    if platform not in ("darwin", "win32"):
        for entry in env.get("XDG_CONFIG_DIRS", "").split(os.pathsep):
            # Relative entries are invalid by the XDG spec (and would depend on the working directory).
            if entry and os.path.isabs(entry):
                place = Path(entry) / locations.APP_NAME
                if place not in found:
                    found.append(place)
    return found


def _fixed_site_dirs(platform: str) -> list[Path]:
    if platform == "darwin":
        return [Path("/Library/Application Support") / locations.APP_NAME]
    if platform == "win32":
        # %ProgramData%, as Windows itself reports it (platformdirs asks the shell, not the environment).
        return [Path(platformdirs.site_config_dir(locations.APP_NAME, appauthor=False))]
    return [Path("/etc/xdg") / locations.APP_NAME, Path("/etc") / locations.APP_NAME]


def untrusted_site_dir(directory: Path) -> str | None:
    """Why `directory` may not stand in for the fixed policy places; None when it may.

    It may when it and its policy file exist, belong to root, and this process cannot write them
    unless it runs as root: a user cannot then make one, so pointing the variable at it escapes nothing.
    """
    if os.name != "posix":
        return "it is only honoured on Linux and macOS"
    for path in (directory, directory / POLICY_FILE_NAME):
        try:
            info = path.lstat()
        except OSError:
            return f"{path} does not exist"
        if stat.S_ISLNK(info.st_mode):
            return f"{path} is a symbolic link"
        if info.st_uid != 0:
            return f"{path} does not belong to root"
        if os.getuid() != 0 and os.access(path, os.W_OK):
            return f"{path} is writable by this user"
    return None


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
