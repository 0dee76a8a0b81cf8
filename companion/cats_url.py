"""The CATS URL this user set the companion up with (cats.json in the config dir), for a daemon
started without `--cats-url` (the native host starts one on demand with no arguments).

`cats-companion key set` and the settings window's key activation write it once CATS accepts a key,
so the daemon comes up on the same CATS site its key belongs to; without the file, the default URL.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Final

from companion import paths
from companion.errors import ConfigError
from companion.files import write_atomic_json
from companion.keystore import DEFAULT_BASE_URL, normalize_base_url

CATS_URL_FILE: Final = "cats.json"
#: A cats.json bigger than this was not written by the companion.
_MAX_BYTES: Final = 4096


def url_file(config_dir: Path | None = None) -> Path:
    return (config_dir if config_dir is not None else paths.config_dir()) / CATS_URL_FILE


def configured_url(config_dir: Path | None = None) -> str:
    """The URL last set up (normalised), else DEFAULT_BASE_URL; ConfigError naming the file when it is
    damaged (a daemon must not quietly fall back to another CATS site)."""
    path = url_file(config_dir)
    fix = "run `cats-companion key set --cats-url URL` again, or delete the file"
    try:
        with path.open("rb") as handle:
            raw = handle.read(_MAX_BYTES + 1)
    except FileNotFoundError:
        return DEFAULT_BASE_URL
    except OSError as exc:
        raise ConfigError(f"cannot read {path} ({exc.strerror}); {fix}") from None
    try:
        if len(raw) > _MAX_BYTES:
            raise ValueError("too big")
        data = json.loads(raw.decode("utf-8"))
        url = data["cats_url"] if isinstance(data, dict) else None
        if not isinstance(url, str):
            raise ValueError("no cats_url string")
    except (ValueError, KeyError, UnicodeDecodeError):
        raise ConfigError(f'{path} does not hold a CATS URL ({{"cats_url": ...}}); {fix}') from None
    try:
        return normalize_base_url(url)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc.message}; {fix}") from None


def remember_url(url: str, config_dir: Path | None = None) -> None:
    """Keep `url` as the one daemons started without --cats-url use (normalised; atomic write)."""
    write_atomic_json(url_file(config_dir), {"cats_url": normalize_base_url(url)})
