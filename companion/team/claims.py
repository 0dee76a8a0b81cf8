"""Person claims: each person is created in CATS once across the team, the race decided by PostgreSQL.

Before creating a person, a companion claims every identity key it knows for them
(companion.rules.claim_keys) in one transaction: the claim row, then its keys under the UNIQUE
(record_type, key) of `cats_companion.person_claim_keys`. All keys or none: when any key is held,
the whole claim is rolled back and the caller learns the winner (its claim, member and CATS id
once known), waits for its CATS id (`wait_for_cats_id`) and merges into that record. The loser
adds the keys it knew and the winner did not to the winner's claim, so the next member who knows
the person only by those keys finds the same winner.

The lease. A claim is live while it is `created`, or `claimed` with `lease_until` ahead on the
server's clock (no member's clock is compared). A claim abandoned (the create failed for good) or
`claimed` past its lease (its member died between claim and create) is dead: the next claim of
its keys deletes them and takes the person over. The winner calls `renew` right before sending
the create (the fence: it fails once the claim was taken over) and `record_created` right after;
the lease must outlast one create request. A member that comes back after a takeover and records
its CATS id anyway is told so (`record_created` returns False): CATS's own duplicate check is
then the last guard.

Every claim, renewal and record takes transaction-scoped advisory locks on its keys, in one
order, so a takeover and the dead claim's late renewal cannot both succeed. Every failure is a
TeamError (companion.team.connection) without the password; every wait is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal, cast

import asyncpg

from companion.errors import (
    TeamClaimReleasedError,
    TeamClaimTakenOverError,
    TeamClaimTimeoutError,
    TeamError,
    TeamPrivilegeError,
)
from companion.rules.claim_keys import is_claim_key
from companion.secret import DatabasePassword
from companion.settings.fields import RecordType
from companion.team.connection import postgres_errors
from companion.team.dsn import TeamDsn
from companion.waiting import wait_event

log = logging.getLogger(__name__)

ClaimState = Literal["claimed", "created", "abandoned"]

#: The NOTIFY channel of migration 0002; the payload is the claim id.
CHANNEL: Final = "cats_companion_person_claims"
#: Long enough for one create request (its timeout and a retry), short enough that a member who
#: died between claim and create holds the person up for two minutes at most.
DEFAULT_LEASE: Final = 120.0
#: The schema's trigger refuses a lease ending more than an hour ahead.
MAX_LEASE: Final = 3600.0
#: The fallback when a NOTIFY is lost (a connection dropped and remade between two checks).
POLL_INTERVAL: Final = 2.0
#: The first argument of the two-key advisory locks on claim keys ("clai"), a space of its own.
LOCK_SPACE: Final = 0x636C6169
#: A claim that found a key taken but no live holder (it went between two statements) tries again.
CLAIM_ATTEMPTS: Final = 3
#: How long what a create wrote stands for the record: a teammate's push within this much of the
#: create trusts it; later, anyone may have edited the record in CATS, so a merge reads it first.
WRITTEN_FRESH: Final = 3600.0


@dataclass(frozen=True)
class Claim:
    """One claim as last read: who holds which keys of one person, and the CATS id once created."""

    claim_id: int
    record_type: RecordType
    claimed_by: str
    state: ClaimState
    cats_id: int | None
    lease_until: datetime
    #: The keys it holds: all of them for a claim just won; for a winner, those it holds of the
    #: keys asked.
    keys: tuple[str, ...]
    #: The fingerprint of what its create wrote (companion.rules.written), while fresh: recorded
    #: with the CATS id by a companion that knows migration 0007, and read only within
    #: WRITTEN_FRESH of it. None otherwise: a teammate then reads the record before merging.
    written: Mapping[str, str] | None = None


@dataclass(frozen=True)
class ClaimResult:
    """`won`: `claim` is ours, create the person. Else `claim` is the winner's (a created one first)."""

    won: bool
    claim: Claim
    #: When lost to more than one live claim (the person was already claimed twice under keys no
    #: member knew together): the other holders.
    others: tuple[Claim, ...] = ()


