"""What the fuzz and attack tests share: the known error codes, database snapshots, strict JSON, and a bridge
that lets a hypothesis test (synchronous, in a worker thread) call coroutines on the test's event loop."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

from companion import errors

T = TypeVar("T")

#: Seconds any single bridged call may take before the property fails as a hang.
CALL_TIMEOUT = 30.0


def _subclasses(cls: type[errors.CompanionError]) -> list[type[errors.CompanionError]]:
    found = [cls]
    for sub in cls.__subclasses__():
        found += _subclasses(sub)
    return found


#: Every stable code of companion.errors except the base class's "internal" (a bug when it reaches a caller).
KNOWN_CODES = frozenset(c.code for c in _subclasses(errors.CompanionError)) - {errors.CompanionError.code}


def strict_json(data: bytes | str) -> Any:
    """json.loads that refuses NaN and Infinity, which Chrome's JSON.parse would refuse too."""

    def refuse(constant: str) -> Any:
        raise ValueError(f"{constant} is not JSON")

    return json.loads(data, parse_constant=refuse)


def snapshot_db(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, read through a separate connection (WAL lets it read beside the daemon)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        listed = (
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )
        tables = [str(row[0]) for row in conn.execute(listed)]
        # Table names come from the database's own catalogue, never from input.
        return {t: sorted(conn.execute(f'SELECT * FROM "{t}"'), key=repr) for t in tables}  # noqa: S608
    finally:
        conn.close()


def file_state(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


class LoopBridge:
    """Runs coroutines on `loop` from another thread; use it from code started with `asyncio.to_thread`."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop

    @classmethod
    def current(cls) -> LoopBridge:
        return cls(asyncio.get_running_loop())

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = CALL_TIMEOUT) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)
