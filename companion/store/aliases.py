"""Recruiter-confirmed company aliases in SQLite: "this name / domain / LinkedIn page is CATS company N".

One row per (kind, key): confirming a key again, to the same or another company, replaces the row. There
is no foreign key to `companies` (an alias may name a company the cache has not seen yet), so readers
ignore aliases to companies the cache does not hold, and the sync's change hook removes the aliases of
companies deleted from CATS (`forget_companies`). A name alias keeps the name it was confirmed for
(`raw_name`), so that a new normaliser re-keys it (`rekey_names`). The lookup and the push's choice
of a Contact's company read aliases through `CacheReader.confirmed_company`; every write is here.

In a team, aliases other members confirmed are replicated into the same table with who confirmed
them (`apply_team`), and this companion's own confirmations and undos wait in `team_alias_outbox`
until the team's database has them (companion.services.team_aliases).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict

from companion.store.companies import iso
from companion.store.db import Database
from companion.store.meta import put_meta

AliasKind = Literal["name", "domain", "linkedin"]
OutboxAction = Literal["confirm", "undo"]
_IN_CHUNK: Final = 500
#: What readers select of an alias, in alias_from_row's order.
ALIAS_COLUMNS: Final = "kind, key, company_id, confirmed_at, confirmed_by"


class Alias(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: AliasKind
    #: The normalised name, the registrable domain or the LinkedIn company slug.
    key: str
    company_id: int
    confirmed_at: datetime
    #: The team member (login role) who confirmed it; None: confirmed on this companion outside a team.
    confirmed_by: str | None = None


def alias_from_row(row: Sequence[object]) -> Alias:
    kind, key, company_id, confirmed_at, confirmed_by = row
    return Alias.model_validate(
        {
            "kind": kind,
            "key": key,
            "company_id": company_id,
            "confirmed_at": confirmed_at,
            "confirmed_by": confirmed_by,
        }
    )


@dataclass(frozen=True)
class OutboxEntry:
    """A confirmation or undo made here that the team's database does not have yet."""

    seq: int
    action: OutboxAction
    kind: AliasKind
    key: str
    company_id: int
    at: datetime


@dataclass(frozen=True)
class TeamAliasChange:
    """One alias as the team's log has it: confirmed by `confirmed_by`, or undone."""

    kind: AliasKind
    key: str
    company_id: int
    confirmed_by: str
    confirmed_at: datetime
    undone: bool


def _parse_at(text: str) -> datetime:
    return datetime.fromisoformat(text)


