"""The shared company cache: replicating the team's companies into this SQLite, and publishing them as syncer.

Every member follows the team's change log (companion.team.company_log) into its own cache through
the same write path as the CATS sync (CompanyCache.upsert/delete, then the lookup's change hook),
keeping the last change number applied in the `meta` table with the rows, so a restart resumes and
a member joining late starts from 0. The syncer's marks (high-water mark, last full scan, ...) come
along once the rows they cover are applied, so whoever is elected next continues the team's sync
instead of starting over.

Elected (companion.team.link), this companion first catches up, then starts its CATS sync; each
committed page is published on the elected connection with the local marks, and the change number
the database gave it becomes the local one (the syncer is the only writer, so it applied everything
before it). Marks only travel with the rows they cover: a publish that fails leaves the team's marks
behind, and the next syncer fetches those companies again rather than missing them.

The CATS users and company statuses (the owners' and statuses' names on a card) travel the same way,
through companion.team.lookup_log: the syncer shares its cached lists whenever they are not the ones
the team holds -- at its next publish after a full scan read them, or after its election when the
team holds none yet (a team whose scans predate sharing them) -- and every member replaces its own
lists with the team's at each catch-up that finds a newer version. "Not the team's" is judged by
when they were read, compared for equality only: the election's catch-up makes them the team's, so
any other time is this syncer's own reading, even when another member's clock ran ahead. So the
team spends CATS requests on them once per full scan, and a member elected later already has them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Final, TypeVar

import asyncpg
from pydantic import BaseModel, ValidationError

from companion.errors import TeamError
from companion.services.company_sync import ChangeCallback
from companion.store.companies import CompanyCache, CompanyRow, StatusRow, SyncRecord, UserRow
from companion.store.db import Database
from companion.store.meta import get_meta, put_meta
from companion.team import company_log, lookup_log
from companion.team.connection import DRIVER_ERRORS

log = logging.getLogger(__name__)

#: The `meta` key holding the last team change number applied to this cache.
APPLIED_KEY: Final = "team.companies.change_no"
#: The `meta` key holding the version of the team's CATS users and statuses last applied here.
LOOKUPS_KEY: Final = "team.lookups.version"
#: The SyncRecord fields the team shares: where the team's sync stands, not one run's checkpoint.
SHARED_MARKS: Final = (
    "last_full_success_at",
    "last_success_at",
    "incremental_mode",
    "high_water",
    "event_cursor",
    "events_since",
)
#: Batches applied per follow() call at most; the next wake (NOTIFY or poll) goes on from there.
MAX_BATCHES: Final = 1000
_PUBLISH_ERRORS: Final = (TeamError, *DRIVER_ERRORS)

SyncControl = Callable[[], Awaitable[None]]
_Row = TypeVar("_Row", bound=BaseModel)


class TeamCompanies:
    """One companion's side of the shared company cache (a companion.team.link.Participant)."""

    def __init__(
        self,
        cache: CompanyCache,
        on_change: ChangeCallback,
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.cache = cache
        self._on_change = on_change
        self._now = now
        #: Set by the composition root: start and stop this companion's CATS company sync.
        self.start_sync: SyncControl | None = None
        self.stop_sync: SyncControl | None = None
        #: The last change number applied here; None until load().
        self.applied: int | None = None
        self.applied_at: datetime | None = None
        #: The version of the team's CATS users and statuses last applied; None until load().
        self.lookups_applied: int | None = None
        #: Syncing: when the lists the team holds were read from CATS (None: it holds none yet).
        self._lookups_shared_at: datetime | None = None
        self.published = 0
        #: Changes applied from the team since this companion started (status, tests).
        self.replicated = 0
        #: Changes (and shared user or status rows) skipped because they did not validate.
        self.rejected = 0
        self._marks_applied: dict[str, Any] | None = None
        self._lock = asyncio.Lock()
        self._conn: asyncpg.Connection | None = None
        #: Held while the elected connection is in use (the link's heartbeat takes it too).
        self.guard = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def db(self) -> Database:
        return self.cache.db

    @property
    def is_syncer(self) -> bool:
        return self._conn is not None

    async def load(self) -> None:
        stored = await get_meta(self.db, APPLIED_KEY)
        self.applied = int(stored) if stored else 0
        stored = await get_meta(self.db, LOOKUPS_KEY)
        self.lookups_applied = int(stored) if stored else 0

    # --- following (every member) ---------------------------------------------------------------------

    async def follow(self, conn: asyncpg.Connection) -> None:
        """Apply the team's changes after the last one applied; the syncer is their source, so skips."""
        if self.is_syncer:
            return
        async with self._lock:
            await self._catch_up(conn)

    async def _catch_up(self, conn: asyncpg.Connection) -> None:
        if self.applied is None:
            await self.load()
        assert self.applied is not None
        for _ in range(MAX_BATCHES):
            changes = await company_log.changes_after(conn, self.applied)
            if not changes:
                break
            rows = self._rows(changes)
            removed = [c.company_id for c in changes if c.data is None]
            last = changes[-1].change_no
            async with self.db.transaction() as tx:
                await self.cache.upsert(tx, rows, synced_at=self._now())
                await self.cache.delete(tx, removed)
                await put_meta(tx, APPLIED_KEY, str(last))
            self.applied, self.applied_at = last, self._now()
            self.replicated += len(changes)
            await self._on_change(rows, removed)
        marks = await company_log.marks(conn)
        if marks.fields and marks.change_no <= self.applied and marks.fields != self._marks_applied:
            shared = SyncRecord.model_validate(marks.fields)
            async with self.db.transaction() as tx:
                await self.cache.save_sync(tx, **{name: getattr(shared, name) for name in SHARED_MARKS})
            self._marks_applied = marks.fields
        await self._apply_lookups(conn)

    async def _apply_lookups(self, conn: asyncpg.Connection) -> None:
        """Replace this cache's CATS users and statuses with the team's newer ones, if any."""
        assert self.lookups_applied is not None
        changed = await lookup_log.changed_after(conn, self.lookups_applied)
        if not changed:
            return
        async with self.db.transaction() as tx:
            for lookup in changed:
                # Through the CATS sync's own write path; a kind this companion does not know (a
                # newer companion's) is left alone.
                if lookup.kind == "users":
                    users = self._valid(UserRow, lookup)
                    await self.cache.replace_users(tx, users, synced_at=lookup.read_at)
                elif lookup.kind == "statuses":
                    statuses = self._valid(StatusRow, lookup)
                    await self.cache.replace_statuses(tx, statuses, synced_at=lookup.read_at)
            await put_meta(tx, LOOKUPS_KEY, str(changed[-1].version))
        self.lookups_applied = changed[-1].version

    def _valid(self, model: type[_Row], lookup: lookup_log.Lookup) -> list[_Row]:
        rows = []
        for item in lookup.items:
            try:
                rows.append(model.model_validate(item))
            except ValidationError:
                # As for a company: one unreadable row must not keep the rest of the names away.
                self.rejected += 1
                log.warning(
                    "skipped a shared CATS %s row that is not valid (version %d)", lookup.kind, lookup.version
                )
        return rows

    def _rows(self, changes: Sequence[company_log.Change]) -> list[CompanyRow]:
        rows = []
        for change in changes:
            if change.data is None:
                continue
            try:
                rows.append(CompanyRow.model_validate(change.data))
            except ValidationError:
                # A row this companion cannot read (a newer companion's shape, or damage): skipping it
                # keeps the rest of the team's changes flowing; the next publish of it replaces it.
                self.rejected += 1
                log.warning(
                    "skipped team change %d: company %d is not a valid row",
                    change.change_no,
                    change.company_id,
                )
        return rows

    # --- syncing (the elected one) ----------------------------------------------------------------------

    async def elected(self, conn: asyncpg.Connection, guard: asyncio.Lock) -> None:
        """Catch up with the team, then sync CATS and publish on `conn` (whose session holds the lock)."""
        async with self._lock, guard:
            await self._catch_up(conn)
            self._lookups_shared_at = await lookup_log.read_at(conn)
            self._conn, self.guard = conn, guard
        if self.start_sync is not None:
            await self.start_sync()

    async def deposed(self) -> None:
        """The lock's session ended (or the link closes): stop syncing CATS; follow the next syncer."""
        self._conn = None
        if self.stop_sync is not None:
            await self.stop_sync()
        for task in list(self._tasks):
            task.cancel()

    async def publish(self, rows: Sequence[CompanyRow], removed: Sequence[int]) -> None:
        """The CATS sync's change hook: publish what it just committed locally, with the marks."""
        conn, guard = self._conn, self.guard
        if conn is None:
            return
        async with self._lock, guard:
            try:
                await self._share_lookups(conn)
            except _PUBLISH_ERRORS as exc:
                # Kept locally; the next publish tries again (the team's lists are still the older ones).
                log.warning(
                    "could not publish the CATS users and statuses to the team (%s)", type(exc).__name__
                )
            record = await self.cache.sync_record()
            marks = record.model_dump(mode="json", include=set(SHARED_MARKS))
            try:
                # A full-scan batch is up to 10,000 rows: serialised off the event loop.
                payload = await asyncio.to_thread(lambda: [row.model_dump(mode="json") for row in rows])
                last = await company_log.publish(conn, payload, list(removed), marks)
            except _PUBLISH_ERRORS as exc:
                # Locally committed, not shared: the team's marks stay behind these rows, so the next
                # syncer (or this one, elected again) fetches them from CATS again.
                log.warning("could not publish companies to the team (%s)", type(exc).__name__)
                return
            async with self.db.transaction() as tx:
                await put_meta(tx, APPLIED_KEY, str(last))
            self.applied, self.applied_at = last, self._now()
            self.published += len(rows) + len(removed)

    async def _share_lookups(self, conn: asyncpg.Connection) -> None:
        """Publish this cache's CATS users and statuses unless they are the team's (read at the same time)."""
        read_at = await self.cache.lookups_synced_at()
        if read_at is None or read_at == self._lookups_shared_at:
            return
        users, statuses = await self.cache.users(), await self.cache.statuses()
        lists: dict[lookup_log.LookupKind, list[dict[str, Any]]] = {
            "users": [user.model_dump(mode="json") for user in users],
            "statuses": [status.model_dump(mode="json") for status in statuses],
        }
        version = await lookup_log.publish(conn, lists, read_at)
        async with self.db.transaction() as tx:
            await put_meta(tx, LOOKUPS_KEY, str(version))
        self.lookups_applied, self._lookups_shared_at = version, read_at
        log.info("shared %d CATS users and %d company statuses with the team", len(users), len(statuses))

    def publish_marks(self) -> None:
        """A run ended well: share its marks even when it changed no company (scheduled, not awaited)."""
        if self._conn is None:
            return
        task = asyncio.create_task(self.publish((), ()), name="team-publish-marks")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
