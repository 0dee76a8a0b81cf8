"""Syncing the company cache from CATS: resumable full scans, and incremental runs by date search or events.

Every request is sent at `Priority.BACKGROUND`, so the sync never spends the part of the hourly
budget kept for a recruiter's own requests: when only that reserve is left the client raises
`BudgetReservedError`, the run stops and the next one resumes where it stopped.

Full scan: `GET /companies?per_page=100` following `_links.next`. Pages are written several to a
transaction (`SyncOptions.scan_batch_pages`) together with the checkpoint of the last (run id, next
link, pages done), so the checkpoint never runs ahead of the stored rows: a scan stopped by a crash,
a kill or an error resumes after the last stored page. A stop, cancellation or error stores the
pages already fetched before it propagates, so no page of a run is fetched twice; only a hard kill
loses the pages not yet written, and those are fetched again. The users and company statuses (for
showing names instead of ids) are read once at the start of each scan. When the last page is
stored, companies the scan did not see are removed -- after asking CATS about them by id, because
offset pagination skips a record whenever an earlier one is deleted mid-scan.

Incremental: `POST /companies/search` with `date_modified greater_than <high-water>` is probed
once; CATS's answer (accepted, or 400) is remembered. Refused, the sync polls `GET /events` for
`company.*` events instead, and applies deletions from them. The date search cannot see
deletions: the periodic full scan removes those.

High-water mark (`high_water`): every company with a `date_modified` at or below it is in the cache as
it is now, so the next search asks only for `date_modified greater_than` it. CATS stamps
`date_modified` in whole seconds and the filter is strict, so a second is settled -- no change can
still be stamped with it -- only once CATS's clock has passed it. "Passed" is judged by CATS's clock
as its answers' `Date` headers show it (`CatsClient.server_time`), never by this machine's, whose
clock may be off by minutes: with CATS's clock at C (whole seconds) when a run's first page was asked
for, every change the run may have missed is stamped C or later, so the new mark is C minus one
second. The mark thus passes a second shared by thousands of records (one bulk import) as soon as a
run starts a second later, and an idle run costs one request; a company changed in the very second a
run read it is stamped above the mark and read by the next run. C is the `Date` of an answer that
arrived before the first page was asked for (the full scan's user list; for a search, the previous
answer, or a `GET /site` sent first when the search is about to read a page or more of companies
the cache already holds, since that previous answer would leave them below the mark for one run
more); with none yet, the first page's own `Date` less `SyncOptions.clock_margin` (the time CATS
may take between reading the records and stamping the answer); a CATS that sends no `Date` at all
leaves the old rule: the newest `date_modified` seen less the run's duration and the margin, which
never passes that newest second. A search walk whose `total` changed between its pages (records
added or removed mid-walk shift offset pages, so one may have been skipped) keeps the old mark.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict
from yarl import URL

from companion.cats.budget import Priority
from companion.cats.client import CatsClient, CatsResponse, counting_requests, http_date
from companion.cats.pages import PER_PAGE, Page, Params, parse_event_page, parse_page, walk_pages
from companion.cats.record_urls import id_from_location, parse_id, resolve_href
from companion.errors import CatsNotFoundError, CatsValidationError, CompanionError
from companion.services.company_records import company_rows, status_rows, user_row
from companion.services.sync_state import Phase, SyncProgress
from companion.store.companies import CompanyCache, CompanyRow, IncrementalMode, SyncRecord

log = logging.getLogger(__name__)

BACKGROUND: Final = Priority.BACKGROUND
#: Event names that change a company in the cache (`company.deleted` removes it).
_COMPANY_EVENTS: Final = frozenset({"company.created", "company.updated", "company.status_changed"})
_COMPANY_DELETED: Final = "company.deleted"

ProgressCallback = Callable[[SyncProgress], None]
#: Awaited after each committed transaction that wrote or deleted cached companies: (rows, removed ids).
ChangeCallback = Callable[[Sequence[CompanyRow], Sequence[int]], Awaitable[None]]
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class SyncOptions:
    #: Taken off a `Date` header read after the records it covers (CATS reads, then stamps its answer,
    #: in whole seconds) when no earlier answer says what time CATS had.
    clock_margin: timedelta = timedelta(seconds=2)
    #: Event pages (25 events each) read per incremental run at most; the rest waits for the next.
    max_event_pages: int = 40
    #: Companies a finished scan did not see that are checked by id before removal; more are removed directly.
    max_removals_verified: int = 500
    #: Full-scan pages written per transaction (with the checkpoint of the last). Each commit rewrites
    #: every index page its rows landed on, at random places in the name and domain indexes: with a page
    #: per commit that was most of the ingest time, and at a million companies even 10 pages a commit
    #: left SQLite alone below 20,000 rows/s (100 pages: ~36,000). The transaction then holds the write
    #: lock for a few hundred milliseconds at most; reads never wait for it (WAL).
    scan_batch_pages: int = 100
    #: ... or fewer, once the oldest page waiting has waited this long (CATS answering slowly: nothing
    #: to gain by holding pages back, and a hard kill would lose them).
    scan_batch_seconds: float = 2.0


class SyncOutcome(BaseModel):
    """What one run did."""

    model_config = ConfigDict(frozen=True)

    phase: Phase
    mode: IncrementalMode | Literal["full"]
    pages: int
    upserted: int
    removed: int
    #: HTTP requests the run sent to CATS (retries included).
    requests: int = 0


def _latest(rows: list[CompanyRow], current: datetime | None) -> datetime | None:
    dates = [row.date_modified for row in rows if row.date_modified is not None]
    if current is not None:
        dates.append(current)
    return max(dates) if dates else None


def _settled_below(cats_time: datetime, slack: timedelta) -> datetime:
    """The mark below which every second was over at CATS's time `cats_time`, less `slack` (whole seconds)."""
    return cats_time.astimezone(UTC).replace(microsecond=0) - slack


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _event_company_id(event: dict[str, Any]) -> int | None:
    try:
        return parse_id(event.get("company_id"))
    except ValueError:
        pass
    embedded = event.get("_embedded")
    if isinstance(embedded, dict) and isinstance(embedded.get("company"), dict):
        try:
            return parse_id(embedded["company"].get("id"))
        except ValueError:
            pass
    links = event.get("_links")
    link = links.get("company") if isinstance(links, dict) else None
    href = link.get("href") if isinstance(link, dict) else None
    return id_from_location(href) if isinstance(href, str) else None