class PersonClaims:
    """Claims made and followed on one open connection (asyncpg runs one statement at a time on it)."""

    def __init__(
        self,
        conn: asyncpg.Connection,
        dsn: TeamDsn,
        password: DatabasePassword | None = None,
        *,
        lease: float = DEFAULT_LEASE,
        poll_interval: float = POLL_INTERVAL,
    ) -> None:
        if not 0 < lease <= MAX_LEASE:
            raise ValueError(f"a claim's lease is between 0 and {MAX_LEASE:.0f} seconds, not {lease}")
        if poll_interval <= 0:
            raise ValueError("the poll interval must be positive")
        self._conn = conn
        self._dsn = dsn
        self._password = password
        self._lease = lease
        self._poll = poll_interval

    async def claim(self, keys: Iterable[str], record_type: RecordType) -> ClaimResult:
        """Claim all of `keys` for a new `record_type` record, or learn who holds them; all or none."""
        wanted = _checked_keys(keys)
        for attempt in range(1, CLAIM_ATTEMPTS + 1):
            with self._errors():
                try:
                    result = await self._claim_once(wanted, record_type)
                except asyncpg.DeadlockDetectedError:
                    # Locks are taken in one order, so only a client outside this module can cause it.
                    log.info("claim attempt %d met a deadlock; trying again", attempt)
                    continue
            if result is not None:
                return result
        raise TeamError(
            f"could not claim {', '.join(wanted)} in {CLAIM_ATTEMPTS} attempts: its keys kept changing hands"
        )

    async def renew(self, claim: Claim) -> Claim:
        """Extend a won claim's lease (right before sending the create); TeamClaimTakenOverError if lost."""
        with self._errors():
            async with self._conn.transaction():
                await self._lock(claim.record_type, claim.keys)
                current = await self._own(claim)
                if current.state == "created":
                    return current
                if current.state == "abandoned" or not await self._holds(claim):
                    raise TeamClaimTakenOverError(
                        f"the claim {claim.claim_id} on {', '.join(claim.keys)} ran out of its lease and "
                        "another member claimed the person: do not create it"
                    )
                await self._conn.execute(
                    "UPDATE cats_companion.person_claims"
                    " SET lease_until = now() + make_interval(secs => $2) WHERE claim_id = $1",
                    claim.claim_id,
                    self._lease,
                )
                renewed = await self._read(claim.claim_id)
        assert renewed is not None  # read in the transaction that just updated it
        return renewed

    async def record_created(
        self, claim: Claim, cats_id: int, written: Mapping[str, str] | None = None
    ) -> bool:
        """Record the CATS id of the person `claim` won; waiters wake. False when it was taken over.

        `written`: the fingerprint of the create's body (companion.rules.written), recorded with the
        id. Recording the same id again is a no-op (a retry after an unknown commit outcome); another
        id for a created claim, or any id for an abandoned one, is refused.
        """
        if cats_id < 1:
            raise ValueError(f"a CATS id is positive, not {cats_id}")
        with self._errors():
            async with self._conn.transaction():
                await self._lock(claim.record_type, claim.keys)
                current = await self._own(claim)
                if current.state == "abandoned" or (
                    current.state == "created" and current.cats_id != cats_id
                ):
                    raise TeamError(
                        f"the claim {claim.claim_id} is already {current.state}"
                        + (f" with CATS id {current.cats_id}" if current.cats_id else "")
                        + f"; it cannot take CATS id {cats_id}"
                    )
                if current.state == "claimed":
                    await self._conn.execute(
                        "UPDATE cats_companion.person_claims SET state = 'created', cats_id = $2,"
                        " written = $3::jsonb WHERE claim_id = $1",
                        claim.claim_id,
                        cats_id,
                        json.dumps(dict(written)) if written else None,
                    )
                held = await self._holds(claim)
        if not held:
            log.warning(
                "claim %d was taken over before its CATS id %d was recorded; CATS may hold a twin",
                claim.claim_id,
                cats_id,
            )
        return held

    async def abandon(self, claim: Claim) -> None:
        """Give up a claim whose create failed for good, freeing its keys for any member at once."""
        with self._errors():
            async with self._conn.transaction():
                await self._lock(claim.record_type, claim.keys)
                current = await self._own(claim)
                if current.state == "created":
                    raise TeamError(
                        f"the claim {claim.claim_id} is created (CATS id {current.cats_id}); "
                        "a person created in CATS is not abandoned"
                    )
                await self._conn.execute(
                    "UPDATE cats_companion.person_claims SET state = 'abandoned' WHERE claim_id = $1",
                    claim.claim_id,
                )
                # Dead now, so the delete policy lets its own member free them too.
                await self._conn.execute(
                    "DELETE FROM cats_companion.person_claim_keys WHERE claim_id = $1", claim.claim_id
                )

    async def get(self, claim_id: int) -> Claim | None:
        """The claim as it stands now, with every key it holds; None when there is no such claim."""
        with self._errors():
            return await self._read(claim_id)

    async def wait_for_cats_id(self, claim: Claim, max_wait: float) -> int:
        """The CATS id of the winner's `claim`, as soon as it is recorded (NOTIFY, else polling).

        TeamClaimReleasedError when the claim is abandoned or its lease runs out first (claim the
        person again); TeamClaimTimeoutError after `max_wait` seconds.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max_wait
        changed = asyncio.Event()
        wanted = str(claim.claim_id)

        def on_notify(_conn: object, _pid: int, _channel: str, payload: object) -> None:
            if payload == wanted:
                changed.set()

        with self._errors():
            await self._conn.add_listener(CHANNEL, on_notify)
            try:
                while True:
                    # Cleared before reading, so a change committed after the read still wakes us.
                    changed.clear()
                    row = await self._conn.fetchrow(
                        "SELECT state, cats_id, extract(epoch FROM lease_until - now()) AS left"
                        " FROM cats_companion.person_claims WHERE claim_id = $1",
                        claim.claim_id,
                    )
                    if row is None or row["state"] == "abandoned":
                        raise TeamClaimReleasedError(f"the claim {claim.claim_id} was abandoned")
                    if row["state"] == "created":
                        return int(row["cats_id"])
                    lease_left = float(row["left"])
                    if lease_left <= 0:
                        raise TeamClaimReleasedError(
                            f"the claim {claim.claim_id} of {claim.claimed_by} ran out of its lease "
                            "without a CATS id"
                        )
                    remaining = deadline - loop.time()
                    if remaining <= 0:
                        raise TeamClaimTimeoutError(
                            f"{claim.claimed_by} did not record the CATS id of claim {claim.claim_id} "
                            f"within {max_wait:g} s"
                        )
                    # Wake for a NOTIFY, the poll, the deadline, or just after the lease ends.
                    await wait_event(changed, min(self._poll, remaining, lease_left + 0.05))
            finally:
                await self._conn.remove_listener(CHANNEL, on_notify)

    # --- the steps ------------------------------------------------------------------------------------

    async def _claim_once(self, keys: tuple[str, ...], record_type: RecordType) -> ClaimResult | None:
        conn = self._conn
        async with conn.transaction():
            await self._lock(record_type, keys)
            # Dead claims' keys are freed for this claim (the explicit condition, not only the
            # member policy, so an admin, whom row-level security does not filter, frees no live key).
            await conn.execute(
                "DELETE FROM cats_companion.person_claim_keys AS k USING cats_companion.person_claims AS c"
                " WHERE k.claim_id = c.claim_id AND k.record_type = $1 AND k.key = ANY($2::text[])"
                " AND (c.state = 'abandoned' OR (c.state = 'claimed' AND c.lease_until <= now()))",
                record_type,
                list(keys),
            )
            attempt = conn.transaction()
            await attempt.start()
            row = await conn.fetchrow(
                "INSERT INTO cats_companion.person_claims (record_type, lease_until)"
                " VALUES ($1, now() + make_interval(secs => $2))"
                " RETURNING claim_id, record_type, claimed_by, state, cats_id, lease_until, written",
                record_type,
                self._lease,
            )
            assert row is not None  # INSERT ... RETURNING of one row
            inserted = await conn.fetch(
                "INSERT INTO cats_companion.person_claim_keys (record_type, key, claim_id)"
                " SELECT $1, k, $3 FROM unnest($2::text[]) AS k ORDER BY k"
                " ON CONFLICT DO NOTHING RETURNING key",
                record_type,
                list(keys),
                row["claim_id"],
            )
            if len(inserted) == len(keys):
                await attempt.commit()
                return ClaimResult(won=True, claim=_claim(row, keys))
            await attempt.rollback()
            holders = await self._holders(keys, record_type)
            if not holders:
                return None
            winner, others = holders[0], holders[1:]
            if not others:
                winner = await self._teach(winner, keys)
        log.info(
            "claim of %s lost to claim %d of %s (%s)",
            ", ".join(keys),
            winner.claim_id,
            winner.claimed_by,
            winner.state,
        )
        return ClaimResult(won=False, claim=winner, others=tuple(others))

    async def _teach(self, winner: Claim, keys: tuple[str, ...]) -> Claim:
        """Add the keys the winner lacks to its claim (the caller holds their locks)."""
        missing = [key for key in keys if key not in winner.keys]
        if not missing:
            return winner
        added = await self._conn.fetch(
            "INSERT INTO cats_companion.person_claim_keys (record_type, key, claim_id)"
            " SELECT $1, k, $3 FROM unnest($2::text[]) AS k ORDER BY k"
            " ON CONFLICT DO NOTHING RETURNING key",
            winner.record_type,
            missing,
            winner.claim_id,
        )
        taught = tuple(sorted({*winner.keys, *(str(row["key"]) for row in added)}))
        return dataclasses.replace(winner, keys=taught)

    async def _holders(self, keys: tuple[str, ...], record_type: RecordType) -> list[Claim]:
        rows = await self._conn.fetch(
            "SELECT c.claim_id, c.record_type, c.claimed_by, c.state, c.cats_id, c.lease_until,"
            " CASE WHEN c.updated_at > now() - make_interval(secs => $3) THEN c.written END AS written,"
            " array_agg(k.key ORDER BY k.key) AS keys"
            " FROM cats_companion.person_claim_keys AS k"
            " JOIN cats_companion.person_claims AS c ON c.claim_id = k.claim_id"
            " WHERE k.record_type = $1 AND k.key = ANY($2::text[])"
            " GROUP BY c.claim_id ORDER BY c.state = 'created' DESC, c.claimed_at, c.claim_id",
            record_type,
            list(keys),
            WRITTEN_FRESH,
        )
        return [_claim(row, tuple(row["keys"])) for row in rows]

    async def _read(self, claim_id: int) -> Claim | None:
        row = await self._conn.fetchrow(
            "SELECT c.claim_id, c.record_type, c.claimed_by, c.state, c.cats_id, c.lease_until,"
            " CASE WHEN c.updated_at > now() - make_interval(secs => $2) THEN c.written END AS written,"
            " ARRAY(SELECT k.key FROM cats_companion.person_claim_keys AS k"
            " WHERE k.claim_id = c.claim_id ORDER BY k.key) AS keys"
            " FROM cats_companion.person_claims AS c WHERE c.claim_id = $1",
            claim_id,
            WRITTEN_FRESH,
        )
        return _claim(row, tuple(row["keys"])) if row is not None else None

    async def _own(self, claim: Claim) -> Claim:
        """The claim as it stands (the caller holds its keys' locks); TeamPrivilegeError if not ours."""
        current = await self._read(claim.claim_id)
        if current is None:
            raise TeamError(f"there is no claim {claim.claim_id} in the team database")
        if current.claimed_by != self._dsn.user:
            raise TeamPrivilegeError(
                f"the claim {claim.claim_id} is {current.claimed_by}'s; {self._dsn.user!r} may not change it"
            )
        return current

    async def _holds(self, claim: Claim) -> bool:
        """Whether every key the claim was won with still points to it."""
        held = await self._conn.fetchval(
            "SELECT count(*) FROM cats_companion.person_claim_keys"
            " WHERE claim_id = $1 AND record_type = $2 AND key = ANY($3::text[])",
            claim.claim_id,
            claim.record_type,
            list(claim.keys),
        )
        return int(held) == len(claim.keys)

    async def _lock(self, record_type: RecordType, keys: Iterable[str]) -> None:
        # In ascending order of the lock keys, so two claims of overlapping keys cannot deadlock.
        await self._conn.execute(
            "SELECT count(pg_advisory_xact_lock($1::integer, h)) FROM ("
            " SELECT DISTINCT hashtext($2 || ' ' || k) AS h FROM unnest($3::text[]) AS k ORDER BY h) AS s",
            LOCK_SPACE,
            record_type,
            list(keys),
        )

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        with postgres_errors(self._dsn, self._password, "use"):
            yield


def _checked_keys(keys: Iterable[str]) -> tuple[str, ...]:
    """The keys sorted without repeats; ValueError for none or one not normalised (a caller's bug)."""
    wanted = tuple(sorted(set(keys)))
    if not wanted:
        raise ValueError("a claim needs at least one identity key")
    bad = [key for key in wanted if not is_claim_key(key)]
    if bad:
        raise ValueError(
            "not normalised identity keys (companion.rules.claim_keys makes them): "
            + ", ".join(map(repr, bad))
        )
    return wanted


def _claim(row: asyncpg.Record, keys: tuple[str, ...]) -> Claim:
    return Claim(
        claim_id=int(row["claim_id"]),
        record_type=cast(RecordType, row["record_type"]),
        claimed_by=str(row["claimed_by"]),
        state=cast(ClaimState, row["state"]),
        cats_id=int(row["cats_id"]) if row["cats_id"] is not None else None,
        lease_until=row["lease_until"],
        keys=keys,
        written=_written(row["written"]),
    )


def _written(stored: str | None) -> Mapping[str, str] | None:
    """The fingerprint as the server sent it (asyncpg gives jsonb as text); None when not one."""
    if stored is None:
        return None
    value = json.loads(stored)
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        # Written by something other than this module: trust none of it (the merge reads the record).
        return None
    return {str(k): v for k, v in value.items()}
