"""The CATS API v3 client: one request path (auth, budget, retries, error mapping) and thin methods on it."""

from __future__ import annotations

import contextlib
import json
import logging
import re
import time
from collections.abc import AsyncIterator, Callable, Collection, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any, Final, Self, TypeVar

import aiohttp
from multidict import CIMultiDict, CIMultiDictProxy
from pydantic import BaseModel, ConfigDict, ValidationError
from yarl import URL

from companion.cats.budget import BudgetSnapshot, Priority, RateBudget
from companion.cats.errormap import (
    error_for_status,
    error_for_transport,
    error_for_uncertain_create,
    retry_after_seconds,
)
from companion.cats.models import CustomFieldDefinition, SiteRead, UserRead, WriteModel
from companion.cats.pages import (
    PER_PAGE,
    EventPage,
    Page,
    Params,
    embedded_key,
    parse_event_page,
    parse_page,
    walk_pages,
)
from companion.cats.record_urls import id_from_location, parse_id, resolve_href
from companion.cats.retry import RetryPolicy, is_safe_to_repeat
from companion.errors import CatsBadResponseError, CatsDuplicateError, CatsUnavailableError
from companion.secret import ApiKey

logger = logging.getLogger("companion.cats")

DEFAULT_TIMEOUT: Final = 20.0
#: Path segments the client builds URLs from; anything else could walk out of the API root.
_RESOURCE: Final = re.compile(r"^[a-z][a-z_]*$")
#: What `create_record` may create (activities hang off a record: `create_activity`).
_RECORD_RESOURCES: Final = frozenset({"candidates", "contacts", "companies", "jobs"})
_ACTIVITY_PARENTS: Final = frozenset({"candidates", "contacts", "companies"})
_FIELD_RESOURCES: Final = frozenset({"candidates", "contacts", "companies", "jobs"})
#: A body that is there but is not JSON.
_UNREADABLE: Final = object()

M = TypeVar("M", bound=BaseModel)


class RequestCount:
    """HTTP requests sent to CATS (every attempt, retries too) inside one `counting_requests()` block."""

    def __init__(self) -> None:
        self.sent = 0


_COUNTING: ContextVar[RequestCount | None] = ContextVar("cats_request_count", default=None)


@contextlib.contextmanager
def counting_requests() -> Iterator[RequestCount]:
    """Count the requests this task (and what it awaits) sends inside the block; others are not counted."""
    count = RequestCount()
    token = _COUNTING.set(count)
    try:
        yield count
    finally:
        _COUNTING.reset(token)


@dataclass(frozen=True)
class CatsResponse:
    """A successful answer: status, headers and the parsed JSON body (None when the body was empty)."""

    status: int
    headers: CIMultiDictProxy[str]
    body: Any


class ConnectionInfo(BaseModel):
    """What `check_connection` learnt: the key works, for which CATS site, and the budget it left."""

    model_config = ConfigDict(frozen=True)

    base_url: str
    site_id: int | None
    subdomain: str | None
    mode: str | None
    budget: BudgetSnapshot


Body = WriteModel | Mapping[str, Any]


def _body_json(body: Body) -> dict[str, Any]:
    if isinstance(body, BaseModel):
        return body.to_body()
    return dict(body)


def _resource(name: str, allowed: Collection[str] | None = None) -> str:
    if not _RESOURCE.fullmatch(name) or (allowed is not None and name not in allowed):
        raise ValueError(f"not a CATS resource here: {name!r}")
    return name


def _record_id(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"not a CATS record id: {value!r}")
    return value


