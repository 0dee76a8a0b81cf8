"""The database layer: location, pragmas, migrations, transactions, WAL readers."""

from __future__ import annotations

import asyncio
import contextlib
import os
import stat
from pathlib import Path

import pytest

from companion import paths
from companion.store import (
    Database,
    Migration,
    ReadOnlyViolationError,
    SchemaTooNewError,
    StoreError,
    open_database,
    read_only,
)
from companion.store.meta import get_meta, put_meta, set_meta
from companion.store.migrations import bundled_migrations, split_statements

PEOPLE = Migration(1, "people", "CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT NOT NULL);")
# Depends on 0001's table: only works when applied after it.
PETS = Migration(
    2,
    "pets",
    "CREATE TABLE pets (id INTEGER PRIMARY KEY, owner INTEGER NOT NULL REFERENCES people (id));\n"
    "INSERT INTO people (name) VALUES ('seeded by 0002');",
)
TAGS = Migration(3, "tags", "CREATE TABLE tags (name TEXT PRIMARY KEY);")


async def tables(db: Database) -> set[str]:
    rows = await db.fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")
    return {row["name"] for row in rows}


async def ledger(db: Database) -> list[tuple[int, str]]:
    rows = await db.fetchall("SELECT version, name FROM schema_migrations ORDER BY version")
    return [(row["version"], row["name"]) for row in rows]


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "companion.db"


async def test_default_database_lives_in_the_data_dir_readable_only_by_the_user() -> None:
    db = await open_database()
    try:
        assert db.path == paths.data_dir() / "companion.db"
        assert db.path.exists()
        if os.name == "posix":
            assert stat.S_IMODE(db.path.stat().st_mode) == 0o600
            assert stat.S_IMODE(db.path.parent.stat().st_mode) == 0o700
    finally:
        await db.close()


@pytest.mark.parametrize(
    ("pragma", "expected"),
    [("journal_mode", "wal"), ("synchronous", 1), ("foreign_keys", 1), ("busy_timeout", 5000)],
)
async def test_connection_pragmas_are_set_on_open(db_path: Path, pragma: str, expected: object) -> None:
    db = await open_database(db_path)
    try:
        row = await db.fetchone(f"PRAGMA {pragma}")
        assert row is not None
        assert row[0] == expected
    finally:
        await db.close()


async def test_foreign_keys_are_enforced(db_path: Path) -> None:
    db = await open_database(db_path, migrations=[PEOPLE, PETS])
    try:
        with pytest.raises(Exception, match="FOREIGN KEY"):
            async with db.transaction() as conn:
                await conn.execute("INSERT INTO pets (owner) VALUES (999)")
    finally:
        await db.close()


async def test_migrations_apply_in_order_and_only_once(db_path: Path) -> None:
    # Given out of order on purpose: 0002 fails unless 0001 ran first.
    db = await open_database(db_path, migrations=[TAGS, PETS, PEOPLE])
    assert await ledger(db) == [(1, "people"), (2, "pets"), (3, "tags")]
    await db.close()

    db = await open_database(db_path, migrations=[PEOPLE, PETS, TAGS])
    try:
        assert await ledger(db) == [(1, "people"), (2, "pets"), (3, "tags")]
        seeded = await db.fetchall("SELECT name FROM people")
        assert [row["name"] for row in seeded] == ["seeded by 0002"]
        assert await db.schema_version() == 3
    finally:
        await db.close()


async def test_a_new_migration_applies_on_the_next_open(db_path: Path) -> None:
    db = await open_database(db_path, migrations=[PEOPLE])
    await db.close()
    db = await open_database(db_path, migrations=[PEOPLE, PETS])
    try:
        assert await ledger(db) == [(1, "people"), (2, "pets")]
        assert {"people", "pets"} <= await tables(db)
    finally:
        await db.close()


async def test_database_newer_than_the_code_is_refused_and_left_unchanged(db_path: Path) -> None:
    db = await open_database(db_path, migrations=[PEOPLE, PETS, TAGS])
    await db.close()

    with pytest.raises(SchemaTooNewError, match="version 3") as raised:
        await open_database(db_path, migrations=[PEOPLE])
    assert raised.value.code == "store.schema_too_new"

    db = await open_database(db_path, migrations=[PEOPLE, PETS, TAGS])
    try:
        assert await ledger(db) == [(1, "people"), (2, "pets"), (3, "tags")]
    finally:
        await db.close()


async def test_a_failing_migration_leaves_no_trace(db_path: Path) -> None:
    broken = Migration(2, "broken", "CREATE TABLE half (x);\nINSERT INTO no_such_table VALUES (1);")
    with pytest.raises(StoreError, match="0002_broken"):
        await open_database(db_path, migrations=[PEOPLE, broken])

    db = await open_database(db_path, migrations=[PEOPLE])
    try:
        assert await ledger(db) == [(1, "people")]
        assert "half" not in await tables(db)
    finally:
        await db.close()


