"""Bounded waits for an event: set, timed out, and a cancellation that meets the event being set."""

from __future__ import annotations

import asyncio

import pytest

from companion.waiting import wait_event


async def test_a_set_event_ends_the_wait_at_once_and_says_so() -> None:
    event = asyncio.Event()
    waiting = asyncio.create_task(wait_event(event, 30))
    await asyncio.sleep(0)
    event.set()

    assert await asyncio.wait_for(waiting, 5) is True


async def test_a_wait_that_runs_out_says_the_event_is_not_set() -> None:
    assert await wait_event(asyncio.Event(), 0.01) is False


async def test_a_cancellation_that_arrives_as_the_event_is_set_still_cancels() -> None:
    # The race that hung close() on Python 3.11's wait_for: the event wakes the inner wait and the
    # cancellation comes in the same turn of the loop. A loop around the wait must still stop.
    event = asyncio.Event()
    waiting = asyncio.create_task(wait_event(event, 30))
    await asyncio.sleep(0)
    event.set()
    waiting.cancel()

    with pytest.raises(asyncio.CancelledError):
        await waiting