class CatsClient:
    """Talks to one CATS account. Every request goes through `request()`.

    Use as `async with CatsClient(base_url, key) as client:`; a session passed in stays the
    caller's to close. `base_url` is the API root, e.g. `https://api.catsone.com/v3`.
    """

    def __init__(
        self,
        base_url: str,
        key: ApiKey,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        budget: RateBudget | None = None,
        retry: RetryPolicy | None = None,
        session: aiohttp.ClientSession | None = None,
        auth_scheme: str = "Token",
    ) -> None:
        if not isinstance(key, ApiKey):
            # A bare str would be printable everywhere the client is; insist on the wrapper.
            raise TypeError("the API key must be a companion.secret.ApiKey")
        base = URL(base_url.rstrip("/"))
        if base.scheme not in ("http", "https") or not base.host:
            raise ValueError(f"the CATS address must be an http(s) URL, not {base_url!r}")
        if base.query_string or base.fragment:
            raise ValueError("the CATS address must not carry a query or fragment")
        if timeout <= 0:
            raise ValueError("the timeout must be positive")
        if auth_scheme not in ("Token", "Bearer"):
            raise ValueError("the authorization scheme is Token or Bearer")
        self._base = base
        self._scheme = auth_scheme
        #: Records asked for per page; the account profile lowers it where CATS caps pages lower.
        self.per_page = PER_PAGE
        self._key = key
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self.budget = budget or RateBudget()
        self._retry = retry or RetryPolicy()
        self._session = session
        self._owns_session = session is None
        #: CATS's clock as the `Date` header of the last answer showed it (whole seconds); None until an
        #: answer carried one. Stamped before that answer arrived, so a request sent afterwards is
        #: carried out at this time or later: the company sync judges what is settled by it, never by
        #: this machine's clock.
        self.server_time: datetime | None = None
        #: Called after every answer CATS gave as the caller expected (a sync page, a push, a note):
        #: proof that CATS answers this key now, which the connection light shows. Never raises into
        #: the request: the owner's callback must not fail.
        self.on_answer: Callable[[], None] | None = None

    def __repr__(self) -> str:
        return f"CatsClient({str(self._base)!r})"

    def sibling(self, *, auth_scheme: str) -> CatsClient:
        """A client of the same account and key sending another authorization scheme (the probe's
        Bearer check); its own session and budget, so what it sees teaches this client nothing."""
        return CatsClient(
            str(self._base),
            self._key,
            timeout=self._timeout.total or DEFAULT_TIMEOUT,
            auth_scheme=auth_scheme,
        )

    @property
    def base_url(self) -> str:
        return str(self._base)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            session = aiohttp.ClientSession()
            # aiohttp quietly re-sends an idempotent request once when its connection drops. Here
            # every send must pass the budget and the retry policy (and a DELETE must know it was
            # repeated), so the client's own session leaves retrying to `request()`. aiohttp has no
            # public switch; its test client turns the same attribute off.
            if hasattr(session, "_retry_connection"):
                session._retry_connection = False
            self._session = session
        return self._session

    # --- the one request path ------------------------------------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Mapping[str, Any] | None = None,
        priority: Priority = Priority.INTERACTIVE,
        expect: Collection[int] = (200,),
        check_duplicate: bool = False,
        wait: bool = True,
        retries: bool = True,
    ) -> CatsResponse:
        """Send one logical request (retried within the policy when that is safe) and return the answer.

        `path` is under the API root (`/companies/9001`). Raises a `CatsError` subclass on any failure;
        `wait=False` raises instead of waiting for the budget or a Retry-After.
        """
        method = method.upper()
        if not path.startswith("/") or "://" in path:
            raise ValueError(f"a CATS path starts with '/': {path!r}")
        creates = not is_safe_to_repeat(method, path)
        run = self._retry.start()
        next_wait: float | None = None
        # Set once an attempt may have been carried out without our hearing the answer.
        maybe_done = False
        while True:
            await self.budget.acquire(priority, wait=wait, max_wait=next_wait)
            next_wait = None
            try:
                response = await self._send(method, path, params, json_body, creates=creates)
            except CatsUnavailableError:
                # Timeouts and broken connections of requests that are safe to repeat.
                delay = run.next_delay() if retries else None
                if delay is None:
                    raise
                maybe_done = True
                logger.info("retrying %s %s in %.1f s", method, path, delay)
                await self.budget.clock.sleep(delay)
                continue
            status = response.status
            if status == 429:
                retry_after = retry_after_seconds(response.headers, self.budget.clock.now())
                self.budget.block(retry_after or 0.0)
                # CATS refuses before doing anything, so even a create may be sent again.
                delay = run.next_delay(retry_after) if retries and wait else None
                if delay is None:
                    raise error_for_status(
                        429,
                        response.body,
                        response.headers,
                        method=method,
                        path=path,
                        retry_after=retry_after,
                    )
                logger.info("CATS asked us to wait; retrying %s %s in %.1f s", method, path, delay)
                if retry_after is None:
                    await self.budget.clock.sleep(delay)
                else:
                    # The budget already holds every request back until Retry-After has passed.
                    next_wait = max(self.budget.max_wait, delay)
                continue
            if 500 <= status <= 599 and not creates and retries:
                delay = run.next_delay()
                if delay is not None:
                    maybe_done = True
                    logger.info("CATS failed (%d); retrying %s %s in %.1f s", status, method, path, delay)
                    await self.budget.clock.sleep(delay)
                    continue
            if status == 404 and method == "DELETE" and maybe_done:
                # An earlier attempt that we never heard back from already deleted it.
                return response
            if status in expect:
                if response.body is _UNREADABLE:
                    raise CatsBadResponseError(f"CATS's answer to {method} {path} is not JSON", status=status)
                if self.on_answer is not None:
                    self.on_answer()
                return response
            if creates and 500 <= status <= 599 and status != 503:
                # A server error may come after the record was stored; only 503 says "not processed".
                raise error_for_uncertain_create(
                    status, method=method, path=path, reason=f"CATS answered {status}"
                )
            body = None if response.body is _UNREADABLE else response.body
            raise error_for_status(
                status, body, response.headers, method=method, path=path, check_duplicate=check_duplicate
            )

    async def _send(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None,
        json_body: Mapping[str, Any] | None,
        *,
        creates: bool,
    ) -> CatsResponse:
        url = self._base.with_path(self._base.path.rstrip("/") + path, encoded=False)
        # The only place the key is revealed; these headers never reach a log or an error message.
        headers = {"Authorization": f"{self._scheme} {self._key.reveal()}", "Accept": "application/json"}
        data: bytes | None = None
        if json_body is not None:
            data = json.dumps(json_body, ensure_ascii=False).encode()
            headers["Content-Type"] = "application/json"
        started = time.monotonic()
        count = _COUNTING.get()
        if count is not None:
            count.sent += 1
        try:
            async with self._http().request(
                method,
                url,
                params=dict(params) if params else None,
                data=data,
                headers=headers,
                timeout=self._timeout,
                allow_redirects=False,
            ) as answer:
                status = answer.status
                answer_headers = CIMultiDictProxy(CIMultiDict(answer.headers))
                try:
                    raw = await answer.read()
                except (TimeoutError, aiohttp.ClientError):
                    # A create whose 2xx and Location arrived has certainly happened; only its body is lost.
                    if not (creates and status < 300 and "Location" in answer_headers):
                        raise
                    raw = b""
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            elapsed = (time.monotonic() - started) * 1000
            logger.warning("%s %s failed after %.0f ms: %s", method, path, elapsed, type(exc).__name__)
            # `from None`: the aiohttp exception holds the request, headers included.
            raise error_for_transport(exc, method=method, path=path, creates=creates) from None
        elapsed = (time.monotonic() - started) * 1000
        # Refusals (4xx) are answers the caller handles; only CATS failing is worth a warning.
        logger.log(
            logging.DEBUG if status < 400 else logging.INFO if status < 500 else logging.WARNING,
            "%s %s -> %d in %.0f ms",
            method,
            path,
            status,
            elapsed,
        )
        self.budget.observe(answer_headers)
        stamped = http_date(answer_headers)
        if stamped is not None:
            self.server_time = stamped
        return CatsResponse(status=status, headers=answer_headers, body=_parse_body(raw))

    # --- records -------------------------------------------------------------------------------

    async def get_record(
        self, resource: str, record_id: int, *, priority: Priority = Priority.INTERACTIVE
    ) -> dict[str, Any]:
        path = f"/{_resource(resource)}/{_record_id(record_id)}"
        return _object(await self.request("GET", path, priority=priority), path)

    async def create_record(
        self,
        resource: str,
        body: Body,
        *,
        check_duplicate: bool,
        priority: Priority = Priority.INTERACTIVE,
    ) -> int:
        """Create a record and return its id (from Location). Never retried after it may have arrived."""
        path = f"/{_resource(resource, _RECORD_RESOURCES)}"
        response = await self.request(
            "POST",
            path,
            params={"check_duplicate": "true" if check_duplicate else "false"},
            json_body=_body_json(body),
            priority=priority,
            expect=(200, 201),
            check_duplicate=check_duplicate,
        )
        if check_duplicate and response.status == 200 and isinstance(response.body, dict):
            # Some accounts answer a duplicate hit with 200 and the existing record rather than
            # a 409 (the duplicate-200 quirk): that is no create, whatever the Location says.
            raise CatsDuplicateError(
                "CATS already holds a matching record",
                status=200,
                existing_id=_existing_id(response),
            )
        return _created_id(response, path)

    async def update_record(
        self, resource: str, record_id: int, body: Body, *, priority: Priority = Priority.INTERACTIVE
    ) -> None:
        """PUT the given fields; a write model sends only the fields that were set on it."""
        path = f"/{_resource(resource)}/{_record_id(record_id)}"
        await self.request("PUT", path, json_body=_body_json(body), priority=priority, expect=(200, 204))

    async def delete_record(
        self, resource: str, record_id: int, *, priority: Priority = Priority.INTERACTIVE
    ) -> None:
        path = f"/{_resource(resource)}/{_record_id(record_id)}"
        await self.request("DELETE", path, priority=priority, expect=(200, 204))

    async def create_activity(
        self,
        resource: str,
        record_id: int,
        body: Body,
        *,
        priority: Priority = Priority.INTERACTIVE,
    ) -> int:
        """Log a note, call or email on a candidate, contact or company; returns the activity id."""
        path = f"/{_resource(resource, _ACTIVITY_PARENTS)}/{_record_id(record_id)}/activities"
        response = await self.request(
            "POST", path, json_body=_body_json(body), priority=priority, expect=(200, 201)
        )
        return _created_id(response, path)

    async def set_custom_field(
        self,
        resource: str,
        record_id: int,
        field_id: int,
        value: Any,
        *,
        priority: Priority = Priority.INTERACTIVE,
    ) -> None:
        record = f"/{_resource(resource, _FIELD_RESOURCES)}/{_record_id(record_id)}"
        path = f"{record}/custom_fields/{_record_id(field_id)}"
        await self.request("PUT", path, json_body={"value": value}, priority=priority, expect=(200, 204))

    # --- collections -----------------------------------------------------------------------------

    async def pages(
        self,
        resource_path: str,
        *,
        params: Mapping[str, str] | None = None,
        priority: Priority = Priority.BACKGROUND,
        start_href: str | None = None,
    ) -> AsyncIterator[Page]:
        """Each page of a collection, 100 records a time, following `_links.next` to the end.

        `start_href` resumes from a page's saved `next_href` instead of the first page.
        """
        key = embedded_key(resource_path)
        path, query = self._start(resource_path, params, start_href)

        async def fetch(page_path: str, page_params: Params) -> object:
            response = await self.request("GET", page_path, params=page_params, priority=priority)
            return response.body

        async for page in walk_pages(fetch, self._resolve, path, query, lambda body: parse_page(body, key)):
            yield page

    async def iterate(
        self,
        resource_path: str,
        *,
        params: Mapping[str, str] | None = None,
        priority: Priority = Priority.BACKGROUND,
    ) -> AsyncIterator[dict[str, Any]]:
        """Every record of a collection (`/companies`, `/candidates/5/activities`, ...)."""
        async for page in self.pages(resource_path, params=params, priority=priority):
            for item in page.items:
                yield item

    async def search(
        self,
        resource: str,
        filter_body: Mapping[str, Any],
        *,
        query: str | None = None,
        priority: Priority = Priority.INTERACTIVE,
        max_pages: int = 1,
    ) -> AsyncIterator[dict[str, Any]]:
        """Records matching a structured filter (`POST /{r}/search`), at most `max_pages` pages of 100."""
        path = f"/{_resource(resource)}/search"
        if max_pages < 1:
            raise ValueError("max_pages must be at least 1")
        params: Params = {"per_page": str(self.per_page)}
        if query is not None:
            params["query"] = query
        body = dict(filter_body)

        async def fetch(page_path: str, page_params: Params) -> object:
            # Every page of a filtered search repeats the filter.
            response = await self.request(
                "POST", page_path, params=page_params, json_body=body, priority=priority
            )
            return response.body

        key = embedded_key(path)
        pages = walk_pages(fetch, self._resolve, path, params, lambda data: parse_page(data, key))
        try:
            read = 0
            async for page in pages:
                for item in page.items:
                    yield item
                read += 1
                if read >= max_pages:
                    return
        finally:
            await pages.aclose()

    async def list_custom_fields(
        self, resource: str, *, priority: Priority = Priority.BACKGROUND
    ) -> list[CustomFieldDefinition]:
        path = f"/{_resource(resource, _FIELD_RESOURCES)}/custom_fields"
        return [
            _model(CustomFieldDefinition, row, path) async for row in self.iterate(path, priority=priority)
        ]

    async def list_users(self, *, priority: Priority = Priority.BACKGROUND) -> list[UserRead]:
        return [_model(UserRead, row, "/users") async for row in self.iterate("/users", priority=priority)]

    async def event_pages(
        self, starting_after_id: int = 0, *, priority: Priority = Priority.BACKGROUND
    ) -> AsyncIterator[EventPage]:
        """Pages of `GET /events` after an event id; save each page's `last_id` to resume from."""
        if isinstance(starting_after_id, bool) or starting_after_id < 0:
            raise ValueError("starting_after_id must be a non-negative event id")

        async def fetch(page_path: str, page_params: Params) -> object:
            response = await self.request("GET", page_path, params=page_params, priority=priority)
            return response.body

        async for page in walk_pages(
            fetch, self._resolve, "/events", {"starting_after_id": str(starting_after_id)}, parse_event_page
        ):
            yield page

    async def iterate_events(
        self, starting_after_id: int = 0, *, priority: Priority = Priority.BACKGROUND
    ) -> AsyncIterator[dict[str, Any]]:
        async for page in self.event_pages(starting_after_id, priority=priority):
            for event in page.items:
                yield event

    async def check_connection(self) -> ConnectionInfo:
        """One request (`GET /site`) that proves the key works; raises the precise error when it does not."""
        response = await self.request("GET", "/site", priority=Priority.INTERACTIVE, retries=False)
        site = _model(SiteRead, _object(response, "/site"), "/site")
        return ConnectionInfo(
            base_url=self.base_url,
            site_id=site.id,
            subdomain=site.subdomain,
            mode=site.mode,
            budget=self.budget.snapshot(),
        )

    # --- helpers ---------------------------------------------------------------------------------

    def _start(
        self, resource_path: str, params: Mapping[str, str] | None, start_href: str | None
    ) -> tuple[str, Params]:
        if start_href is not None:
            path, query = self._resolve(start_href)
            query.setdefault("per_page", str(self.per_page))
            return path, query
        path = "/" + resource_path.strip("/")
        if not all(_RESOURCE.fullmatch(part) or part.isdigit() for part in path[1:].split("/")):
            raise ValueError(f"not a CATS collection path: {resource_path!r}")
        query = dict(params or {})
        query.setdefault("per_page", str(self.per_page))
        return path, query

    def _resolve(self, href: str) -> tuple[str, Params]:
        return resolve_href(self._base, href)


