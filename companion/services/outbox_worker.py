"""The outbox worker: sends accepted items to CATS in order per person, exactly once, through 429s, crashes.

Order and priority. Items of one person go in the order they were accepted; a note waits until its
record has a CATS id (it is skipped, not failed, while its record item is pending or failed). Among
people, what a user just clicked (interactive) goes before campaign automation (background). An item
waiting for a time blocks its person's later items; a failed item does not (retry it once fixed).

Request economy (CATS allows ~500 requests an hour):

* A new record is created directly: with merging on (the default), `POST /{r}?check_duplicate=true`
  FIRST, without searching. A 201 means the person is new: a Candidate with one note costs exactly
  2 requests (create, note). A duplicate answer means the record exists: its id comes from the
  answer's `Location` (else the rules' searches find it), then GET, PUT only when `plan_merge`
  finds a change, and the note: at most 4 requests (create attempt, get, put, note), plus one per
  new email/phone sub-record of a candidate.
* "Do not merge" on: `POST /{r}?check_duplicate=false`, even when the person exists.
* A person whose record the companion already knows (created, merged or adopted before) is
  updated: GET, PUT if anything changes. This holds with "do not merge" too: that record is ours.
* A note whose record CATS no longer has (404: deleted since) forgets the record and sends the
  person's record item again; the note waits for the new record instead of failing.

Exactly once. Every state change is committed before and after each CATS call. Right before a
create (record or note) the item's `in_flight` is committed; it is cleared in the same transaction
that stores CATS's definite answer. An item found with `in_flight` set -- a timeout or reset after
sending (CatsUncertainWriteError), or a worker killed mid-request and restarted -- is never sent
blindly: the worker first searches CATS (records: the rules' searches, keeping only records created
after the attempt began; notes: the record's activities with the same type, date and text) and
adopts what it finds, else sends again. GETs, PUTs and searches are safe to repeat, so a crash
between them only repeats them; sub-record additions are re-planned from a fresh GET.

In a team (docs/teams.md, "How the outbox uses it"). Before creating a person, the worker claims
their identity keys in the team database (a TeamClaims collaborator). Won: the claim id is committed
with `in_flight`, renewed right before the create (the fence) and given the CATS id after it; a
permanent refusal abandons it, and its CATS id goes with a fingerprint of the create's fields
(companion.rules.written). Lost to a teammate's created claim: that record is the person's (no
create request), merged as a known record (no request at all when the fingerprint shows every field
already written with the same value), or with "do not merge" only joined for the notes. Lost to
a live claim: the item waits (pending, not failed) until the claim's NOTIFY or a recheck. This
member's own orphan claim (a crash between the claim's commit and the item's) is resumed. The
database unreachable: the create goes as without a team, and the item's `team_claim` says so.

Waiting. 429 and the local budget wait as long as CATS (Retry-After) or the budget says; CATS
unreachable waits with bounded exponential backoff; both pause the whole worker, not just the
item, so an outage is not rediscovered once per item. 5xx and timeouts wait with backoff on the
item. Permanent refusals (validation, mandatory fields, forbidden) fail the item with CATS's
message. Each outcome is written to the sync log and published as `push.state`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from pydantic import ValidationError

from companion.cats.budget import Clock, Priority, SystemClock
from companion.cats.client import CatsClient
from companion.errors import (
    BudgetReservedError,
    CatsAuthError,
    CatsBadResponseError,
    CatsDuplicateError,
    CatsForbiddenError,
    CatsNetworkError,
    CatsNotFoundError,
    CatsRateLimitedError,
    CatsUnavailableError,
    CatsUncertainWriteError,
    CatsValidationError,
    CompanionError,
    OutboxBusyError,
    OutboxItemUnreadableError,
    PersonNotFoundError,
    TeamClaimTakenOverError,
    TeamError,
)
from companion.files import FileLock
from companion.rules.claim_keys import person_claim_keys
from companion.rules.merge import plan_merge
from companion.rules.notes import NoteSpec
from companion.rules.payload import build_write
from companion.rules.person import Person, RecordType
from companion.rules.written import already_written, claim_salt, fingerprint
from companion.services.push import InputsSource, RulesInputs
from companion.services.resolve import create_company, find_note, find_record
from companion.services.team_claims import TeamClaims
from companion.store.db import Database
from companion.store.outbox import InFlight, Outbox, OutboxItem, SyncLog, TeamClaimState, WaitReason
from companion.store.people import PeopleStore, RecordHow
from companion.team.claims import Claim
from companion.waiting import wait_event

log = logging.getLogger(__name__)

#: The event published on every state change of an item.
STATE_EVENT: Final = "push.state"
#: How often an idle worker looks for items other processes queued (the CLI writes the database).
DEFAULT_POLL_SECONDS: Final = 5.0
#: A claim renewed too late (taken over) is claimed again this many times in one attempt.
CLAIM_ROUNDS: Final = 2
#: How long an item waiting for a teammate's create waits before claiming again, should the
#: database's announcement of that create (which wakes it at once) be lost.
DEFAULT_CLAIM_RECHECK_SECONDS: Final = 5.0
_STAND_IN_COMPANY: Final = 1
#: Answers that say a create was not carried out (refused, or never sent): it is no longer in flight.
#: Not among them: CatsUncertainWriteError and CatsBadResponseError (a 2xx without Location).
_DEFINITE: Final = (
    CatsDuplicateError,
    CatsValidationError,
    CatsForbiddenError,
    CatsNotFoundError,
    CatsRateLimitedError,
    CatsNetworkError,
    CatsUnavailableError,
    CatsAuthError,
)


@dataclass(frozen=True)
class Backoff:
    """Exponential waits without jitter (one worker per user: no herd to spread), bounded by `cap`."""

    base: float = 2.0
    cap: float = 300.0

    def delay(self, attempts: int) -> float:
        return min(self.cap, self.base * 2.0 ** min(max(0, attempts - 1), 30))


#: One sending process per outbox: a FileLock on outbox.lock next to the database.
WorkerLock = FileLock


def lock_path_for(db: Database) -> Path:
    return db.path.with_name("outbox.lock")


@dataclass
class _Result:
    action: str
    cats_id: int
    changed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    message: str | None = None


@dataclass
class _Calls:
    """CATS requests spent on one item (for the sync log)."""

    count: int = 0


@dataclass(frozen=True)
class StepResult:
    #: Items taken this step (whatever their outcome).
    processed: int
    #: When the earliest waiting item (or the worker's pause) ends; None when nothing waits.
    next_due: datetime | None
    #: Items still queued, sending or waiting.
    pending: int


class _NoteNotReady(Exception):
    """A note's record has no CATS id yet (its record item is not done): put the note back."""


