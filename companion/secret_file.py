"""Reading a secret from a private file: `serve --key-file` (the CATS key), `--team-password-file`.

For sandboxes, benches and automation that have no desktop keyring. The file must be a regular file
of this user that nobody else can read or change; every refusal names the file, never its content.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Final

from companion.errors import ConfigError

#: A secret file bigger than this holds something else (keys and passwords are a few dozen characters).
MAX_SECRET_FILE_BYTES: Final = 4096


def read_secret_file(path: Path, what: str) -> str:
    """The text held in `path` (`what` names it in errors, e.g. "key file"), checked private first.

    Raises ConfigError for a missing, foreign, group- or world-accessible, non-regular (symlink,
    FIFO, directory), oversized, non-UTF-8 or empty file.
    """
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        # O_NOFOLLOW: a symlink is refused rather than followed; O_NONBLOCK: a FIFO cannot block us.
        fd = os.open(path, flags)
    except OSError as exc:
        raise ConfigError(f"cannot read the {what} {path}: {exc.strerror or exc}") from None
    try:
        # Checked on the open file, so the file cannot be swapped between the check and the read.
        _check_private(path, os.fstat(fd), what)
        handle = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with handle:
        raw = handle.read(MAX_SECRET_FILE_BYTES + 1)
    if len(raw) > MAX_SECRET_FILE_BYTES:
        raise ConfigError(f"the {what} {path} is over {MAX_SECRET_FILE_BYTES} bytes: it is not a {what}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"the {what} {path} is not UTF-8 text") from None
    if not text.strip():
        raise ConfigError(f"the {what} {path} is empty")
    return text


def write_secret_file(path: Path, secret: str) -> Path:
    """A file `read_secret_file` accepts: the secret and a newline, mode 0600 from the start."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(secret + "\n")
    path.chmod(0o600)
    return path


def _check_private(path: Path, info: os.stat_result, what: str) -> None:
    if not stat.S_ISREG(info.st_mode):
        raise ConfigError(f"the {what} {path} is not a regular file")
    if os.name != "posix":
        return
    if info.st_uid != os.geteuid():
        raise ConfigError(f"the {what} {path} belongs to another user; it must be yours")
    if info.st_mode & 0o077:
        raise ConfigError(
            f"the {what} {path} can be read or changed by other users (mode "
            f"{stat.S_IMODE(info.st_mode):04o}); run `chmod 600 {path}`"
        )
