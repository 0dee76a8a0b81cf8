"""Waiting for an asyncio event with a bound, in a way a cancellation always ends.

Every long-running loop of the companion (the outbox worker, the sync scheduler, the team link, the
team budget, a claim's wait) idles on an event or a timeout. `asyncio.wait_for` would do, but on
Python 3.11 it swallows a cancellation that arrives in the moment its inner wait completes (fixed
in 3.12, which builds wait_for on asyncio.timeout): the loop then never ends and `close()` hangs.
Measured in the team link's tests, about one run in ten under load. `asyncio.timeout` has no such
window.
"""

from __future__ import annotations

import asyncio
import contextlib


async def wait_event(event: asyncio.Event, seconds: float | None) -> bool:
    """Wait until `event` is set or `seconds` pass (None: no bound); whether it is set."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await event.wait()
    return event.is_set()
