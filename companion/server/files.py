"""Writing small private files (token, runtime file) atomically: a 0600 temp file renamed into place."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def write_private_file(path: Path, text: str) -> None:
    """Replace `path` with `text`; readers see the old file or the new one, never a partial one.

    mkstemp creates the temp file 0600 from the start, so the content is never readable by
    others, not even for an instant; the rename keeps that mode.
    """
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
