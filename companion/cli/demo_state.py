"""Whether `cats-companion demo` is running: the note it keeps in the runtime dir while its daemon runs.

The demo's daemon uses the sandbox and the sandbox's demo key, never the keyring, so `doctor` and
`key status` ask here first and say what the demo uses instead of failing on a keyring the demo
does not need. The note counts only while the daemon that daemon.json names is the demo's own
process (the demo runs its daemon in-process): a note left by a demo that was killed names a pid
that no longer serves, and is ignored.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from companion import paths
from companion.nmhost.locations import read_daemon_info

DEMO_FILE_NAME: Final = "demo.json"


@dataclass(frozen=True)
class RunningDemo:
    """The demo that runs now: its CATS sandbox's API URL and its daemon's data dir."""

    sandbox_url: str
    data_dir: str


@contextmanager
def recorded(sandbox_url: str, data_dir: Path) -> Iterator[None]:
    """Note the running demo for the other commands while the block runs (its daemon listening)."""
    note = paths.runtime_dir() / DEMO_FILE_NAME
    text = json.dumps({"pid": os.getpid(), "sandbox_url": sandbox_url, "data_dir": str(data_dir)})
    note.write_text(text, encoding="utf-8")
    try:
        yield
    finally:
        note.unlink(missing_ok=True)


def running_demo() -> RunningDemo | None:
    """The demo whose daemon is this user's daemon now, or None."""
    run_dir = paths.runtime_dir()
    try:
        raw = json.loads((run_dir / DEMO_FILE_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    daemon = read_daemon_info(str(run_dir))
    if not isinstance(raw, dict) or daemon is None or raw.get("pid") != daemon.pid or not _alive(daemon.pid):
        return None
    url, data_dir = raw.get("sandbox_url"), raw.get("data_dir")
    if not (isinstance(url, str) and isinstance(data_dir, str)):
        return None
    return RunningDemo(sandbox_url=url, data_dir=data_dir)


def _alive(pid: int) -> bool:
    # A demo killed outright leaves both files behind, naming its pid: only a live one counts.
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True
