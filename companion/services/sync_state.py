"""What the company sync reports: a run's live progress and the `SyncState` the daemon and CLI show."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from companion.store.companies import CompanyCache, IncrementalMode

Phase = Literal["full", "incremental"]


@dataclass
class SyncProgress:
    """The run in progress, updated by the engine after every page it stores."""

    phase: Phase
    started_at: datetime
    pages_done: int = 0
    #: From CATS's `total`; None while unknown (incremental runs, or CATS sent no total).
    pages_total: int | None = None
    #: Companies written or removed by this run so far.
    companies_done: int = 0
    companies_removed: int = 0


class SyncErrorInfo(BaseModel):
    model_config = ConfigDict(frozen=True)

    #: A stable code of companion.errors (`cats.network`, `cats.budget_reserved`, ...).
    code: str
    message: str
    at: datetime | None = None


class SyncState(BaseModel):
    """The company sync as the settings window, the extension and `cats-companion sync` see it."""

    model_config = ConfigDict(frozen=True)

    #: False when there is no API key: nothing syncs, the cache stays readable.
    configured: bool
    running: bool
    phase: Phase | None = None
    pages_done: int = 0
    pages_total: int | None = None
    companies_done: int = 0
    companies_in_cache: int
    #: A full scan was stopped part-way and resumes from its checkpoint at the next run.
    full_scan_pending: bool = False
    last_success_at: datetime | None = None
    last_full_success_at: datetime | None = None
    #: Seconds since the last successful sync; None when the cache was never synced.
    cache_age_seconds: float | None = None
    last_error: SyncErrorInfo | None = None
    next_run_at: datetime | None = None
    incremental_mode: IncrementalMode = "unknown"
    #: CATS requests the last successful run of this daemon sent; None before one.
    last_run_requests: int | None = None


async def build_state(
    cache: CompanyCache,
    *,
    now: datetime,
    configured: bool,
    progress: SyncProgress | None = None,
    running: bool = False,
    next_run_at: datetime | None = None,
    last_run_requests: int | None = None,
) -> SyncState:
    """The state from the database (what survives restarts) and the run in progress, if any."""
    record = await cache.sync_record()
    error = None
    if record.last_error_code is not None:
        error = SyncErrorInfo(
            code=record.last_error_code, message=record.last_error_message or "", at=record.last_error_at
        )
    age = None if record.last_success_at is None else max(0.0, (now - record.last_success_at).total_seconds())
    pending = record.full_stage != "idle"
    if progress is not None:
        pages_done, pages_total, done = progress.pages_done, progress.pages_total, progress.companies_done
    elif pending:
        # Not running: show where the stopped full scan stands.
        pages_done, pages_total, done = record.full_pages_done, record.full_pages_total, 0
    else:
        pages_done, pages_total, done = 0, None, 0
    return SyncState(
        configured=configured,
        running=running or progress is not None,
        phase=progress.phase if progress is not None else None,
        pages_done=pages_done,
        pages_total=pages_total,
        companies_done=done,
        companies_in_cache=await cache.count(),
        full_scan_pending=pending,
        last_success_at=record.last_success_at,
        last_full_success_at=record.last_full_success_at,
        cache_age_seconds=age,
        last_error=error,
        next_run_at=next_run_at,
        incremental_mode=record.incremental_mode,
        last_run_requests=last_run_requests,
    )
