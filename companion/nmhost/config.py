"""Which callers the host serves and how it behaves: its JSON config (from install-host) and environment.

The launcher that `cats-companion install-host` writes exports CONFIG_ENV, the path of a JSON file
beside it: `{"allowed_origins": ["chrome-extension://<id>/", ...], "log": false, "autostart": true}`.
Without one the host serves only our published extension (EXTENSION_ID). EXTRA_IDS_ENV adds ids
(comma-separated) either way, for developers loading a copy of the extension under another id.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

#: The id Chrome gives our extension: derived from the `key` in extension/manifest.json
#: (sha256 of the public key, first 32 hex digits mapped 0-f -> a-p); a test keeps them equal.
EXTENSION_ID = "nkjhiffbkojlkpmflomcllhmfeegoofd"

CONFIG_ENV = "CATS_COMPANION_HOST_CONFIG"
EXTRA_IDS_ENV = "CATS_COMPANION_EXTENSION_IDS"
#: "1" to log to host.log in the log dir (the host never logs otherwise: Chrome gives it no console).
LOG_ENV = "CATS_COMPANION_HOST_LOG"
#: "0" to never start the daemon (when you run `cats-companion serve` yourself); the CLI obeys it too.
AUTOSTART_ENV = "CATS_COMPANION_HOST_AUTOSTART"

_ID = re.compile(r"^[a-p]{32}$")
_ORIGIN = re.compile(r"^chrome-extension://([a-p]{32})/$")


class HostConfigError(Exception):
    """The config file exists but cannot be used; the host then serves nobody (fails closed)."""


def origin_of(extension_id: str) -> str:
    """The origin Chrome passes to the host (and lists in `allowed_origins`): note the trailing slash."""
    if not _ID.match(extension_id):
        raise ValueError(f"{extension_id!r} is not an extension id (32 letters a-p)")
    return f"chrome-extension://{extension_id}/"


def is_origin(value: str) -> bool:
    return bool(_ORIGIN.match(value))


class HostConfig:
    __slots__ = ("allowed_origins", "autostart", "log")

    def __init__(self, *, allowed_origins: frozenset[str], log: bool, autostart: bool) -> None:
        self.allowed_origins = allowed_origins
        self.log = log
        self.autostart = autostart


def load_config(env: Mapping[str, str]) -> HostConfig:
    """The effective configuration; raises HostConfigError for a config file that is unusable."""
    origins = {origin_of(EXTENSION_ID)}
    log = False
    autostart = True
    path = env.get(CONFIG_ENV)
    if path:
        raw = _read(path)
        listed = raw.get("allowed_origins")
        if not isinstance(listed, list) or not all(isinstance(o, str) and is_origin(o) for o in listed):
            raise HostConfigError(
                f"{path}: allowed_origins must be a list of chrome-extension://<id>/ origins"
            )
        origins = set(listed)
        log = raw.get("log") is True
        autostart = raw.get("autostart", True) is not False
    for extra in (i.strip() for i in env.get(EXTRA_IDS_ENV, "").split(",")):
        if extra:
            try:
                origins.add(origin_of(extra))
            except ValueError as exc:
                raise HostConfigError(f"{EXTRA_IDS_ENV}: {exc}") from None
    if env.get(LOG_ENV) == "1":
        log = True
    if env.get(AUTOSTART_ENV) == "0":
        autostart = False
    return HostConfig(allowed_origins=frozenset(origins), log=log, autostart=autostart)


def _read(path: str) -> dict[str, object]:
    try:
        with open(path, "rb") as handle:
            raw = json.loads(handle.read())
    except OSError as exc:
        raise HostConfigError(f"cannot read the host config {path}: {exc.strerror}") from None
    except ValueError:
        raise HostConfigError(f"the host config {path} is not valid JSON") from None
    if not isinstance(raw, dict):
        raise HostConfigError(f"the host config {path} must be a JSON object")
    return raw
