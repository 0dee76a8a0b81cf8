"""The companion's local SQLite database: opening, migrations, and the repositories built on it."""

from __future__ import annotations

from companion.errors import ReadOnlyViolationError, SchemaTooNewError, StoreError
from companion.store.db import Database, open_database, read_only
from companion.store.migrations import Migration

__all__ = [
    "Database",
    "Migration",
    "ReadOnlyViolationError",
    "SchemaTooNewError",
    "StoreError",
    "open_database",
    "read_only",
]
