"""The requests the host has sent to the daemon and not yet answered: each with its deadline and connection.

Every request gets exactly one reply: whoever takes its entry out of the table (its reply arriving,
its deadline passing, its connection breaking) answers it, and the others find it gone. One
timeout for all, so entries expire in the order they were added. Not thread-safe by itself: the
session (companion.nmhost.session) holds its lock around every call.
"""

from __future__ import annotations

from collections import deque

MessageId = int | str


class PendingRequests:
    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._next = 0
        #: Insertion order is deadline order: seq -> (id, connection, deadline).
        self._entries: dict[int, tuple[MessageId, int, float]] = {}
        #: Ids may repeat (the extension should not, but then replies go oldest first).
        self._by_id: dict[MessageId, deque[int]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def add(self, message_id: MessageId, connection: int, now: float) -> None:
        seq = self._next
        self._next += 1
        self._entries[seq] = (message_id, connection, now + self.timeout)
        self._by_id.setdefault(message_id, deque()).append(seq)

    def take(self, message_id: MessageId) -> bool:
        """Remove the oldest entry for `message_id`; False when there is none (it was answered already)."""
        waiting = self._by_id.get(message_id)
        if not waiting:
            return False
        del self._entries[waiting.popleft()]
        if not waiting:
            del self._by_id[message_id]
        return True

    def next_deadline(self) -> float | None:
        for _, _, deadline in self._entries.values():
            return deadline
        return None

    def expire(self, now: float) -> list[MessageId]:
        """Remove and return the ids whose deadline has passed, oldest first."""
        expired = []
        for seq, (message_id, _, deadline) in list(self._entries.items()):
            if deadline > now:
                break
            self._remove(seq, message_id)
            expired.append(message_id)
        return expired

    def fail(self, connection: int) -> list[MessageId]:
        """Remove and return the ids sent over `connection` (it broke), oldest first."""
        failed = []
        for seq, (message_id, sent_on, _) in list(self._entries.items()):
            if sent_on == connection:
                self._remove(seq, message_id)
                failed.append(message_id)
        return failed

    def _remove(self, seq: int, message_id: MessageId) -> None:
        del self._entries[seq]
        waiting = self._by_id[message_id]
        waiting.remove(seq)
        if not waiting:
            del self._by_id[message_id]
