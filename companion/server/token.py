"""The per-install API token: a random secret in a 0600 file in the data dir, stable across restarts."""

from __future__ import annotations

import logging
import os
import re
import secrets
import stat
from pathlib import Path
from typing import Final

from companion import paths
from companion.files import write_atomic

log = logging.getLogger(__name__)

TOKEN_FILE_NAME: Final = "daemon-token"  # noqa: S105 -- a file name, not a secret
#: What `secrets.token_urlsafe(32)` produces (43 characters); anything else in the file is replaced.
_TOKEN_SHAPE: Final = re.compile(r"^[A-Za-z0-9_-]{43,}$")


def token_path(data_dir: Path | None = None) -> Path:
    return (data_dir if data_dir is not None else paths.data_dir()) / TOKEN_FILE_NAME


def load_or_create_token(data_dir: Path | None = None) -> str:
    """The install's token, created on first use."""
    path = token_path(data_dir)
    paths.private_dir(path.parent)
    try:
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        text = ""
    if _TOKEN_SHAPE.match(text):
        if os.name == "posix" and stat.S_IMODE(path.stat().st_mode) & 0o077:
            # Someone else may have read it: it is no longer a secret, so make a new one.
            log.warning("the token file %s was readable by others; replacing the token", path)
        else:
            return text
    token = secrets.token_urlsafe(32)
    write_atomic(path, token + "\n")
    return token
