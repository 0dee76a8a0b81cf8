"""Shared company aliases: sending this companion's confirmations to the team, replicating everyone's back.

A confirmation (or undo) made here is stored locally at once, so the lookup uses it even when the
team's database is down, and queued in the same transaction (AliasStore's outbox). On the team
link's follower connection (companion.team.link) this participant first sends the queue, oldest
first, then applies the team's alias changes after the last one applied, through the same table the
lookup reads (AliasStore.apply_team) together with the new position in the `meta` table: a restart
resumes, a member joining late starts from 0. What PostgreSQL records is who the login role is, so
the confirmation comes back stamped with its member (companion.team.alias_log).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from typing import Final, cast

import asyncpg

from companion.errors import TeamNotJoinedError, TeamPrivilegeError
from companion.matching import normalize_name
from companion.store.aliases import AliasKind, AliasStore, OutboxEntry, TeamAliasChange
from companion.store.meta import get_meta
from companion.team import alias_log

log = logging.getLogger(__name__)

#: The `meta` key holding the last team alias change number applied here.
APPLIED_KEY: Final = "team.aliases.change_no"
#: Batches applied per follow() at most; the next wake (NOTIFY or poll) goes on from there.
MAX_BATCHES: Final = 1000


def local_key(kind: str, key: str) -> str:
    """The key a team alias has here: a name key normalised again by this companion's normaliser.

    The team's database carries keys, not the names they were normalised from, and members may run
    different normaliser versions: a key written by an older one ("acme holdings") is re-derived the
    way AliasStore.rekey_names re-derives an old local key, so it meets today's lookups ("acme").
    A key written by this version is left as it is (normalising a key again gives the same key).
    """
    return (normalize_name(key) or key) if kind == "name" else key


class TeamAliases:
    """One companion's side of the shared aliases (a companion.team.link.Follower)."""

    channel: Final = alias_log.CHANNEL

    def __init__(self, store: AliasStore, *, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.store = store
        self._now = now
        #: The last team alias change applied here; None until load().
        self.applied: int | None = None
        #: The newest alias change the team's database had at the last follow.
        self.head: int | None = None
        #: Confirmations and undos made here that the team does not have yet (as last counted).
        self.pending = 0
        self.sent = 0
        self.replicated = 0
        #: Undos the team's database refused (another member's confirmation, and this one no admin).
        self.refused = 0
        #: Set by the composition root: follow now (the link's wake), and a connection for one
        #: operation (the link's `connection`, which turns driver errors into TeamError).
        self.wake: Callable[[], None] | None = None
        self.connect: Callable[[], AbstractAsyncContextManager[asyncpg.Connection]] | None = None
        self._lock = asyncio.Lock()

    async def load(self) -> None:
        stored = await get_meta(self.store.db, APPLIED_KEY)
        self.applied = int(stored) if stored else 0
        self.pending = await self.store.outbox_size()

    def queued(self) -> None:
        """The alias service queued a confirmation or undo: send it now if the team is reachable."""
        self.pending += 1
        if self.wake is not None:
            self.wake()

    async def follow(self, conn: asyncpg.Connection) -> None:
        """Send what waits here, then apply the team's changes after the last one applied."""
        async with self._lock:
            await self._send(conn)
            await self._catch_up(conn)
            self.head = await alias_log.head(conn)

    def lost(self, reason: str) -> None:
        """The link's connection ended: nothing to undo, what waits is sent on the next connection."""

    def status(self) -> dict[str, object]:
        """The status's `team.aliases` section."""
        return {
            "applied_change_no": self.applied,
            "head_change_no": self.head,
            "lag_changes": None
            if self.head is None or self.applied is None
            else max(0, self.head - self.applied),
            "pending": self.pending,
        }

    async def undo(self, kind: AliasKind, key: str, company_id: int) -> bool:
        """Undo the team's confirmation of (kind, key) as `company_id` now (an admin may undo anyone's).

        True when there was one to undo; it is gone from this companion's cache on return, and from
        every other member's as they follow. TeamPrivilegeError when it is another member's and this
        companion's role is no admin; TeamUnavailableError when the team's database cannot be reached.
        """
        async with self._connect() as conn:
            try:
                number = await alias_log.undo(conn, kind, key, company_id, self._now())
            except asyncpg.InsufficientPrivilegeError:
                raise TeamPrivilegeError(
                    "only an admin of the team may undo a company another member confirmed"
                ) from None
            await self.follow(conn)
        return number is not None

    async def shared(self, limit: int, *, include_undone: bool) -> list[alias_log.SharedAlias]:
        """The team's aliases as its database has them now, the latest change first."""
        async with self._connect() as conn:
            return await alias_log.recent(conn, limit, include_undone=include_undone)

    def _connect(self) -> AbstractAsyncContextManager[asyncpg.Connection]:
        if self.connect is None:
            raise TeamNotJoinedError("this companion is not in a team")
        return self.connect()

    async def _send(self, conn: asyncpg.Connection) -> None:
        while entries := await self.store.outbox():
            for entry in entries:
                await self._send_one(conn, entry)
                await self.store.sent(entry.seq)
                self.sent += 1
        self.pending = 0

    async def _send_one(self, conn: asyncpg.Connection, entry: OutboxEntry) -> None:
        try:
            if entry.action == "confirm":
                await alias_log.confirm(conn, entry.kind, entry.key, entry.company_id, entry.at)
            else:
                await alias_log.undo(conn, entry.kind, entry.key, entry.company_id, entry.at)
        except asyncpg.InsufficientPrivilegeError:
            # Another member's confirmation: removed here, still the team's; its next change comes back.
            self.refused += 1
            log.info("the team kept a company another member confirmed (%s alias)", entry.kind)
        except (asyncpg.DataError, asyncpg.IntegrityConstraintViolationError) as exc:
            # A row the team's database will never take (a key too long for it): retrying cannot help,
            # and keeping it would hold back every later one. Local aliases are unaffected.
            self.refused += 1
            log.warning("the team refused a company alias (%s); kept here only", type(exc).__name__)

    async def _catch_up(self, conn: asyncpg.Connection) -> None:
        if self.applied is None:
            await self.load()
        assert self.applied is not None
        for _ in range(MAX_BATCHES):
            changes = await alias_log.changes_after(conn, self.applied)
            if not changes:
                return
            last = changes[-1].change_no
            await self.store.apply_team(
                [
                    TeamAliasChange(
                        kind=cast("AliasKind", c.kind),
                        key=local_key(c.kind, c.key),
                        company_id=c.company_id,
                        confirmed_by=c.confirmed_by,
                        confirmed_at=c.confirmed_at,
                        undone=c.undone,
                    )
                    for c in changes
                ],
                position=(APPLIED_KEY, str(last)),
            )
            self.applied = last
            self.replicated += len(changes)
