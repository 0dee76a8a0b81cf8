"""The daemon's in-process event hub: services publish, each native-host event stream subscribes.

    ctx.events.publish("sync.progress", {"pages_done": 3, "pages_total": 12})

Publishing never waits: every subscriber has a bounded queue, and one that falls `max_queued`
events behind is dropped -- its queue is replaced by a single `stream.lagged` notice and its
stream ends -- so one stuck browser never holds up the daemon or the other subscribers. Each
event is serialised once, when published, and must fit in the 1 MiB Chrome accepts.
Call `publish` from the daemon's event loop (it is not thread-safe).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Final

from pydantic import BaseModel

from companion.errors import MessageTooLargeError
from companion.nmhost.wire import LAGGED_EVENT, MAX_OUTGOING_BYTES
from companion.protocol import check_name, encode, event_message

log = logging.getLogger(__name__)

DEFAULT_MAX_QUEUED: Final = 256


class Subscription:
    """One subscriber's queue of encoded events (each a JSON object, no newline)."""

    def __init__(self, hub: EventHub, max_queued: int) -> None:
        self._hub = hub
        self._queue: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=max_queued + 1)
        self._max_queued = max_queued
        self._ended = False
        self.lagged = False

    @property
    def ended(self) -> bool:
        return self._ended

    def offer(self, encoded: bytes) -> None:
        if self._ended:
            return
        if self._queue.qsize() >= self._max_queued:
            self._drop()
            return
        self._queue.put_nowait(encoded)

    def end(self) -> None:
        """No more events: `next()` returns None once the queue is empty."""
        if not self._ended:
            self._ended = True
            self._queue.put_nowait(None)

    async def next(self) -> bytes | None:
        """The next event, or None once the subscription has ended (wrap in asyncio.timeout for idling)."""
        return await self._queue.get()

    def _drop(self) -> None:
        dropped = self._queue.qsize()
        while not self._queue.empty():
            self._queue.get_nowait()
        self.lagged = True
        log.warning("an event subscriber fell %d events behind and was dropped", dropped)
        self._queue.put_nowait(encode(event_message(LAGGED_EVENT, {"dropped": dropped})))
        self._hub.unsubscribe(self)
        self.end()


class EventHub:
    """Fan-out of daemon events to the open event streams."""

    def __init__(self, *, max_queued: int = DEFAULT_MAX_QUEUED) -> None:
        if max_queued < 1:
            raise ValueError("max_queued must be at least 1")
        self._max_queued = max_queued
        self._subscribers: set[Subscription] = set()
        self._closed = False

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    def publish(self, name: str, data: Mapping[str, Any] | BaseModel) -> int:
        """Send `{"event": name, "data": data}` to every subscriber; returns how many it reached.

        Raises ValueError for a malformed name and MessageTooLargeError for an event over 1 MiB
        (publish a summary and let the extension ask for the details instead).
        """
        check_name(name)
        payload = data.model_dump(mode="json") if isinstance(data, BaseModel) else dict(data)
        encoded = encode(event_message(name, payload))
        if len(encoded) > MAX_OUTGOING_BYTES:
            raise MessageTooLargeError(
                f"the event {name} is {len(encoded)} bytes; events must stay under {MAX_OUTGOING_BYTES}"
            )
        reached = 0
        for subscriber in list(self._subscribers):
            subscriber.offer(encoded)
            reached += not subscriber.lagged
        return reached

    @contextmanager
    def subscribe(self) -> Iterator[Subscription]:
        subscription = Subscription(self, self._max_queued)
        if self._closed:
            subscription.end()
        else:
            self._subscribers.add(subscription)
        try:
            yield subscription
        finally:
            self.unsubscribe(subscription)

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscribers.discard(subscription)

    def close(self) -> None:
        """End every stream (the daemon is stopping); later subscriptions end at once."""
        self._closed = True
        for subscriber in list(self._subscribers):
            subscriber.end()
        self._subscribers.clear()
