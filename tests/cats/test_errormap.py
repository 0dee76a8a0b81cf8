"""Mapping CATS's answers and transport failures to the project's error hierarchy."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime

import aiohttp
import pytest

from companion.cats.errormap import error_for_status, error_for_transport, retry_after_seconds
from companion.errors import (
    CatsAuthError,
    CatsBadResponseError,
    CatsDuplicateError,
    CatsError,
    CatsForbiddenError,
    CatsNetworkError,
    CatsNotFoundError,
    CatsRateLimitedError,
    CatsUnavailableError,
    CatsUncertainWriteError,
    CatsValidationError,
)


def status_error(status: int, body: object = None, **kwargs: object) -> CatsError:
    headers = kwargs.pop("headers", {})
    return error_for_status(status, body, headers, method="POST", path="/candidates", **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("status", "kind", "code"),
    [
        (401, CatsAuthError, "cats.bad_key"),
        (403, CatsForbiddenError, "cats.forbidden"),
        (404, CatsNotFoundError, "cats.not_found"),
        (400, CatsValidationError, "cats.validation"),
        (422, CatsValidationError, "cats.validation"),
        (409, CatsValidationError, "cats.validation"),
        (429, CatsRateLimitedError, "cats.rate_limited"),
        (500, CatsUnavailableError, "cats.unavailable"),
        (503, CatsUnavailableError, "cats.unavailable"),
        (415, CatsBadResponseError, "cats.bad_response"),
        (302, CatsBadResponseError, "cats.bad_response"),
    ],
)
def test_each_status_has_its_error_and_stable_code(status: int, kind: type[CatsError], code: str) -> None:
    error = status_error(status, {"message": "whatever"})
    assert type(error) is kind
    assert error.code == code
    assert error.status == status


def test_validation_keeps_cats_message_and_detail() -> None:
    error = status_error(
        400, {"message": "Validation failed.", "errors": {"type": "must be one of email, other"}}
    )
    assert isinstance(error, CatsValidationError)
    assert error.message.startswith("Validation failed.")
    assert "must be one of email, other" in error.message


@pytest.mark.parametrize(
    ("status", "message"),
    [(409, "Duplicate record found."), (400, "A duplicate candidate exists"), (422, "DUPLICATE")],
)
def test_duplicate_answers_to_a_checked_create_carry_the_existing_id(status: int, message: str) -> None:
    error = status_error(
        status,
        {"message": message},
        headers={"Location": "https://api.catsone.com/v3/candidates/700123"},
        check_duplicate=True,
    )
    assert isinstance(error, CatsDuplicateError)
    assert error.existing_id == 700123
    assert error.message == message


def test_a_duplicate_without_location_has_no_existing_id() -> None:
    error = status_error(409, {"message": "Duplicate record found."}, check_duplicate=True)
    assert isinstance(error, CatsDuplicateError)
    assert error.existing_id is None


def test_a_plain_validation_failure_on_a_checked_create_is_not_a_duplicate() -> None:
    error = status_error(400, {"message": "first_name is required"}, check_duplicate=True)
    assert type(error) is CatsValidationError


def test_an_html_error_page_is_not_repeated_in_the_message() -> None:
    error = status_error(500, None)
    assert isinstance(error, CatsUnavailableError)
    assert "<" not in error.message


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2025, 5, 1, 12, 0, tzinfo=UTC).timestamp()
    assert retry_after_seconds({"Retry-After": "120"}, now) == 120
    later = format_datetime(datetime(2025, 5, 1, 12, 1, 30, tzinfo=UTC), usegmt=True)
    assert retry_after_seconds({"Retry-After": later}, now) == pytest.approx(90)
    assert retry_after_seconds({"Retry-After": "soon"}, now) is None
    assert retry_after_seconds({}, now) is None


def connector_error(error: OSError) -> aiohttp.ClientConnectorError:
    key = aiohttp.client_reqrep.ConnectionKey("127.0.0.1", 9, False, True, None, None, None)
    return aiohttp.ClientConnectorError(key, error)


@pytest.mark.parametrize(
    ("exc", "creates", "kind"),
    [
        (connector_error(ConnectionRefusedError(111, "Connection refused")), True, CatsNetworkError),
        (connector_error(ConnectionRefusedError(111, "Connection refused")), False, CatsNetworkError),
        (aiohttp.ConnectionTimeoutError("connect"), True, CatsNetworkError),
        (TimeoutError(), False, CatsUnavailableError),
        (TimeoutError(), True, CatsUncertainWriteError),
        (aiohttp.ServerDisconnectedError(), False, CatsUnavailableError),
        (aiohttp.ServerDisconnectedError(), True, CatsUncertainWriteError),
        (aiohttp.ClientOSError(104, "Connection reset by peer"), True, CatsUncertainWriteError),
        (aiohttp.ClientPayloadError("truncated"), False, CatsUnavailableError),
    ],
)
def test_transport_failures_map_by_whether_a_write_may_have_happened(
    exc: BaseException, creates: bool, kind: type[CatsError]
) -> None:
    error = error_for_transport(exc, method="POST" if creates else "GET", path="/candidates", creates=creates)
    assert type(error) is kind
