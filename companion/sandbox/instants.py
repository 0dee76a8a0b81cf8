"""RFC 3339 instants as the sandbox writes them (UTC, `+00:00`, whole seconds) and reads them (any offset)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def format_instant(moment: datetime) -> str:
    """`2025-05-01T12:00:00+00:00`: the form CATS uses on most endpoints.

    One fixed width and offset, so stored strings also sort in time order.
    """
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0).isoformat()


def parse_instant(text: str) -> datetime:
    """Parse an RFC 3339 datetime with any offset (`Z`, `+00:00`, `-05:00`) into an aware UTC datetime.

    A date alone means midnight UTC and a missing offset means UTC: lenient on purpose, since
    filters are compared as instants and CATS itself mixes offsets. Raises ValueError otherwise.
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError("not a date")
    moment = datetime.fromisoformat(text.strip())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def parse_date_only(text: str) -> date:
    """A `YYYY-MM-DD` calendar date (date_available, date custom fields); ValueError otherwise."""
    if not _DATE_ONLY.match(text):
        raise ValueError("expected a date as YYYY-MM-DD")
    return date.fromisoformat(text)
