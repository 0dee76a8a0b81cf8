"""Process tuning around the company index: freed heap handed back to the OS, the index kept out of the GC.

CPython frees an object's memory to the C allocator, but glibc keeps freed pages mapped and counted in
the process's RSS until `malloc_trim` returns them. Building the index at a million companies frees about
as much temporary memory (row batches read from SQLite, the arrays' regrowth) as the index keeps, and an
index dropped for a new one leaves its pages behind: measured with `cats-companion bench lookup`, trimming
at those two moments lowered the peak RSS at a million companies from 328 to 272 MiB. Elsewhere than on
glibc (macOS, Windows, musl) there is no such call, and nothing to do.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc
import sys
from collections.abc import Callable


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
        trim: Callable[[int], int] = libc.malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None
    return trim


def give_back_free_memory() -> bool:
    """Return the C heap's free pages to the OS; True when the platform could (glibc), else False."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True


def _settle_after_index_build() -> None:
    # The index is millions of long-lived objects at a million companies: left to the cyclic GC, every
    # full collection would walk them (tens of milliseconds, landing in some lookup's p99). Frozen,
    # they are never scanned; nothing in them can form a reference cycle that needs collecting.
    gc.collect()
    gc.freeze()
    give_back_free_memory()


class IndexTuning:
    """The daemon's care around a company-index build (services.company_lookup.IndexTuning)."""

    def before_build(self) -> None:
        # A previous index may just have been dropped (the bench; a cache reset): its pages go back to the
        # OS first, or the new index would add to them. The build's own temporaries go after it.
        give_back_free_memory()

    def after_build(self) -> None:
        _settle_after_index_build()


#: What the daemon and the lookup bench hand to CompanyLookupService.open.
INDEX_TUNING = IndexTuning()
