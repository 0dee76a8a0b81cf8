"""Recruiter-confirmed company aliases in SQLite: "this name / domain / LinkedIn page is CATS company N".

One row per (kind, key): confirming a key again, to the same or another company, replaces the row. There
is no foreign key to `companies` (an alias may name a company the cache has not seen yet), so readers
ignore aliases to companies the cache does not hold, and the sync's change hook removes the aliases of
companies deleted from CATS (`forget_companies`). The lookup and the push's choice of a Contact's
company read aliases through `CacheReader.confirmed_company`; every write is here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict

from companion.store.companies import iso
from companion.store.db import Database

AliasKind = Literal["name", "domain", "linkedin"]
_IN_CHUNK: Final = 500


class Alias(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: AliasKind
    #: The normalised name, the registrable domain or the LinkedIn company slug.
    key: str
    company_id: int
    confirmed_at: datetime


def alias_from_row(row: Sequence[object]) -> Alias:
    kind, key, company_id, confirmed_at = row
    return Alias.model_validate(
        {"kind": kind, "key": key, "company_id": company_id, "confirmed_at": confirmed_at}
    )


class AliasStore:
    """The company_aliases table of one database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def confirm(
        self, keys: Sequence[tuple[AliasKind, str]], company_id: int, *, confirmed_at: datetime
    ) -> list[Alias]:
        """Point every (kind, key) at `company_id`, replacing what they pointed at, in one transaction."""
        stamp = iso(confirmed_at)
        assert stamp is not None
        async with self.db.transaction() as conn:
            await conn.executemany(
                "INSERT INTO company_aliases (kind, key, company_id, confirmed_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (kind, key) DO UPDATE SET"
                " company_id = excluded.company_id, confirmed_at = excluded.confirmed_at",
                [(kind, key, company_id, stamp) for kind, key in keys],
            )
        return [
            Alias(kind=kind, key=key, company_id=company_id, confirmed_at=datetime.fromisoformat(stamp))
            for kind, key in keys
        ]

    async def remove(self, keys: Sequence[tuple[AliasKind, str]], *, company_id: int | None = None) -> int:
        """Delete the aliases of these keys (only those pointing at `company_id`, when given); how many."""
        removed = 0
        async with self.db.transaction() as conn:
            for kind, key in keys:
                if company_id is None:
                    cursor = await conn.execute(
                        "DELETE FROM company_aliases WHERE kind = ? AND key = ?", (kind, key)
                    )
                else:
                    cursor = await conn.execute(
                        "DELETE FROM company_aliases WHERE kind = ? AND key = ? AND company_id = ?",
                        (kind, key, company_id),
                    )
                removed += cursor.rowcount
        return removed

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
            "SELECT kind, key, company_id, confirmed_at FROM company_aliases WHERE company_id = ?"
            " ORDER BY kind, key",
            (company_id,),
        )
        return [alias_from_row(tuple(row)) for row in rows]