@pytest.mark.parametrize(
    "versions",
    [(1, 3), (2,), (1, 1), (0, 1)],
    ids=["gap", "not-starting-at-1", "repeated", "zero"],
)
async def test_badly_numbered_migrations_are_refused(db_path: Path, versions: tuple[int, ...]) -> None:
    migrations = [Migration(v, f"m{i}", f"CREATE TABLE t{i} (x);") for i, v in enumerate(versions)]
    with pytest.raises(StoreError, match="numbered"):
        await open_database(db_path, migrations=migrations)


async def test_bundled_migrations_create_the_meta_table() -> None:
    bundled = bundled_migrations()
    assert [m.version for m in bundled] == list(range(1, len(bundled) + 1))
    db = await open_database()
    try:
        assert await db.schema_version() == len(bundled)
        assert await get_meta(db, "created_at") is not None
        await set_meta(db, "greeting", "hello")
        await set_meta(db, "greeting", "hello again")
        assert await get_meta(db, "greeting") == "hello again"
        assert await get_meta(db, "absent") is None
    finally:
        await db.close()


NOT_SQLITE = b"this is not sqlite" * 100


@pytest.fixture
def garbage_file(db_path: Path) -> Path:
    db_path.write_bytes(NOT_SQLITE)
    return db_path


async def test_a_file_that_is_not_a_database_is_refused_untouched(garbage_file: Path) -> None:
    with pytest.raises(StoreError, match="cannot open"):
        await open_database(garbage_file)
    assert await asyncio.to_thread(garbage_file.read_bytes) == NOT_SQLITE


async def test_reader_is_not_blocked_by_a_writer_mid_transaction(db_path: Path) -> None:
    writer = await open_database(db_path, migrations=[PEOPLE])
    reader = await open_database(db_path, migrations=[PEOPLE])
    try:
        async with writer.transaction() as conn:
            await conn.execute("INSERT INTO people (name) VALUES ('uncommitted')")
            # The writer holds its write lock; a rollback-journal database would make this wait
            # busy_timeout (5 s) and fail. WAL answers at once with the last committed state.
            rows = await asyncio.wait_for(reader.fetchall("SELECT name FROM people"), timeout=1.0)
            assert rows == []
        rows = await reader.fetchall("SELECT name FROM people")
        assert [row["name"] for row in rows] == ["uncommitted"]
    finally:
        await reader.close()
        await writer.close()


async def test_transaction_rolls_back_when_its_body_raises(db_path: Path) -> None:
    db = await open_database(db_path, migrations=[PEOPLE])
    try:
        with pytest.raises(RuntimeError, match="boom"):
            async with db.transaction() as conn:
                await conn.execute("INSERT INTO people (name) VALUES ('lost')")
                raise RuntimeError("boom")
        assert await db.fetchall("SELECT * FROM people") == []
        assert not db.conn.in_transaction
    finally:
        await db.close()


async def test_writes_are_refused_inside_a_read_only_scope(db_path: Path) -> None:
    db = await open_database(db_path, migrations=[PEOPLE])
    try:
        with read_only("serving a GET"), pytest.raises(ReadOnlyViolationError, match="serving a GET"):
            async with db.transaction() as conn:
                await conn.execute("INSERT INTO people (name) VALUES ('sneaky')")
        assert await db.fetchall("SELECT * FROM people") == []
        async with db.transaction() as conn:  # outside the scope, writes work again
            await conn.execute("INSERT INTO people (name) VALUES ('fine')")
        assert len(await db.fetchall("SELECT * FROM people")) == 1
    finally:
        await db.close()


def test_split_statements_respects_strings_comments_and_triggers() -> None:
    script = """
    -- a comment; with a semicolon
    CREATE TABLE a (x TEXT DEFAULT 'semi;colon');
    CREATE TRIGGER t AFTER INSERT ON a BEGIN
        UPDATE a SET x = 'y;z' WHERE rowid = new.rowid;
    END;
    -- trailing comment
    """
    statements = split_statements(script)
    assert len(statements) == 2
    assert "semi;colon" in statements[0]
    assert statements[1].rstrip().endswith("END;")


def test_split_statements_refuses_an_unterminated_statement() -> None:
    with pytest.raises(StoreError, match="incomplete"):
        split_statements("CREATE TABLE a (x);\nCREATE TABLE b (y)")


async def test_a_writer_cancelled_anywhere_in_its_transaction_leaves_none_open(db: Database) -> None:
    async def write(value: str) -> None:
        async with db.transaction() as conn:
            await put_meta(conn, "cancel.probe", value)

    # Cancelled after 0, 1, 2, ... loop turns: inside BEGIN, the body, COMMIT, or after it.
    for turns in range(12):
        task = asyncio.create_task(write(f"cancelled {turns}"))
        for _ in range(turns):
            await asyncio.sleep(0)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await write(f"after {turns}")
        assert await get_meta(db, "cancel.probe") == f"after {turns}"