def http_date(headers: Mapping[str, str]) -> datetime | None:
    """The instant in an answer's `Date` header (UTC), or None when it is missing or unreadable."""
    raw = headers.get("Date")
    if not raw:
        return None
    try:
        moment = parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _parse_body(raw: bytes) -> Any:
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return _UNREADABLE


def _object(response: CatsResponse, path: str) -> dict[str, Any]:
    if not isinstance(response.body, dict):
        raise CatsBadResponseError(
            f"CATS's answer to GET {path} is not a JSON object", status=response.status
        )
    return response.body


def _created_id(response: CatsResponse, path: str) -> int:
    new_id = id_from_location(response.headers.get("Location"))
    if new_id is None:
        raise CatsBadResponseError(
            f"CATS accepted POST {path} but sent no usable Location, so the new record's id is unknown",
            status=response.status,
        )
    return new_id


def _existing_id(response: CatsResponse) -> int | None:
    """The id of the record a duplicate hit answered with: its Location, else its body's `id`."""
    found = id_from_location(response.headers.get("Location"))
    if found is None and isinstance(response.body, dict):
        with contextlib.suppress(ValueError):
            found = parse_id(response.body.get("id"))
    return found


def _model(model: type[M], row: object, path: str) -> M:
    try:
        return model.model_validate(row)
    except ValidationError as exc:
        raise CatsBadResponseError(
            f"CATS sent a {model.__name__} from {path} we cannot read ({exc.error_count()} problems)"
        ) from None
