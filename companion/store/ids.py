"""Ids the local database can hold: positive integers up to SQLite's 64-bit limit.

Request models bound every id they take with `le=MAX_ROW_ID`: a larger integer can name no row,
and sqlite3 refuses to even bind it (OverflowError), so it is refused as invalid input instead.
"""

from __future__ import annotations

from typing import Final

#: The largest INTEGER SQLite stores (and the largest value sqlite3 will bind as a parameter).
MAX_ROW_ID: Final = 2**63 - 1