class _TeammateCreates(Exception):
    """Another member (or another item of this one) holds the person's claim: wait for its CATS id."""

    def __init__(self, winner: Claim) -> None:
        super().__init__(winner.claim_id)
        self.winner = winner


@dataclass(frozen=True)
class _Gate:
    """What the team's claims decided for a create: create under `claim`, or use `cats_id`."""

    state: TeamClaimState | None = None
    claim: Claim | None = None
    #: The record a teammate created (or this member's own create that landed): no create.
    cats_id: int | None = None


class OutboxWorker:
    """Sends the outbox (module docstring). `start()` runs it in the background; `drain()` to the end."""

    def __init__(
        self,
        db: Database,
        client: CatsClient | Callable[[], CatsClient | None],
        inputs: InputsSource,
        *,
        clock: Clock | None = None,
        publish: Callable[[OutboxItem], None] | None = None,
        backoff: Backoff | None = None,
        poll_seconds: float = DEFAULT_POLL_SECONDS,
        lock_path: Path | None = None,
        claims: TeamClaims | None = None,
        claim_recheck: float = DEFAULT_CLAIM_RECHECK_SECONDS,
    ) -> None:
        self._db = db
        # A provider follows the daemon's client as keys are activated and removed.
        self._client_of = (
            client if callable(client) and not isinstance(client, CatsClient) else (lambda: client)
        )
        self._inputs = inputs
        self._clock: Clock = clock or (
            client.budget.clock if isinstance(client, CatsClient) else SystemClock()
        )
        self._publish = publish
        self._backoff = backoff or Backoff()
        self._poll = poll_seconds
        self._lock = WorkerLock(lock_path) if lock_path is not None else None
        self._outbox = Outbox(db)
        self._people = PeopleStore(db)
        self._log = SyncLog(db)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._paused_until: datetime | None = None
        self._background_paused_until: datetime | None = None
        self._network_failures = 0
        #: Search fields this CATS account refused: their searches are not paid for again.
        self._refused_fields: set[str] = set()
        self._recovered = False
        #: The team's person claims (docs/teams.md); None without a team: creates as before.
        self._claims: TeamClaims | None = None
        self._claim_recheck = claim_recheck
        #: Claims announced changed since the last plan: items waiting for them are due at once.
        self._claim_news: set[int] = set()
        #: The teammates' claims pending items wait for (as of the last plan and wait).
        self._waited: set[int] = set()
        #: The items still to send by their team claim's state, as the last plan read them (status).
        self.claim_states: dict[str, int] = {}
        self.use_claims(claims)

    # --- running -----------------------------------------------------------------------------------

    def notify(self) -> None:
        """New or retried items: look now instead of at the next poll."""
        self._wake.set()

    def use_claims(self, claims: TeamClaims | None) -> None:
        """Claim each person in the team before creating them (None: no team, CATS's duplicate check)."""
        if self._claims is not None:
            self._claims.on_change(None)
        self._claims = claims
        if claims is not None:
            claims.on_change(self._claim_changed)

    def _claim_changed(self, claim_id: int) -> None:
        # Every claim of the team is announced: the worker wakes only for those its items wait for
        # (the next plan sees the others too, which covers an item that started waiting meanwhile).
        self._claim_news.add(claim_id)
        if claim_id in self._waited:
            self.notify()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="outbox-worker")

    async def close(self) -> None:
        """Stop; an item being sent is left in flight and checked in CATS by the next worker."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._lock is not None:
            self._lock.release()

    def claim(self) -> None:
        """Take the outbox lock, or OutboxBusyError when another process sends this outbox."""
        if self._lock is not None and not self._lock.acquire():
            raise OutboxBusyError(
                "another process (the companion daemon, or `cats-companion outbox send`) is sending "
                "this outbox; let it finish or stop it first"
            )

    async def _run(self) -> None:
        while True:
            try:
                self.claim()
                break
            except OutboxBusyError:
                log.info("the outbox is being sent by another process; checking again in %.0f s", self._poll)
                await self._idle(self._poll)
        while True:
            try:
                result = await self.step()
            except asyncio.CancelledError:
                raise
            except Exception:
                # The database is the worker's ground truth: log, back off, read it again.
                log.exception("the outbox worker failed; retrying")
                await self._idle(self._poll)
                continue
            if result.processed:
                continue
            wait = self._poll
            if result.next_due is not None:
                wait = min(wait, max(0.0, (result.next_due - self._now()).total_seconds()))
            await self._idle(wait)

    async def _idle(self, seconds: float) -> None:
        # Not cleared here: a notify() since the last plan must end the idling at once.
        await wait_event(self._wake, max(seconds, 0.01))

    async def drain(self, *, max_steps: int = 1_000_000, max_wait: float = 3600.0) -> dict[str, int]:
        """Send until nothing more can be sent, sleeping (on the worker's clock) through waits.

        Stops early when the next wait is longer than `max_wait`. Returns the outbox's counts by status.
        """
        self.claim()
        try:
            for _ in range(max_steps):
                result = await self.step()
                if result.processed:
                    continue
                if result.next_due is None:
                    break
                delay = (result.next_due - self._now()).total_seconds()
                if delay > max_wait:
                    break
                await self._clock.sleep(max(0.0, delay))
        finally:
            if self._lock is not None:
                self._lock.release()
        return await self._outbox.counts()

    async def step(self) -> StepResult:
        """Send the head item of each person that is due, most urgent first; then say what is left."""
        if not self._recovered:
            async with self._db.transaction() as conn:
                recovered = await self._outbox.recover_interrupted(conn, now=self._now())
            if recovered:
                log.info("%d outbox item(s) were being sent when the last worker stopped", recovered)
            self._recovered = True
        # Cleared before reading the outbox: whatever is notified from here on is planned next time.
        self._wake.clear()
        heads, next_due, pending = await self._plan()
        processed = 0
        client = self._client_of()
        if client is None:
            return StepResult(processed=0, next_due=None, pending=pending)  # no API key: keep everything
        # The client of this step: the daemon may swap it (a new key) between steps, never during one.
        self._client = client
        for item in heads:
            if self._paused():
                break
            if item.priority == Priority.BACKGROUND.value and self._background_paused():
                continue
            await self._process(item)
            processed += 1
            if self._wake.is_set():
                break  # new items: plan again, an interactive one may now come first
        return StepResult(processed=processed, next_due=next_due, pending=pending)

    # --- planning ------------------------------------------------------------------------------------

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock.now(), UTC)

    def _paused(self) -> bool:
        return self._paused_until is not None and self._paused_until > self._now()

    def _background_paused(self) -> bool:
        until = self._background_paused_until
        return until is not None and until > self._now()

    async def _plan(self) -> tuple[list[OutboxItem], datetime | None, int]:
        pending = await self._outbox.pending()
        self.claim_states = dict(Counter(i.team_claim for i in pending if i.team_claim is not None))
        now = self._now()
        next_due: datetime | None = None
        if self._paused():
            return [], self._paused_until, len(pending)
        known = await self._outbox.records_of_pending_people()
        # A teammate's claim that changed (created, abandoned) ends the wait of the items behind it.
        news, self._claim_news = self._claim_news, set()
        self._waited = {i.team_claim_id for i in pending if i.team_claim == "waiting" and i.team_claim_id}
        decided: set[int] = set()
        heads: list[OutboxItem] = []
        for item in pending:
            if item.person_id in decided:
                continue
            woken = item.team_claim == "waiting" and item.team_claim_id in news
            if (
                item.status == "waiting"
                and item.not_before is not None
                and item.not_before > now
                and not woken
            ):
                decided.add(item.person_id)
                next_due = item.not_before if next_due is None else min(next_due, item.not_before)
                continue
            if item.kind == "note" and (item.person_id, item.record_type) not in known:
                continue  # its record is not in CATS yet: later items of the person may go first
            heads.append(item)
            decided.add(item.person_id)
        heads.sort(key=lambda item: (item.priority != Priority.INTERACTIVE.value, item.id))
        if self._background_paused():
            assert self._background_paused_until is not None
            heads = [item for item in heads if item.priority == Priority.INTERACTIVE.value]
            if not heads:
                until = self._background_paused_until
                next_due = until if next_due is None else min(next_due, until)
        return heads, next_due, len(pending)

    # --- one item --------------------------------------------------------------------------------------

    async def _process(self, item: OutboxItem) -> None:
        item = await self._set(
            item, status="sending", attempts=item.attempts + 1, wait_reason=None, not_before=None
        )
        calls = _Calls()
        inputs = self._inputs()
        try:
            if item.kind == "record":
                result = await self._send_record(item, inputs, calls)
            else:
                result = await self._send_note(item, calls)
        except _NoteNotReady:
            await self._set(item, status="queued")
        except _TeammateCreates as waiting:
            await self._wait_for_teammate(item, waiting.winner, calls)
        except CatsRateLimitedError as exc:
            wait = exc.retry_after if exc.retry_after > 0 else self._backoff.delay(item.attempts)
            until = self._now() + timedelta(seconds=wait)
            if isinstance(exc, BudgetReservedError):
                # Only background work must leave the hour's reserve alone: clicks still go.
                self._background_paused_until = until
            else:
                self._paused_until = until
            await self._wait(item, "rate", wait, exc, calls)
        except (CatsNetworkError, CatsAuthError) as exc:
            # Unreachable, or the key refused: true of every item, so the whole worker waits.
            self._network_failures += 1
            wait = self._backoff.delay(self._network_failures)
            self._paused_until = self._now() + timedelta(seconds=wait)
            reason: WaitReason = "network" if isinstance(exc, CatsNetworkError) else "until"
            await self._wait(item, reason, wait, exc, calls)
        except CatsUncertainWriteError as exc:
            # Look it up soon: it is in flight, so the next attempt searches before sending.
            await self._wait(item, "until", self._backoff.base, exc, calls)
        except CatsUnavailableError as exc:
            await self._wait(item, "until", self._backoff.delay(item.attempts), exc, calls)
        except TeamClaimTakenOverError as exc:
            await self._wait(item, "until", self._claim_recheck, exc, calls)
        except CatsBadResponseError as exc:
            current = await self._outbox.get(item.id)
            if current is not None and current.in_flight is not None:
                await self._wait(item, "until", self._backoff.delay(item.attempts), exc, calls)
            else:
                await self._fail(item, exc.code, exc.message, calls)
        except CompanionError as exc:
            await self._fail(item, exc.code, exc.message, calls)
        except ValidationError as exc:
            unreadable = OutboxItemUnreadableError(
                f"outbox item {item.id}'s stored data cannot be read ({exc.error_count()} problems); "
                "push the person again"
            )
            await self._fail(item, unreadable.code, unreadable.message, calls)
        else:
            self._network_failures = 0
            await self._done(item, result, calls)

    async def _set(self, item: OutboxItem, **changes: Any) -> OutboxItem:
        async with self._db.transaction() as conn:
            await self._outbox.update(conn, item.id, now=self._now(), **changes)
        return await self._published(item.id)

    async def _published(self, item_id: int) -> OutboxItem:
        current = await self._outbox.get(item_id)
        assert current is not None
        if self._publish is not None:
            try:
                self._publish(current)
            except Exception:
                log.exception("could not publish the state of outbox item %d", item_id)
        return current

    async def _wait(
        self,
        item: OutboxItem,
        reason: WaitReason,
        seconds: float,
        exc: CompanionError | None,
        calls: _Calls,
        *,
        action: str | None = None,
        message: str | None = None,
        **columns: Any,
    ) -> None:
        """The item waits `seconds`; `exc` is why (None: no error, `message` says why), `columns` more."""
        until = self._now() + timedelta(seconds=seconds)
        code = exc.code if exc is not None else None
        async with self._db.transaction() as conn:
            await self._outbox.update(
                conn,
                item.id,
                now=self._now(),
                status="waiting",
                wait_reason=reason,
                not_before=until,
                error_code=code,
                error_message=exc.message if exc is not None else None,
                **columns,
            )
            await self._log.add(
                conn,
                now=self._now(),
                item=item,
                action=action or f"wait for {reason}",
                outcome="waiting",
                requests=calls.count,
                code=code,
                message=message if exc is None else exc.message,
            )
        log.info("outbox item %d waits %.0f s (%s): %s", item.id, seconds, reason, code or message)
        await self._published(item.id)

    async def _fail(self, item: OutboxItem, code: str, message: str, calls: _Calls) -> None:
        await self._abandon_claim(item.id)
        async with self._db.transaction() as conn:
            await self._outbox.update(
                conn, item.id, now=self._now(), status="failed", error_code=code, error_message=message
            )
            await self._log.add(
                conn,
                now=self._now(),
                item=item,
                action=f"send {item.kind}",
                outcome="failed",
                requests=calls.count,
                code=code,
                message=message,
            )
        log.warning("outbox item %d failed: %s", item.id, code)
        await self._published(item.id)

    async def _done(self, item: OutboxItem, result: _Result, calls: _Calls) -> None:
        async with self._db.transaction() as conn:
            await self._outbox.update(
                conn,
                item.id,
                now=self._now(),
                status="synced",
                cats_id=result.cats_id,
                in_flight=None,
                wait_reason=None,
                not_before=None,
                error_code=None,
                error_message=None,
            )
            await self._log.add(
                conn,
                now=self._now(),
                item=item,
                action=result.action,
                outcome="ok",
                cats_id=result.cats_id,
                changed_fields=result.changed,
                requests=calls.count,
                message=result.message,
            )
        await self._published(item.id)

    async def _in_flight(self, item: OutboxItem, what: InFlight, **claim: Any) -> OutboxItem:
        """Commit that a create is about to be sent; an uncertain earlier attempt keeps its start time.

        `claim`: the team claim's columns, committed with it (the claim this create is made under).
        """
        current = await self._outbox.get(item.id)
        assert current is not None
        started = current.attempt_at if current.in_flight is not None and current.attempt_at else self._now()
        async with self._db.transaction() as conn:
            await self._outbox.update(
                conn, item.id, now=self._now(), in_flight=what, attempt_at=started, **claim
            )
        refreshed = await self._outbox.get(item.id)
        assert refreshed is not None
        return refreshed

    async def _landed(self, item: OutboxItem) -> None:
        """CATS gave a definite answer to the create: it is no longer in flight."""
        async with self._db.transaction() as conn:
            await self._outbox.update(conn, item.id, now=self._now(), in_flight=None)

    # --- records -------------------------------------------------------------------------------------

    async def _send_record(self, item: OutboxItem, inputs: RulesInputs, calls: _Calls) -> _Result:
        stored = await self._people.person(item.person_id)
        if stored is None:
            raise PersonNotFoundError(f"the person of outbox item {item.id} no longer exists")
        person = Person.model_validate(stored.data)
        record_type = item.record_type
        settings = inputs.settings
        priority = Priority(item.priority)
        company_id = item.payload.get("company_id")
        if record_type == "contacts" and company_id is None and item.payload.get("create_company"):
            company_id = await self._company(item, person, inputs, calls)
        body = build_write(
            person, record_type, settings, inputs.catalogue, company_id=company_id, owner_id=None
        )
        merging = not settings.general.do_not_merge

        record = await self._people.record(item.person_id, record_type)
        cats_id = record.cats_id if record is not None else None
        if cats_id is None and item.in_flight == "create":
            since = item.attempt_at
            found = await self._search(person, record_type, company_id, priority, calls, since=since)
            if found is not None:
                await self._record_found(item, found, "adopted")
                await self._claim_created(item.id, found)
                return _Result("adopted", found, message="the create had reached CATS; adopted, not repeated")
        if cats_id is None:
            item, gate = await self._claimed(item, person)
            if gate.cats_id is not None and gate.state == "claimed":
                # This member's create landed and was recorded in the team before the worker stopped.
                await self._record_found(item, gate.cats_id, "adopted")
                return _Result(
                    "adopted",
                    gate.cats_id,
                    message="the team's claim holds the CATS id of this create; adopted",
                )
            if gate.cats_id is not None:
                assert gate.claim is not None
                await self._record_found(
                    item, gate.cats_id, "merged", team_claim="teammate", team_claim_id=gate.claim.claim_id
                )
                if not merging:
                    # "Do not merge" is about CATS's guess that some record is this person; a
                    # teammate's claim is the same LinkedIn member or email, created moments ago for
                    # the same team. A second record would be the duplicate the claim exists to
                    # prevent, so the record is joined, left as the teammate wrote it, and the
                    # notes go on it.
                    return _Result(
                        "joined",
                        gate.cats_id,
                        message=f"{gate.claim.claimed_by} created this person; do not merge: their record "
                        "is kept as it is, the notes go on it",
                    )
                cats_id = gate.cats_id
                written = gate.claim.written
                if written is not None and already_written(body, written, claim_salt(gate.claim.claim_id)):
                    # The teammate's create wrote each of these fields with these values within the
                    # hour: a merge would read the record back and find nothing to change.
                    return _Result(
                        "unchanged",
                        cats_id,
                        message=f"{gate.claim.claimed_by} created this person with the same details; "
                        "nothing to merge, the notes go on their record",
                    )
            else:
                calls.count += 1
                try:
                    new_id = await self._client.create_record(
                        record_type, body, check_duplicate=merging, priority=priority
                    )
                except CatsDuplicateError as duplicate:
                    await self._landed(item)
                    cats_id = duplicate.existing_id
                    if cats_id is None:
                        cats_id = await self._search(person, record_type, company_id, priority, calls)
                        if cats_id is None:
                            raise CatsDuplicateError(
                                f"CATS says this {record_type[:-1]} already exists but did not say which "
                                "record, and no search found it; merge it by hand in CATS, or turn on "
                                "'do not merge'",
                                status=duplicate.status,
                            ) from None
                    await self._record_found(item, cats_id, "merged")
                    # The person's record is that one, for the team too.
                    await self._claim_created(item.id, cats_id, gate.claim)
                except _DEFINITE:
                    await self._landed(item)
                    raise
                else:
                    await self._record_found(item, new_id, "created")
                    await self._claim_created(item.id, new_id, gate.claim, wrote=body)
                    return _Result("created", new_id, changed=sorted(body))
        return await self._merge(item, record_type, cats_id, body, inputs, priority, calls)

    async def _search(
        self,
        person: Person,
        record_type: RecordType,
        company_id: int | None,
        priority: Priority,
        calls: _Calls,
        *,
        since: datetime | None = None,
    ) -> int | None:
        """The person's record in CATS by the rules' searches (created after `since`, when given)."""
        lookup = await find_record(
            self._client,
            person,
            record_type,
            company_id=company_id,
            priority=priority,
            created_since=since,
            refused_fields=self._refused_fields,
        )
        calls.count += lookup.searches
        return lookup.found

    async def _record_found(self, item: OutboxItem, cats_id: int, how: RecordHow, **claim: Any) -> None:
        """The person's record is known: store it with the end of the create's flight, in one transaction."""
        async with self._db.transaction() as conn:
            await self._people.set_record(
                conn, item.person_id, item.record_type, cats_id=cats_id, how=how, now=self._now()
            )
            await self._outbox.update(
                conn, item.id, now=self._now(), in_flight=None, cats_id=cats_id, **claim
            )

    # --- the team's person claims (docs/teams.md, "Each person created once") -----------------------

    async def _claimed(self, item: OutboxItem, person: Person) -> tuple[OutboxItem, _Gate]:
        """Decide the create with the team's claims; with no CATS id to use, the item is in flight after.

        Won (or this member's own claim resumed): the claim is committed with `in_flight`, then
        renewed (the fence: a claim taken over meanwhile is claimed again, and lost). Lost to a live
        claim: _TeammateCreates. The database unreachable: create as without a team, flagged.
        """
        for round_ in range(1, CLAIM_ROUNDS + 1):
            gate = await self._gate(item, person)
            if gate.cats_id is not None:
                return item, gate
            columns: dict[str, Any] = {
                "team_claim": gate.state,
                "team_claim_id": gate.claim.claim_id if gate.claim is not None else None,
            }
            before = item.in_flight
            item = await self._in_flight(item, "create", **columns)
            if gate.claim is None or self._claims is None:
                return item, gate
            try:
                await self._claims.renew(gate.claim)
            except TeamClaimTakenOverError:
                # Nothing was sent under it: the flight is as it was, and the person is claimed again.
                async with self._db.transaction() as conn:
                    await self._outbox.update(
                        conn, item.id, now=self._now(), in_flight=before, team_claim=None, team_claim_id=None
                    )
                item = await self._reread(item.id)
                if round_ == CLAIM_ROUNDS:
                    raise
            except TeamError as exc:
                # The claim stays ours until its lease ends; the create goes ahead, and says so.
                log.warning("outbox item %d: the claim could not be renewed (%s)", item.id, exc.code)
                async with self._db.transaction() as conn:
                    await self._outbox.update(conn, item.id, now=self._now(), team_claim="unavailable")
                return await self._reread(item.id), gate
            else:
                return item, gate
        raise AssertionError("unreachable: the last round returns or raises")

    async def _gate(self, item: OutboxItem, person: Person) -> _Gate:
        claims = self._claims
        if claims is None:
            return _Gate()
        if item.team_claim == "stale":
            return _Gate("stale")  # the team's record of this person is gone from CATS
        keys = person_claim_keys(person)
        if not keys:
            return _Gate("no_keys")
        try:
            if item.team_claim == "claimed" and item.team_claim_id is not None:
                # An earlier attempt claimed the person: resume that claim while it is ours.
                mine = await claims.get(item.team_claim_id)
                if mine is not None and mine.claimed_by == claims.member and mine.state != "abandoned":
                    return _Gate("claimed", mine, mine.cats_id)
            result = await claims.claim(keys, item.record_type)
        except TeamError as exc:
            log.warning("outbox item %d: created without a team claim (%s)", item.id, exc.message)
            return _Gate("unavailable")
        winner = result.claim
        if result.won:
            return _Gate("claimed", winner)
        if winner.state == "created" and winner.cats_id is not None:
            return _Gate("teammate", winner, winner.cats_id)
        if (
            winner.claimed_by == claims.member
            and winner.state == "claimed"
            and not await self._outbox.claim_held_elsewhere(winner.claim_id, exclude=item.id)
        ):
            # This member's own live claim that no item holds: the worker stopped between the
            # claim's commit and the item's. It is this item's claim, resumed.
            log.info("outbox item %d resumes its claim %d", item.id, winner.claim_id)
            return _Gate("claimed", winner)
        raise _TeammateCreates(winner)

    async def _claim_created(
        self, item_id: int, cats_id: int, claim: Claim | None = None, *, wrote: dict[str, Any] | None = None
    ) -> None:
        """Record the CATS id on the item's own claim, so waiting teammates merge into it; best effort.

        `wrote`: the body of the create that made the record, fingerprinted on the claim so that a
        teammate pushing the same details spends no request (companion.rules.written).

        Not recorded (the database went away), the claim's lease runs out and a teammate's create
        meets CATS's duplicate check instead.
        """
        claims = self._claims
        if claims is None:
            return
        try:
            if claim is None:
                current = await self._reread(item_id)
                if current.team_claim not in ("claimed", "unavailable") or current.team_claim_id is None:
                    return
                claim = await claims.get(current.team_claim_id)
                if claim is None or claim.claimed_by != claims.member:
                    return
            written = fingerprint(wrote, claim_salt(claim.claim_id)) if wrote is not None else None
            await claims.record_created(claim, cats_id, written)
        except TeamError as exc:
            log.warning("the CATS id %d could not be recorded on its team claim: %s", cats_id, exc.message)

    async def _abandon_claim(self, item_id: int) -> None:
        """A record item failed for good before any create could land: free its claim for the team."""
        claims = self._claims
        current = await self._outbox.get(item_id)
        if (
            claims is None
            or current is None
            or current.kind != "record"
            or current.in_flight is not None
            or current.team_claim not in ("claimed", "unavailable")
            or current.team_claim_id is None
        ):
            return
        try:
            claim = await claims.get(current.team_claim_id)
            if claim is not None and claim.claimed_by == claims.member and claim.state == "claimed":
                await claims.abandon(claim)
        except TeamError as exc:
            log.warning(
                "the claim %d was not abandoned (its lease ends it): %s", current.team_claim_id, exc.message
            )

    async def _wait_for_teammate(self, item: OutboxItem, winner: Claim, calls: _Calls) -> None:
        """Pending, not failed: woken by the claim's change, else claimed again after the recheck."""
        self._waited.add(winner.claim_id)
        message = (
            f"{winner.claimed_by}'s companion is creating this person in CATS (team claim "
            f"{winner.claim_id}); this push joins that record once it exists"
        )
        await self._wait(
            item,
            "until",
            self._claim_recheck,
            None,
            calls,
            action="wait for teammate",
            message=message,
            team_claim="waiting",
            team_claim_id=winner.claim_id,
        )

    async def _reread(self, item_id: int) -> OutboxItem:
        current = await self._outbox.get(item_id)
        assert current is not None
        return current

    async def _merge(
        self,
        item: OutboxItem,
        record_type: RecordType,
        cats_id: int,
        body: dict[str, Any],
        inputs: RulesInputs,
        priority: Priority,
        calls: _Calls,
    ) -> _Result:
        calls.count += 1
        try:
            existing = await self._client.get_record(record_type, cats_id, priority=priority)
        except CatsNotFoundError:
            # Deleted in CATS since: forget it; the next attempt finds or creates the record afresh.
            joined = (await self._reread(item.id)).team_claim == "teammate"
            async with self._db.transaction() as conn:
                await self._people.set_record(
                    conn, item.person_id, record_type, cats_id=None, how=None, now=self._now()
                )
                if joined:
                    # The teammate's claim keeps that id for good: claiming again would join it again.
                    await self._outbox.update(conn, item.id, now=self._now(), team_claim="stale")
            raise CatsUnavailableError(
                f"the {record_type[:-1]} {cats_id} is no longer in CATS; it will be found or created again"
            ) from None
        try:
            plan = plan_merge(existing, body, record_type, inputs.settings)
        except ValidationError as exc:
            # CATS's record, not our stored item, is what cannot be read: say so (not outbox.unreadable).
            raise CatsBadResponseError(
                f"CATS sent the {record_type[:-1]} {cats_id} in a form the companion cannot read "
                f"({exc.error_count()} problems), so it cannot be merged; check the record in CATS"
            ) from None
        if plan.body is not None:
            calls.count += 1
            await self._client.update_record(record_type, cats_id, plan.body, priority=priority)
        for op in plan.subrecords:
            # A sub-record add is a create: after a crash the next attempt re-plans from a fresh GET,
            # which shows the ones that landed, so none is added twice.
            calls.count += 1
            await self._client.request(
                op.method, op.path, json_body=op.body, priority=priority, expect=(200, 201)
            )
        skipped = (
            f"; protected, not overwritten: {', '.join(plan.skipped_protected)}"
            if plan.skipped_protected
            else ""
        )
        if plan.changed_fields:
            return _Result("updated", cats_id, changed=plan.changed_fields, message=f"merged{skipped}")
        return _Result("unchanged", cats_id, message=f"nothing to change{skipped}")

    async def _record_gone(self, item: OutboxItem, cats_id: int) -> bool:
        """The person's record `cats_id` is no longer in CATS: forget it, and send their record again.

        True when the person's record item is queued again (the note waits for the new record);
        False when no item of this companion made or found the record (the note fails, saying so).
        """
        again = await self._outbox.last_synced_record_item(item.person_id, item.record_type)
        async with self._db.transaction() as conn:
            await self._people.set_record(
                conn, item.person_id, item.record_type, cats_id=None, how=None, now=self._now()
            )
            if again is not None:
                # A team's claim still names the deleted id for good: the new record is made as
                # without a team (CATS's duplicate check), not joined to the gone one again.
                stale = "stale" if again.team_claim is not None else None
                await self._outbox.update(
                    conn,
                    again.id,
                    now=self._now(),
                    status="queued",
                    cats_id=None,
                    in_flight=None,
                    team_claim=stale,
                )
        log.warning(
            "the %s %d is no longer in CATS%s",
            item.record_type[:-1],
            cats_id,
            f"; outbox item {again.id} sends the person again" if again is not None else "",
        )
        if again is not None:
            await self._published(again.id)
        return again is not None

    async def _company(self, item: OutboxItem, person: Person, inputs: RulesInputs, calls: _Calls) -> int:
        """Create the Contact's missing company (the setting says so) and remember its id on the item."""
        # Everything else must be writable before a company is created for it.
        build_write(
            person, "contacts", inputs.settings, inputs.catalogue, company_id=_STAND_IN_COMPANY, owner_id=None
        )
        owner = inputs.settings.sync.contacts.default_owner_id
        wanted = item.payload["create_company"]
        assert owner is not None  # build_write refused a contact without owner
        calls.count += 1
        company_id = await create_company(
            self._client,
            name=str(wanted["name"]),
            owner_id=owner,
            website=wanted.get("website"),
            priority=Priority(item.priority),
        )
        async with self._db.transaction() as conn:
            await self._outbox.update(
                conn,
                item.id,
                now=self._now(),
                payload={**item.payload, "company_id": company_id, "company_source": "created"},
            )
        return company_id

    # --- notes ---------------------------------------------------------------------------------------

    async def _send_note(self, item: OutboxItem, calls: _Calls) -> _Result:
        spec = NoteSpec.model_validate(item.payload)
        record = await self._people.record(item.person_id, item.record_type)
        if record is None or record.cats_id is None:
            raise _NoteNotReady
        priority = Priority(item.priority)
        if item.in_flight == "note":
            calls.count += 1
            found = await find_note(self._client, item.record_type, record.cats_id, spec, priority=priority)
            if found is not None:
                return _Result(
                    "note adopted", found, message="the note had reached CATS; adopted, not repeated"
                )
        item = await self._in_flight(item, "note")
        calls.count += 1
        try:
            activity_id = await self._client.create_activity(
                item.record_type, record.cats_id, spec.body(), priority=priority
            )
        except CatsNotFoundError:
            await self._landed(item)
            if await self._record_gone(item, record.cats_id):
                raise _NoteNotReady from None
            raise
        except _DEFINITE:
            await self._landed(item)
            raise
        return _Result("note", activity_id, changed=[spec.kind])
