"""What each error says about the CATS connection, as GET /api/status will show it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from companion.errors import (
    CatsAuthError,
    CatsBadResponseError,
    CatsForbiddenError,
    CatsNetworkError,
    CatsRateLimitedError,
    CatsUnavailableError,
    CompanionError,
    KeyMissingError,
    KeyringUnavailableError,
)
from companion.services.connection import CatsState, ConnectionMonitor

NOON = datetime(2026, 1, 2, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("error", "state"),
    [
        (KeyMissingError("no key"), "not_configured"),
        (KeyringUnavailableError("locked"), "not_configured"),
        (CatsAuthError("refused", status=401), "bad_key"),
        (CatsForbiddenError("read-only user", status=403), "bad_key"),
        (CatsNetworkError("connection refused"), "unreachable"),
        (CatsUnavailableError("503", status=503), "unreachable"),
        (CatsRateLimitedError("slow down", retry_after=30), "unknown"),
        (CatsBadResponseError("not JSON", status=200), "unknown"),
    ],
)
def test_an_error_sets_the_state_it_reveals(error: CompanionError, state: CatsState) -> None:
    monitor = ConnectionMonitor(clock=lambda: NOON)
    monitor.record_error(error)
    assert monitor.status.state == state
    assert monitor.status.detail == f"{error.code}: {error.message}"
    assert monitor.status.checked_at == NOON


def test_nothing_is_known_before_the_first_report_and_the_latest_report_wins() -> None:
    monitor = ConnectionMonitor(clock=lambda: NOON)
    assert (monitor.status.state, monitor.status.checked_at) == ("unknown", None)
    monitor.record_error(CatsNetworkError("offline"))
    monitor.record_connected("connected to the CATS site 'acme'")
    assert monitor.status.state == "connected"
    assert monitor.status.detail == "connected to the CATS site 'acme'"


def test_a_connection_names_its_site_and_a_later_success_keeps_it() -> None:
    monitor = ConnectionMonitor()
    monitor.record_connected("connected to the CATS site 'acme'", site="acme")
    assert monitor.status.site == "acme"
    monitor.record_connected("CATS answered the company sync")
    assert monitor.status.site == "acme"
    monitor.record_not_configured("disconnected")
    assert monitor.status.site is None