class _ScanBatch:
    """Full-scan pages fetched but not yet written: their rows, and the checkpoint of the last one."""

    def __init__(self) -> None:
        self.rows: list[CompanyRow] = []
        self.checkpoint: dict[str, Any] = {}
        self.pages = 0
        self._first_at = 0.0

    def add(self, rows: list[CompanyRow], **checkpoint: Any) -> None:
        if not self.pages:
            self._first_at = time.monotonic()
        self.rows.extend(rows)
        self.checkpoint = checkpoint
        self.pages += 1

    def age(self) -> float:
        """Seconds since the oldest page waiting was added."""
        return time.monotonic() - self._first_at if self.pages else 0.0

    def take(self) -> tuple[list[CompanyRow], dict[str, Any]]:
        """The rows and checkpoint to write; the batch is empty afterwards (a failed write is not retried)."""
        taken = self.rows, self.checkpoint
        self.rows, self.checkpoint, self.pages = [], {}, 0
        return taken


class CompanySync:
    """Runs syncs of one cache from one CATS account. One run at a time (a second waits for the first)."""

    def __init__(
        self,
        client: CatsClient,
        cache: CompanyCache,
        *,
        now: Callable[[], datetime] = utc_now,
        options: SyncOptions | None = None,
    ) -> None:
        self.client = client
        self.cache = cache
        #: Whether the account lets companies be searched by `date_modified`, as its profile says
        #: (None: not known; the first incremental run finds out).
        self.date_filter: bool | None = None
        self._now = now
        self._options = options or SyncOptions()
        self._lock = asyncio.Lock()
        #: The run in progress, None between runs.
        self.progress: SyncProgress | None = None
        self._listeners: list[ProgressCallback] = []
        self._change_listeners: list[ChangeCallback] = []

    def on_progress(self, callback: ProgressCallback) -> None:
        """Call `callback` after each page read (and at the start and end of each run).

        A full scan's page is stored with its batch (`SyncOptions.scan_batch_pages`), or before the run
        stops for any reason, so a callback that stops the run leaves every page it was told of stored.
        """
        self._listeners.append(callback)

    def on_change(self, callback: ChangeCallback) -> None:
        """Await `callback(rows, removed_ids)` after each committed write to the cache (in-memory indexes)."""
        self._change_listeners.append(callback)

    @property
    def running(self) -> bool:
        return self._lock.locked()

    async def run(self, *, full: bool = False, full_interval: float | None = None) -> SyncOutcome:
        """One sync: full when asked, pending or due (`full_interval` seconds old), else incremental.

        Errors are recorded in the sync state (code and message) and raised; the cache is unchanged
        by a failed page and a full scan resumes from its checkpoint.
        """
        async with self._lock:
            record = await self.cache.sync_record()
            due = (
                full_interval is not None
                and record.last_full_success_at is not None
                and (self._now() - record.last_full_success_at).total_seconds() >= full_interval
            )
            needs_full = full or due or record.full_stage != "idle" or record.last_full_success_at is None
            phase: Phase = "full" if needs_full else "incremental"
            self.progress = SyncProgress(phase=phase, started_at=self._now())
            self._notify()
            try:
                with counting_requests() as sent:
                    outcome = await (self._full(record) if needs_full else self._incremental(record))
                outcome = outcome.model_copy(update={"requests": sent.sent})
            except CompanionError as exc:
                await self._record_error(exc)
                raise
            except Exception as exc:
                log.exception("company sync failed unexpectedly")
                await self._record_error(CompanionError(f"unexpected {type(exc).__name__}; see the log"))
                raise
            finally:
                self.progress = None
            return outcome

    # --- full scan --------------------------------------------------------------------------------

    async def _full(self, record: SyncRecord) -> SyncOutcome:
        if record.full_stage == "idle":
            record = await self._start_scan(record)
        assert self.progress is not None
        self.progress.pages_done = record.full_pages_done
        self.progress.pages_total = record.full_pages_total
        pages = upserted = 0
        if record.full_stage == "scanning":
            pages, upserted = await self._scan(record)
            record = await self.cache.sync_record()
        removed = await self._finish_scan(record)
        return SyncOutcome(phase="full", mode="full", pages=pages, upserted=upserted, removed=removed)

    async def _start_scan(self, record: SyncRecord) -> SyncRecord:
        started = self._now()
        statuses = status_rows(
            [item async for item in self.client.iterate("/companies/statuses", priority=BACKGROUND)]
        )
        users = [user_row(user) for user in await self.client.list_users(priority=BACKGROUND)]
        # CATS's clock before the first page is asked for (see the module doc); ours only when CATS
        # sends no Date header, and then _finish_scan does not trust it.
        cats_started = self.client.server_time or started
        run_id = record.last_run_id + 1
        async with self.cache.db.transaction() as conn:
            await self.cache.replace_statuses(conn, statuses, synced_at=started)
            await self.cache.replace_users(conn, users, synced_at=started)
            await self.cache.save_sync(
                conn,
                last_run_id=run_id,
                full_stage="scanning",
                full_run_id=run_id,
                full_next_href=None,
                full_pages_done=0,
                full_pages_total=None,
                full_started_at=cats_started,
                full_max_modified=None,
            )
        log.info("full company scan %d started", run_id)
        return await self.cache.sync_record()

    async def _scan(self, record: SyncRecord) -> tuple[int, int]:
        assert record.full_run_id is not None and self.progress is not None
        run_id = record.full_run_id
        pages_done = record.full_pages_done
        newest = record.full_max_modified
        fetched = upserted = 0
        batch = _ScanBatch()
        try:
            async for page in self.client.pages(
                "/companies", priority=BACKGROUND, start_href=record.full_next_href
            ):
                rows = await asyncio.to_thread(company_rows, page.items)
                pages_done += 1
                fetched += 1
                newest = _latest(rows, newest)
                total = math.ceil(page.total / self.client.per_page) if page.total is not None else None
                batch.add(
                    rows,
                    full_stage="scanning" if page.next_href else "removing",
                    full_next_href=page.next_href,
                    full_pages_done=pages_done,
                    full_pages_total=max(total, pages_done) if total is not None else None,
                    full_max_modified=newest,
                )
                upserted += len(rows)
                self.progress.pages_done = pages_done
                self.progress.pages_total = max(total, pages_done) if total is not None else None
                self.progress.companies_done += len(rows)
                self._notify()
                if (
                    batch.pages >= self._options.scan_batch_pages
                    or batch.age() >= self._options.scan_batch_seconds
                    or page.next_href is None
                ):
                    await self._store_batch(batch, run_id)
        except BaseException:
            # A stop, a cancellation or a CATS error: store the pages already fetched before giving up, so
            # that the resumed scan does not spend requests on them again. Only a hard kill loses them
            # (the checkpoint never runs ahead of the stored rows, so they are fetched again then).
            try:
                await self._store_batch(batch, run_id)
            except Exception:
                log.exception("could not store the pages fetched before the full scan stopped")
            raise
        await self._store_batch(batch, run_id)
        return fetched, upserted

    async def _store_batch(self, batch: _ScanBatch, run_id: int) -> None:
        """Write a batch's rows and its last checkpoint in one transaction, then tell the listeners."""
        if not batch.pages:
            return
        rows, checkpoint = batch.take()
        async with self.cache.db.transaction() as conn:
            await self.cache.upsert(conn, rows, synced_at=self._now(), run_id=run_id)
            await self.cache.save_sync(conn, **checkpoint)
        await self._changed(rows, ())

    async def _finish_scan(self, record: SyncRecord) -> int:
        """Remove what the scan did not see (after checking with CATS) and close the run."""
        assert record.full_run_id is not None and self.progress is not None
        run_id = record.full_run_id
        unseen = await self.cache.ids_not_seen(run_id)
        still_there: list[CompanyRow] = []
        if unseen and len(unseen) <= self._options.max_removals_verified:
            still_there = await self._existing(unseen)
        kept = {row.id for row in still_there}
        gone = [company_id for company_id in unseen if company_id not in kept]
        now = self._now()
        high_water = self._scan_mark(record, now)
        async with self.cache.db.transaction() as conn:
            if still_there:
                await self.cache.upsert(conn, still_there, synced_at=now, run_id=run_id)
            removed = await self.cache.delete(conn, gone)
            await self.cache.save_sync(
                conn,
                full_stage="idle",
                full_run_id=None,
                full_next_href=None,
                last_full_success_at=now,
                last_success_at=now,
                high_water=high_water,
                # Events from the scan's start on: nothing between the scan and the first poll is lost.
                event_cursor=None,
                events_since=high_water or ((record.full_started_at or now) - self._options.clock_margin),
                last_error_code=None,
                last_error_message=None,
                last_error_at=None,
            )
        await self._changed(still_there, gone)
        self.progress.companies_removed = removed
        log.info("full company scan %d done: %d removed", run_id, removed)
        return removed

    async def _existing(self, ids: list[int]) -> list[CompanyRow]:
        """Those of `ids` CATS still has (as rows), asked a page at a time by id; [] when CATS cannot say."""
        found: list[dict[str, Any]] = []
        # One page of answers per search: a chunk never asks for more than the account's page holds.
        size = self.client.per_page
        for start in range(0, len(ids), size):
            chunk = ids[start : start + size]
            conditions = [{"field": "id", "filter": "exactly", "value": company_id} for company_id in chunk]
            body = conditions[0] if len(conditions) == 1 else {"or": conditions}
            try:
                found.extend(
                    [item async for item in self.client.search("companies", body, priority=BACKGROUND)]
                )
            except CatsValidationError:
                log.info("CATS cannot search companies by id; removing unseen companies unchecked")
                return []
        wanted = set(ids)
        return [row for row in company_rows(found) if row.id in wanted]

    # --- incremental ------------------------------------------------------------------------------

    async def _incremental(self, record: SyncRecord) -> SyncOutcome:
        if record.incremental_mode != "events" and self.date_filter is not False:
            try:
                return await self._by_search(record)
            except _SearchRefused:
                log.info("CATS refuses date_modified searches on companies; polling events instead")
                async with self.cache.db.transaction() as conn:
                    await self.cache.save_sync(conn, incremental_mode="events")
                record = await self.cache.sync_record()
        return await self._by_events(record)

    async def _by_search(self, record: SyncRecord) -> SyncOutcome:
        assert self.progress is not None
        # No mark yet (CATS held no company at the last scan): everything is new.
        since = record.high_water or _EPOCH
        body = {"field": "date_modified", "filter": "greater_than", "value": _rfc3339(since)}
        # CATS's clock before the first page is asked for (see the module doc).
        before = self.client.server_time
        if await self.cache.count_modified_after(since, limit=PER_PAGE) >= PER_PAGE:
            # This run reads again at least a page of companies it holds (a bulk change in the seconds
            # before the last run). Judged by the last answer's clock, the next run would read them once
            # more; one small request now gives CATS's clock as of this run, and the mark passes them.
            await self.client.request("GET", "/site", priority=BACKGROUND)
            before = self.client.server_time
        started = self._now()
        first: CatsResponse | None = None
        base = URL(self.client.base_url)

        async def fetch(path: str, params: Params) -> object:
            nonlocal first
            try:
                response = await self.client.request(
                    "POST", path, params=params, json_body=body, priority=BACKGROUND
                )
            except CatsValidationError as exc:
                if first is None:
                    raise _SearchRefused() from exc
                raise
            first = first or response
            return response.body

        newest: datetime | None = None
        pages = upserted = 0
        totals: set[int | None] = set()
        walk = walk_pages(
            fetch,
            lambda href: resolve_href(base, href),
            "/companies/search",
            {"per_page": str(self.client.per_page)},
            lambda data: parse_page(data, "companies"),
        )
        async for page in walk:
            rows = await asyncio.to_thread(company_rows, page.items)
            newest = _latest(rows, newest)
            pages += 1
            totals.add(page.total)
            async with self.cache.db.transaction() as conn:
                await self.cache.upsert(conn, rows, synced_at=self._now())
                if pages == 1 and record.incremental_mode != "search":
                    await self.cache.save_sync(conn, incremental_mode="search")
            await self._changed(rows, ())
            upserted += len(rows)
            self._page_done(page, len(rows))
        if len(totals) > 1:
            # Records entered or left the result mid-walk, shifting the offset pages: one may have been
            # skipped, so nothing this walk read proves the seconds above the old mark complete.
            mark = since
        elif before is not None:
            mark = max(since, _settled_below(before, timedelta(seconds=1)))
        elif first is not None and (stamped := http_date(first.headers)) is not None:
            mark = max(since, _settled_below(stamped, self._options.clock_margin))
        else:
            mark = max(since, self._high_water(newest, started, self._now()) or since)
        # Kept in step so that, should CATS stop accepting the search, events resume from here.
        await self._succeeded(high_water=mark, events_since=mark if mark > _EPOCH else record.events_since)
        return SyncOutcome(phase="incremental", mode="search", pages=pages, upserted=upserted, removed=0)

    async def _by_events(self, record: SyncRecord) -> SyncOutcome:
        assert self.progress is not None
        cursor = record.event_cursor
        since = record.events_since or record.last_success_at
        if cursor is None and since is None:
            # Nothing says where the events to read start: only a full scan can catch up.
            self.progress.phase = "full"
            return await self._full(record)
        pages = upserted = removed = 0
        for _ in range(self._options.max_event_pages):
            if cursor is not None:
                params = {"starting_after_id": str(cursor)}
            else:
                assert since is not None
                params = {"starting_after_timestamp": str(int(since.timestamp()))}
            response = await self.client.request("GET", "/events", params=params, priority=BACKGROUND)
            page = parse_event_page(response.body)
            rows, gone = await self._company_changes(page.items)
            pages += 1
            if page.last_id is not None:
                cursor = page.last_id
            async with self.cache.db.transaction() as conn:
                await self.cache.upsert(conn, rows, synced_at=self._now())
                removed += await self.cache.delete(conn, gone)
                await self.cache.save_sync(conn, event_cursor=cursor)
            await self._changed(rows, gone)
            upserted += len(rows)
            self._page_done(page, len(rows) + len(gone))
            if page.next_href is None or page.last_id is None:
                break
        await self._succeeded()
        return SyncOutcome(
            phase="incremental", mode="events", pages=pages, upserted=upserted, removed=removed
        )

    async def _company_changes(self, events: list[dict[str, Any]]) -> tuple[list[CompanyRow], list[int]]:
        """The rows to write and ids to delete for one page of events (the last event of a company wins)."""
        latest: dict[int, dict[str, Any] | None] = {}
        for event in events:
            name = event.get("event")
            if name not in _COMPANY_EVENTS and name != _COMPANY_DELETED:
                continue
            company_id = _event_company_id(event)
            if company_id is None:
                continue
            latest.pop(company_id, None)  # keep the dict in event order
            if name == _COMPANY_DELETED:
                latest[company_id] = None
                continue
            embedded = event.get("_embedded")
            record = embedded.get("company") if isinstance(embedded, dict) else None
            latest[company_id] = record if isinstance(record, dict) else {}
        records: list[dict[str, Any]] = []
        gone: list[int] = []
        for company_id, record in latest.items():
            if record is None:
                gone.append(company_id)
                continue
            if not record:
                # An event without the record: read it (it may have been deleted since).
                try:
                    record = await self.client.get_record("companies", company_id, priority=BACKGROUND)
                except CatsNotFoundError:
                    gone.append(company_id)
                    continue
            records.append(record)
        return await asyncio.to_thread(company_rows, records), gone

    # --- bookkeeping ------------------------------------------------------------------------------

    def _scan_mark(self, record: SyncRecord, now: datetime) -> datetime | None:
        """The high-water mark a finished full scan leaves (see the module doc)."""
        if self.client.server_time is not None and record.full_started_at is not None:
            # full_started_at is CATS's clock before the scan's first page.
            return _settled_below(record.full_started_at, timedelta(seconds=1))
        return self._high_water(record.full_max_modified, record.full_started_at or now, now)

    def _high_water(self, newest: datetime | None, started: datetime, finished: datetime) -> datetime | None:
        """Without CATS's clock: a date_modified that no change made since `started` can have or be below."""
        if newest is None:
            return None
        return newest - max(finished - started, timedelta()) - self._options.clock_margin

    def _page_done(self, page: Page, changed: int) -> None:
        assert self.progress is not None
        self.progress.pages_done += 1
        self.progress.companies_done += changed
        if page.total is not None:
            self.progress.pages_total = max(
                math.ceil(page.total / self.client.per_page), self.progress.pages_done
            )
        self._notify()

    async def _succeeded(self, **changes: Any) -> None:
        async with self.cache.db.transaction() as conn:
            await self.cache.save_sync(
                conn,
                last_success_at=self._now(),
                last_error_code=None,
                last_error_message=None,
                last_error_at=None,
                **changes,
            )

    async def _record_error(self, error: CompanionError) -> None:
        log.warning("company sync failed: %s", error.code)
        try:
            async with self.cache.db.transaction() as conn:
                await self.cache.save_sync(
                    conn,
                    last_error_code=error.code,
                    last_error_message=error.message,
                    last_error_at=self._now(),
                )
        except CompanionError:
            log.exception("could not record the sync error")

    async def _changed(self, rows: Sequence[CompanyRow], removed: Sequence[int]) -> None:
        if not rows and not removed:
            return
        for listener in self._change_listeners:
            try:
                await listener(rows, removed)
            except Exception:
                # The rows are committed: failing the run would not undo them, only hide a listener's bug.
                log.exception("a company-cache change listener failed")

    def _notify(self) -> None:
        if self.progress is not None:
            for listener in self._listeners:
                listener(self.progress)


class _SearchRefused(Exception):
    """CATS answered the date_modified probe with 400: the field is not filterable on this account."""
