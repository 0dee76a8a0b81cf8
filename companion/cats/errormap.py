"""What a failed exchange with CATS means, in the terms of companion.errors.

Messages name the method, the path (never the query string, which can hold a person's name or
email) and CATS's own `message`; they never carry request headers, so never the API key.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Final

import aiohttp

from companion.cats.record_urls import id_from_location
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

#: Keys of an error body besides `message` that explain a validation failure.
_DETAIL_KEYS: Final = ("detail", "details", "errors", "error", "fields")
_MAX_DETAIL_CHARS: Final = 300


def cats_message(body: object) -> str | None:
    """CATS's human-readable reason from an error body (`{"message": ...}`, sometimes `{"error": ...}`)."""
    if not isinstance(body, dict):
        return None
    for key in ("message", "error"):
        value = body.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def cats_detail(body: object) -> str | None:
    """Extra explanation next to `message` (which field, which values), compacted to one line."""
    if not isinstance(body, dict):
        return None
    parts: list[str] = []
    for key in _DETAIL_KEYS:
        value = body.get(key)
        if value in (None, "", [], {}) or (key == "error" and "message" not in body):
            continue
        parts.append(value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))
    if not parts:
        return None
    text = "; ".join(parts)
    return text if len(text) <= _MAX_DETAIL_CHARS else text[: _MAX_DETAIL_CHARS - 1] + "…"


def retry_after_seconds(headers: Mapping[str, str], now: float) -> float | None:
    """Retry-After as seconds from `now`: either delta-seconds or an HTTP date."""
    raw = headers.get("Retry-After")
    if raw is None or not raw.strip():
        return None
    raw = raw.strip()
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - datetime.fromtimestamp(now, UTC).timestamp())


def _looks_duplicate(message: str | None) -> bool:
    return message is not None and "duplicate" in message.lower()


def error_for_status(
    status: int,
    body: object,
    headers: Mapping[str, str],
    *,
    method: str,
    path: str,
    check_duplicate: bool = False,
    retry_after: float | None = None,
) -> CatsError:
    """The error for a non-success answer. `body` is the parsed JSON, or None when it was not JSON."""
    where = f"{method} {path}"
    message = cats_message(body)
    said = f": {message}" if message else ""
    if check_duplicate and (status == 409 or (status in (400, 422) and _looks_duplicate(message))):
        existing = id_from_location(headers.get("Location"))
        return CatsDuplicateError(
            message or "CATS already holds a matching record",
            status=status,
            existing_id=existing,
        )
    if status == 401:
        return CatsAuthError(f"CATS refused the API key (401){said}", status=status)
    if status == 403:
        return CatsForbiddenError(f"the API key's user may not {where} (403){said}", status=status)
    if status == 404:
        return CatsNotFoundError(f"CATS has nothing at {path} (404)", status=status)
    if status in (400, 409, 422):
        # Keep CATS's words first: the extension shows them to the recruiter as the reason.
        text = message or f"CATS refused {where} ({status})"
        detail = cats_detail(body)
        return CatsValidationError(f"{text} ({detail})" if detail else text, status=status)
    if status == 429:
        wait = retry_after if retry_after is not None else 0.0
        return CatsRateLimitedError(
            f"CATS is rate limiting us; retry in {wait:.0f} s", retry_after=wait, status=status
        )
    if 500 <= status <= 599:
        # 5xx bodies are often HTML error pages: only a JSON message is worth repeating.
        return CatsUnavailableError(f"CATS failed on {where} ({status}){said}", status=status)
    return CatsBadResponseError(f"CATS answered {where} with an unexpected {status}{said}", status=status)


def error_for_uncertain_create(status: int | None, *, method: str, path: str, reason: str) -> CatsError:
    return CatsUncertainWriteError(
        f"{method} {path} was sent but {reason}; whether CATS created the record is unknown, "
        "so look it up before sending it again",
        status=status,
    )


def error_for_transport(exc: BaseException, *, method: str, path: str, creates: bool) -> CatsError:
    """The error for a request that got no (complete) answer.

    `creates` marks a POST whose effect may already have happened once the request left us.
    """
    where = f"{method} {path}"
    # Order matters: the connector errors are subclasses of the generic OS and timeout errors.
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return CatsNetworkError(f"could not resolve the CATS host for {where}")
    if isinstance(exc, aiohttp.ClientConnectorError):
        reason = exc.strerror or type(exc.os_error).__name__
        return CatsNetworkError(f"could not connect to CATS for {where}: {reason}")
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        # Nothing was sent: even a create is certain not to have happened.
        return CatsNetworkError(f"timed out connecting to CATS for {where}")
    if isinstance(exc, asyncio.TimeoutError):
        if creates:
            return error_for_uncertain_create(
                None, method=method, path=path, reason="CATS did not answer in time"
            )
        return CatsUnavailableError(f"CATS did not answer {where} in time")
    if isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientOSError | aiohttp.ClientPayloadError):
        if creates:
            return error_for_uncertain_create(None, method=method, path=path, reason="the connection broke")
        return CatsUnavailableError(f"the connection to CATS broke during {where}")
    if isinstance(exc, aiohttp.InvalidURL):
        return CatsNetworkError(f"the CATS address is not a valid URL ({where})")
    if isinstance(exc, aiohttp.ClientError | OSError):
        if creates:
            return error_for_uncertain_create(
                None, method=method, path=path, reason=f"the request failed ({type(exc).__name__})"
            )
        return CatsNetworkError(f"{where} failed: {type(exc).__name__}")
    raise TypeError(f"not a transport failure: {type(exc).__name__}")
