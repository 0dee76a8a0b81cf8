"""Freed heap memory goes back to the OS after an index build (glibc's malloc_trim)."""

from __future__ import annotations

import sys

import pytest

from companion.tuning import give_back_free_memory

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RSS is read from /proc")


def _rss_bytes() -> int:
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * 4096


def test_memory_freed_between_live_objects_is_returned_to_the_os() -> None:
    # 1 KiB blocks come from glibc's heap (not Python's small-object arenas); keeping every 64th alive
    # pins the heap's top, so only a trim can hand back the holes between them.
    blocks = [bytearray(1024) for _ in range(80_000)]
    kept = blocks[::64]
    del blocks
    before = _rss_bytes()
    assert give_back_free_memory() is True
    after = _rss_bytes()
    assert before - after > 40 * 2**20, (before, after)
    assert all(len(block) == 1024 for block in kept)
