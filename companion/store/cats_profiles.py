"""The `cats_profiles` table: each CATS account's probed profile, read by the client's set-up."""

from __future__ import annotations

from datetime import UTC, datetime

from companion.cats.profile import AccountProfile
from companion.store.db import Database


async def load_profile(db: Database, base_url: str) -> AccountProfile | None:
    """The stored profile of the account at `base_url`, or None when it was never probed."""
    row = await db.fetchone("SELECT answers FROM cats_profiles WHERE base_url = ?", (base_url,))
    return None if row is None else AccountProfile.model_validate_json(str(row["answers"]))


async def save_profile(
    db: Database, base_url: str, profile: AccountProfile, *, requests: int, write_probes: bool
) -> AccountProfile:
    """Store `profile` over the older one (whose answers it lacks are kept); returns what was stored."""
    async with db.transaction() as conn:
        cursor = await conn.execute("SELECT answers FROM cats_profiles WHERE base_url = ?", (base_url,))
        row = await cursor.fetchone()
        older = None if row is None else AccountProfile.model_validate_json(str(row[0]))
        merged = profile.merged_over(older)
        await conn.execute(
            "INSERT INTO cats_profiles (base_url, answers, requests, write_probes, probed_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (base_url) DO UPDATE SET answers = excluded.answers,"
            " requests = excluded.requests, write_probes = excluded.write_probes,"
            " probed_at = excluded.probed_at",
            (base_url, merged.model_dump_json(), requests, int(write_probes), datetime.now(UTC).isoformat()),
        )
    return merged
