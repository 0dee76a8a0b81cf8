"""The team policy in the team database: reading it, an admin's write, and a member's follower with its cache.

The policy is one row of `cats_companion.policy`: a document in the site policy file's form
(companion.settings.policy), its revision, who changed it and when (stamped by the server). An
admin's write is validated with the same models as the site file before it is sent, and is
conditional on the revision the admin edited, so two admins cannot overwrite each other unseen.
Every committed change is announced by NOTIFY on `CHANNEL` (migration 0002) with the new revision.

`TeamPolicyFollower` keeps a member's companion up to date: on the team link's follower connection
(companion.team.link) it reads the row when a newer revision is announced (and at the link's poll in
case a notification was lost), and writes each policy it applies to a cache file, which it loads
first on start. So a
member offline, or whose database is down, keeps the last policy received, locks included.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import asyncpg

from companion import paths
from companion.errors import (
    CompanionError,
    PolicyConflictError,
    PolicyInvalidError,
    TeamPrivilegeError,
    TeamSchemaError,
)
from companion.files import write_atomic_json
from companion.secret import DatabasePassword
from companion.settings.base import Problem
from companion.settings.policy import Policy, parse_policy
from companion.settings.team_policy import TeamPolicyOrigin, TeamPolicySnapshot
from companion.team.connection import connect
from companion.team.dsn import TeamDsn
from companion.team.local import TeamRecord

log = logging.getLogger(__name__)

#: The NOTIFY channel migration 0002 announces each new revision on (channels are per database).
CHANNEL: Final = "cats_companion_policy"
CACHE_FILE: Final = "team-policy.json"
CACHE_FORMAT: Final = 1
#: Each of the follower's reads; a member must not hang on a database that is away.
FOLLOW_TIMEOUT: Final = 5.0

_SELECT: Final = (
    "SELECT document::text AS document, revision, changed_by, changed_at FROM cats_companion.policy"
)


@dataclass(frozen=True)
class PolicyRow:
    """The policy row as stored: the document (the file form; {} when never edited) and its stamps."""

    document: dict[str, Any]
    revision: int
    changed_by: str
    changed_at: datetime


def policy_of(document: dict[str, Any]) -> Policy | None:
    """The Policy a stored document means: None for the empty document of a never-edited team."""
    return None if not document else parse_policy(document)


async def read_row(conn: asyncpg.Connection, *, seconds: float | None = None) -> PolicyRow:
    """The row, read within `seconds` (None: the connection's command timeout)."""
    row = await conn.fetchrow(_SELECT, timeout=seconds)
    if row is None:
        raise TeamSchemaError(
            "the team database has no policy row; its admin runs `cats-companion team init`"
        )
    document = json.loads(row["document"])
    return PolicyRow(document, int(row["revision"]), str(row["changed_by"]), row["changed_at"])


async def read_policy(dsn: TeamDsn, password: DatabasePassword) -> PolicyRow:
    """The team's policy as it is in the database now (members and admins alike may read it)."""
    async with connect(dsn, password) as conn:
        return await read_row(conn)


async def write_policy(
    dsn: TeamDsn, password: DatabasePassword, document: object, *, expected_revision: int
) -> PolicyRow:
    """Replace the team's policy with `document` if it is still at `expected_revision`; the new row.

    PolicyInvalidError (before connecting) for a document the site policy file could not hold,
    PolicyConflictError when another admin changed the policy since `expected_revision`,
    TeamPrivilegeError for a member. Nothing changes in any of these cases.
    """
    policy = parse_policy(document)
    async with connect(dsn, password) as conn, conn.transaction():
        try:
            updated = await conn.fetchval(
                "UPDATE cats_companion.policy SET document = $1::jsonb"
                " WHERE revision = $2 RETURNING revision",
                json.dumps(policy.document()),
                expected_revision,
            )
        except asyncpg.InsufficientPrivilegeError:
            raise TeamPrivilegeError(
                f"only the team's admins change the team policy, and {dsn.user!r} is not one; "
                "PostgreSQL refused the change"
            ) from None
        row = await read_row(conn)
        if updated is None:
            raise PolicyConflictError(
                f"the team policy was changed by {row.changed_by} at {row.changed_at:%Y-%m-%d %H:%M:%S %Z} "
                f"(now revision {row.revision}) since revision {expected_revision}, which this edit "
                "started from; nothing was changed. Load the current policy and make the edit again.",
                revision=row.revision,
                changed_by=row.changed_by,
                changed_at=row.changed_at.isoformat(),
            )
    log.info("team policy revision %d written by %s", row.revision, row.changed_by)
    return row


# --- the cache ---------------------------------------------------------------------------------------


def default_cache_path() -> Path:
    return paths.data_dir() / CACHE_FILE


def write_cache(path: Path, team_id: str, row: PolicyRow) -> None:
    """Keep `row` as the last policy received from `team_id` (no secret in it; private all the same)."""
    paths.private_dir(path.parent)
    write_atomic_json(
        path,
        {
            "format": CACHE_FORMAT,
            "team_id": team_id,
            "revision": row.revision,
            "changed_by": row.changed_by,
            "changed_at": row.changed_at.isoformat(),
            "document": row.document,
        },
    )


def read_cache(path: Path, team_id: str) -> PolicyRow | None:
    """The last policy received from `team_id`; None when there is none, it is another team's or damaged."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.warning("the cached team policy %s cannot be read (%s); ignored", path, exc)
        return None
    try:
        if data["format"] != CACHE_FORMAT or data["team_id"] != team_id:
            log.info("the cached team policy %s is of another team or format; ignored", path)
            return None
        document = data["document"]
        if not isinstance(document, dict):
            raise TypeError("document is not an object")
        return PolicyRow(
            document,
            int(data["revision"]),
            str(data["changed_by"]),
            datetime.fromisoformat(data["changed_at"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        log.warning("the cached team policy %s is damaged (%s); ignored", path, exc)
        return None


# --- the follower -----------------------------------------------------------------------------------


class TeamPolicyFollower:
    """A member's companion's view of the team policy: the cached one at once, then the database's.

    A TeamPolicySource for companion.settings.service.SettingsService, and a companion.team.link
    Follower: it rides on the team link's follower connection (LISTEN on `channel`, `follow(conn)` on
    each NOTIFY and poll), so it costs the team database no session of its own. `load_cache()` puts
    the last policy received in force; `lost(reason)` (the link's connection ended) keeps it in force.
    `on_change` is called with each new snapshot. A policy this companion cannot read (a newer
    companion's setting) is reported and not applied: the one held before stays in force with its
    locks, rather than no lock at all.
    """

    channel: Final = CHANNEL

    def __init__(
        self,
        *,
        team_id: str,
        cache_path: Path,
        on_change: Callable[[TeamPolicySnapshot], None] | None = None,
        timeout: float = FOLLOW_TIMEOUT,
    ) -> None:
        self.team_id = team_id
        self.cache_path = cache_path
        self._on_change = on_change
        self._timeout = timeout
        self._snapshot = TeamPolicySnapshot()
        self._changed = asyncio.Event()
        #: The last revision read from the database, applied or not (None: none read yet).
        self._seen: int | None = None
        #: The connection whose database was checked to hold this companion's team.
        self._checked: asyncpg.Connection | None = None
        self.connected = False
        #: Why the database is not being followed now (None while it is).
        self.last_error: str | None = None
        #: When this companion put the policy held in force (read from the database or the cache).
        self.applied_at: datetime | None = None

    @classmethod
    def for_record(
        cls,
        record: TeamRecord,
        *,
        cache_path: Path | None = None,
        on_change: Callable[[TeamPolicySnapshot], None] | None = None,
    ) -> TeamPolicyFollower:
        """The follower of the team this companion joined (team.json), caching in the data dir."""
        return cls(
            team_id=record.team_id,
            cache_path=cache_path if cache_path is not None else default_cache_path(),
            on_change=on_change,
        )

    def snapshot(self) -> TeamPolicySnapshot:
        return self._snapshot

    def load_cache(self) -> TeamPolicySnapshot:
        """Put the cached policy in force now, before anything reads the settings (reads only the file)."""
        if self._snapshot.origin is None:
            cached = read_cache(self.cache_path, self.team_id)
            if cached is not None:
                self._apply(cached, origin="cache")
        return self._snapshot

    async def wait_for_revision(self, revision: int) -> TeamPolicySnapshot:
        """The snapshot once the database's `revision` or a later one was read (applied or refused);
        `wait_for_revision(0)` waits for the first read from the database, whatever the cache held.

        Unbounded by itself: callers wrap it in asyncio.timeout.
        """
        while self._seen is None or self._seen < revision:
            await self._changed.wait()
        return self._snapshot

    # --- following (called by the team link) ---------------------------------------------------------

    async def follow(self, conn: asyncpg.Connection) -> None:
        """Read the revision on the link's connection, and the row when it is not the one seen last.

        The link LISTENs on `channel` before its first follow, so a change committed after this read is
        announced and followed again. A database holding another team refuses the policy here (the
        link and the other followers go on); driver errors go to the link, which reconnects.
        """
        try:
            if conn is not self._checked:
                team_id = await conn.fetchval(
                    "SELECT team_id::text FROM cats_companion.team", timeout=self._timeout
                )
                if team_id != self.team_id:
                    raise TeamSchemaError(
                        f"the team database now holds team {team_id}, not {self.team_id} which this "
                        "companion joined; its policy is not applied (leave and join the team again)"
                    )
                self._checked = conn
            revision = await conn.fetchval(
                "SELECT revision FROM cats_companion.policy", timeout=self._timeout
            )
            if revision is None or revision != self._seen:
                self._receive(await read_row(conn, seconds=self._timeout))
        except CompanionError as exc:
            self.lost(exc.message)
            return
        self.connected, self.last_error = True, None

    def lost(self, reason: str) -> None:
        """The link's connection is gone (or the database refused): the policy held stays in force."""
        if self.last_error != reason:
            log.warning("team policy: not following the team database (%s); the policy held stays", reason)
        self.connected, self.last_error = False, reason
        self._checked = None

    def _receive(self, row: PolicyRow) -> None:
        if row.revision == self._seen:
            return
        self._seen = row.revision
        if self._apply(row, origin="database"):
            try:
                write_cache(self.cache_path, self.team_id, row)
            except (OSError, CompanionError) as exc:
                # The policy is in force all the same; only a later start without the database misses it.
                log.warning("could not keep the team policy in %s: %s", self.cache_path, exc)

    def _apply(self, row: PolicyRow, *, origin: TeamPolicyOrigin) -> bool:
        """Make `row` the snapshot; False (the policy held stays, with a problem) when it is not valid."""
        try:
            policy = policy_of(row.document)
        except PolicyInvalidError as exc:
            held = self._snapshot
            problem = Problem(
                code=PolicyInvalidError.code,
                message=(
                    f"The team policy revision {row.revision} (by {row.changed_by}) cannot be applied: "
                    f"{exc.message}. "
                    + (
                        f"Revision {held.revision}, the last one applied, stays in force."
                        if held.policy is not None
                        else "No team policy from the database is in force."
                    )
                ),
            )
            self._publish(
                TeamPolicySnapshot(
                    held.policy, held.revision, held.changed_by, held.changed_at, held.origin, (problem,)
                )
            )
            log.warning("%s", problem.message)
            return False
        self.applied_at = datetime.now(UTC)
        self._publish(TeamPolicySnapshot(policy, row.revision, row.changed_by, row.changed_at, origin))
        log.info("team policy revision %d (%s) in force, from the %s", row.revision, row.changed_by, origin)
        return True

    def _publish(self, snapshot: TeamPolicySnapshot) -> None:
        self._snapshot = snapshot
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()
        if self._on_change is not None:
            try:
                self._on_change(snapshot)
            except Exception:  # the listener's failure is its own; the policy is in force regardless
                log.exception("the team policy change callback failed")
