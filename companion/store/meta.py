"""The `meta` table: small named facts about this database (when it was created, ...)."""

from __future__ import annotations

import aiosqlite

from companion.store.db import Database


async def get_meta(db: Database, key: str) -> str | None:
    row = await db.fetchone("SELECT value FROM meta WHERE key = ?", (key,))
    return None if row is None else str(row["value"])


async def set_meta(db: Database, key: str, value: str) -> None:
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )


async def put_meta(conn: aiosqlite.Connection, key: str, value: str) -> None:
    """set_meta inside the caller's transaction (with the writes the fact describes)."""
    await conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, value),
    )