class AliasStore:
    """The company_aliases table of one database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def confirm(
        self,
        keys: Sequence[tuple[AliasKind, str]],
        company_id: int,
        *,
        confirmed_at: datetime,
        share: bool = False,
        raw_name: str | None = None,
    ) -> list[Alias]:
        """Point every (kind, key) at `company_id`, replacing what they pointed at, in one transaction.

        `raw_name`: the name as confirmed, which a "name" key was normalised from (kept for `rekey_names`).
        `share`: also queue the confirmations for the team (in the same transaction).
        """
        stamp = iso(confirmed_at)
        assert stamp is not None
        async with self.db.transaction() as conn:
            await conn.executemany(
                "INSERT INTO company_aliases (kind, key, company_id, confirmed_at, confirmed_by, raw_name)"
                " VALUES (?, ?, ?, ?, NULL, ?) ON CONFLICT (kind, key) DO UPDATE SET"
                " company_id = excluded.company_id, confirmed_at = excluded.confirmed_at,"
                " confirmed_by = NULL, raw_name = excluded.raw_name",
                [(kind, key, company_id, stamp, raw_name if kind == "name" else None) for kind, key in keys],
            )
            if share:
                await conn.executemany(
                    "INSERT INTO team_alias_outbox (action, kind, key, company_id, at)"
                    " VALUES ('confirm', ?, ?, ?, ?)",
                    [(kind, key, company_id, stamp) for kind, key in keys],
                )
        return [
            Alias(kind=kind, key=key, company_id=company_id, confirmed_at=datetime.fromisoformat(stamp))
            for kind, key in keys
        ]

    async def remove(
        self,
        keys: Sequence[tuple[AliasKind, str]],
        *,
        company_id: int | None = None,
        share_at: datetime | None = None,
    ) -> int:
        """Delete the aliases of these keys (only those pointing at `company_id`, when given); how many.

        `share_at`: also queue an undo of each removed alias for the team, made at that time.
        """
        removed = 0
        async with self.db.transaction() as conn:
            for kind, key in keys:
                cursor = await conn.execute(
                    "DELETE FROM company_aliases WHERE kind = ? AND key = ?"
                    " AND company_id = coalesce(?, company_id) RETURNING company_id",
                    (kind, key, company_id),
                )
                gone = [int(row[0]) for row in await cursor.fetchall()]
                removed += len(gone)
                if share_at is not None:
                    await conn.executemany(
                        "INSERT INTO team_alias_outbox (action, kind, key, company_id, at)"
                        " VALUES ('undo', ?, ?, ?, ?)",
                        [(kind, key, gone_id, iso(share_at)) for gone_id in gone],
                    )
        return removed

    async def rekey_names(self, key: Callable[[str], str]) -> int:
        """Recompute every "name" alias's key with a new normaliser `key`; how many rows changed.

        An alias with its confirmed name (`raw_name`) is keyed `key(raw_name)`: exactly what a lookup
        of that name now asks for. One without it (saved before the name was kept, or replicated from
        a team, whose database carries keys only) is re-derived as `key(old key)`. We chose this over
        keeping the old key as a second lookup key because no query is normalised the old way any
        more: the old key would never be asked for, while the re-derived one is. An old key is the
        old normaliser's output (case-folded ASCII words, no punctuation, no legal form), so a newer
        normaliser that strips more words ("holdings", "group", "the", a trailing country) re-derives
        the same key as from the name; what it recognised by punctuation (a "/DE/" tag, a tagline
        after " - ") was already flattened into words, and such an alias keeps matching only names
        spelt like its old key (the limit of aliases without their name).

        When two aliases come to share a key, the newer confirmation gets it, as if confirmed again;
        the older keeps its old key (unless the newer one held that key too, and so replaced it).
        Queued team confirmations and undos of names are re-keyed too, so the team gets today's keys.
        One transaction: all or nothing.
        """
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                f"SELECT {ALIAS_COLUMNS}, raw_name FROM company_aliases WHERE kind = 'name'"  # noqa: S608
                " ORDER BY confirmed_at DESC, key"
            )
            rows = [tuple(row) for row in await cursor.fetchall()]
            final: dict[str, tuple[object, ...]] = {}
            later: list[tuple[object, ...]] = []
            for row in rows:
                old, raw = str(row[1]), row[5]
                fresh = key(str(raw)) if raw is not None else key(old)
                # A name without letters or digits has no key: keep the old one.
                target = fresh or old
                if target in final:
                    later.append(row)
                else:
                    final[target] = row
            for row in later:
                # The newest confirmation took this row's fresh key; its old key is free unless taken.
                final.setdefault(str(row[1]), row)
            kept = {(str(row[1]), target) for target, row in final.items()}
            changed = len(rows) - sum(1 for old, target in kept if old == target)
            if changed:
                await conn.execute("DELETE FROM company_aliases WHERE kind = 'name'")
                await conn.executemany(
                    "INSERT INTO company_aliases"
                    " (kind, key, company_id, confirmed_at, confirmed_by, raw_name)"
                    " VALUES ('name', ?, ?, ?, ?, ?)",
                    [(target, row[2], row[3], row[4], row[5]) for target, row in final.items()],
                )
            cursor = await conn.execute("SELECT seq, key FROM team_alias_outbox WHERE kind = 'name'")
            queued = [(int(r[0]), str(r[1])) for r in await cursor.fetchall()]
            await conn.executemany(
                "UPDATE team_alias_outbox SET key = ? WHERE seq = ?",
                [(fresh, seq) for seq, old in queued if (fresh := key(old)) and fresh != old],
            )
        return changed

    async def forget_companies(self, company_ids: Sequence[int]) -> int:
        """Delete every alias to these companies (deleted from CATS); how many."""
        ids = list(company_ids)
        removed = 0
        if not ids:
            return 0
        async with self.db.transaction() as conn:
            for start in range(0, len(ids), _IN_CHUNK):
                chunk = ids[start : start + _IN_CHUNK]
                cursor = await conn.execute(
                    f"DELETE FROM company_aliases WHERE company_id IN ({', '.join('?' * len(chunk))})",  # noqa: S608
                    chunk,
                )
                removed += cursor.rowcount
        return removed

    async def for_company(self, company_id: int) -> list[Alias]:
        rows = await self.db.fetchall(
            f"SELECT {ALIAS_COLUMNS} FROM company_aliases WHERE company_id = ? ORDER BY kind, key",  # noqa: S608
            (company_id,),
        )
        return [alias_from_row(tuple(row)) for row in rows]

    # --- the team -----------------------------------------------------------------------------------

    async def outbox(self, limit: int = 100) -> list[OutboxEntry]:
        """The oldest confirmations and undos the team does not have yet, in the order they were made."""
        rows = await self.db.fetchall(
            "SELECT seq, action, kind, key, company_id, at FROM team_alias_outbox ORDER BY seq LIMIT ?",
            (limit,),
        )
        return [OutboxEntry(int(r[0]), r[1], r[2], str(r[3]), int(r[4]), _parse_at(r[5])) for r in rows]

    async def outbox_size(self) -> int:
        row = await self.db.fetchone("SELECT count(*) FROM team_alias_outbox")
        return 0 if row is None else int(row[0])

    async def sent(self, seq: int) -> None:
        """The team's database has outbox entry `seq` (or refused it for good): drop it."""
        async with self.db.transaction() as conn:
            await conn.execute("DELETE FROM team_alias_outbox WHERE seq = ?", (seq,))

    async def apply_team(self, changes: Sequence[TeamAliasChange], *, position: tuple[str, str]) -> None:
        """Apply the team's alias changes in one transaction with `position` (a `meta` key and value).

        A key with a confirmation or undo of this companion still queued is left alone: that one is
        newer than anything the team had when it was made, and the team's answer to it comes back
        as a later change.
        """
        async with self.db.transaction() as conn:
            cursor = await conn.execute("SELECT DISTINCT kind, key FROM team_alias_outbox")
            queued = {(str(r[0]), str(r[1])) for r in await cursor.fetchall()}
            for change in changes:
                if (change.kind, change.key) in queued:
                    continue
                if change.undone:
                    await conn.execute(
                        "DELETE FROM company_aliases WHERE kind = ? AND key = ? AND company_id = ?",
                        (change.kind, change.key, change.company_id),
                    )
                else:
                    await conn.execute(
                        "INSERT INTO company_aliases (kind, key, company_id, confirmed_at, confirmed_by)"
                        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (kind, key) DO UPDATE SET"
                        " company_id = excluded.company_id, confirmed_at = excluded.confirmed_at,"
                        " confirmed_by = excluded.confirmed_by,"
                        # The team carries no name: keep ours when it is our confirmation coming back.
                        " raw_name = CASE WHEN company_aliases.company_id = excluded.company_id"
                        " THEN company_aliases.raw_name END",
                        (
                            change.kind,
                            change.key,
                            change.company_id,
                            iso(change.confirmed_at),
                            change.confirmed_by,
                        ),
                    )
            await put_meta(conn, *position)
