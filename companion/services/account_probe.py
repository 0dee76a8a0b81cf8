"""The account probe: answers what the CATS reference leaves open for one account, in a handful of requests.

Read-only (5 requests): `GET /site` (the rate-limit headers, ids' JSON type), `GET /site` again
with `Authorization: Bearer`, one page of `GET /companies?per_page=100` (the page cap), one
`POST /companies/search` with a `date_modified` filter, and one page of `GET /events` (an event
item's keys). With write probes (7 more, 8 when the account holds no company to take an owner
from: `GET /users`): one company named ``CATS Companion probe - delete me <stamp>`` is created,
created again with `check_duplicate=true` (the duplicate status), renamed by a PUT that leaves its
website out and read back (whether PUT clears omitted fields), given a `meeting` activity (whether
that type is taken), then the activity and the company are deleted -- with whatever the second
create made, should CATS have made another. What could not be deleted is `writes_left_behind`.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from urllib.parse import parse_qs, urlsplit

from pydantic import BaseModel, ConfigDict

from companion.cats.budget import Priority
from companion.cats.client import CatsClient, CatsResponse, counting_requests
from companion.cats.pages import PER_PAGE
from companion.cats.profile import AccountProfile
from companion.cats.record_urls import id_from_location, parse_id
from companion.errors import CatsAuthError, CatsError
from companion.secret import ApiKey
from companion.store.cats_profiles import save_profile
from companion.store.db import Database

log = logging.getLogger(__name__)

#: Most requests each part may spend (the issue's limits).
READ_LIMIT: Final = 12
WRITE_LIMIT: Final = 10
PROBE_NAME: Final = "CATS Companion probe - delete me"
_PROBE_SITE: Final = "https://probe.cats-companion.invalid"
_ANY_STATUS: Final = tuple(range(200, 500))


class ProbeRow(BaseModel):
    """One line of the probe's table."""

    model_config = ConfigDict(frozen=True)

    question: str
    answer: str
    evidence: str
    action: str


class ProbeReport(BaseModel):
    """What `cats probe` prints and `--json` shows."""

    model_config = ConfigDict(frozen=True)

    requests: int
    writes_left_behind: int
    answers: AccountProfile
    rows: list[ProbeRow]


@dataclass
class _Notes:
    rows: list[ProbeRow] = field(default_factory=list)

    def add(self, question: str, answer: object, evidence: str, action: str) -> None:
        shown = (
            "unknown" if answer is None else str(answer).lower() if isinstance(answer, bool) else str(answer)
        )
        self.rows.append(ProbeRow(question=question, answer=shown, evidence=evidence, action=action))


def _header_int(response: CatsResponse, name: str) -> int | None:
    raw = response.headers.get(name, "").strip()
    return int(raw) if raw.isdigit() and int(raw) > 0 else None


def _items(body: object, key: str) -> list[dict[str, Any]]:
    if not isinstance(body, dict):
        return []
    embedded = body.get("_embedded")
    found = embedded.get(key) if isinstance(embedded, dict) else None
    return [item for item in found if isinstance(item, dict)] if isinstance(found, list) else []


def _maybe_id(value: object) -> int | None:
    """A positive whole number sent as a number or a numeric string; None for anything else."""
    try:
        return parse_id(value)
    except ValueError:
        return None


def _total(body: object) -> int | None:
    return _maybe_id(body.get("total")) if isinstance(body, dict) else None


def _echoed_per_page(body: object) -> int | None:
    links = body.get("_links") if isinstance(body, dict) else None
    link = links.get("self") if isinstance(links, dict) else None
    href = link.get("href") if isinstance(link, dict) else None
    if not isinstance(href, str):
        return None
    values = parse_qs(urlsplit(href).query).get("per_page", [])
    return int(values[0]) if values and values[0].isdigit() and int(values[0]) > 0 else None


class AccountProbe:
    """Runs the probe on one client (the account's key); `bearer_client` is the same key sent as Bearer."""

    def __init__(self, client: CatsClient, bearer_client: CatsClient, *, now: datetime | None = None) -> None:
        self.client = client
        self.bearer_client = bearer_client
        self._now = now or datetime.now(UTC)

    async def run(self, *, write_probes: bool = False) -> ProbeReport:
        notes = _Notes()
        left_behind = 0
        with counting_requests() as count:
            answers, owner_id = await self._read_only(notes)
            if write_probes:
                written, left_behind = await self._writes(notes, owner_id)
                answers = answers.model_copy(update=written)
        return ProbeReport(
            requests=count.sent, writes_left_behind=left_behind, answers=answers, rows=notes.rows
        )

    async def _ask(
        self,
        method: str,
        path: str,
        params: dict[str, str] | None = None,
        json_body: dict[str, Any] | None = None,
    ) -> CatsResponse:
        """One probe request, never retried, whatever status CATS answers (the status is the evidence)."""
        return await self.client.request(
            method,
            path,
            params=params,
            json_body=json_body,
            priority=Priority.INTERACTIVE,
            retries=False,
            expect=_ANY_STATUS,
        )

    async def _get(self, path: str, params: dict[str, str] | None = None) -> CatsResponse:
        return await self._ask("GET", path, params)

    # --- read-only -----------------------------------------------------------------------------

    async def _read_only(self, notes: _Notes) -> tuple[AccountProfile, int | None]:
        site = await self._get("/site")
        if site.status == 401:
            raise CatsAuthError("CATS refused the API key (401)", status=401)
        rate_limit = _header_int(site, "X-Rate-Limit-Limit")
        notes.add(
            "rate limit (requests an hour)",
            rate_limit,
            f"X-Rate-Limit-Limit: {site.headers.get('X-Rate-Limit-Limit', 'absent')}",
            f"the budget plans for {rate_limit} an hour" if rate_limit else "the budget keeps 500 an hour",
        )
        bearer = await self._bearer()
        notes.add(
            "Authorization: Bearer accepted",
            bearer,
            "GET /site with Bearer: " + {True: "200", False: "401", None: "no clear answer"}[bearer],
            "keeps sending 'Token' (the documented scheme)",
        )
        companies = await self._get("/companies", {"per_page": str(PER_PAGE), "page": "1"})
        items = _items(companies.body, "companies")
        per_page = self._page_cap(companies, items)
        notes.add(
            "largest page (per_page)",
            per_page,
            f"asked {PER_PAGE}, got {len(items)} of {_total(companies.body)}",
            f"pages ask for {per_page} records" if per_page else "pages ask for 100 records",
        )
        id_value = items[0].get("id") if items else (site.body or {}).get("id")
        strings = isinstance(id_value, str) if id_value is not None else None
        notes.add(
            "ids sent as strings",
            strings,
            f"first id is {type(id_value).__name__} {id_value!r}",
            "ids are read as numbers either way",
        )
        date_filter = await self._date_filter()
        notes.add(
            "date_modified filter on companies",
            date_filter,
            "POST /companies/search date_modified greater_than: "
            + {True: "200", False: "400", None: "no clear answer"}[date_filter],
            "incremental sync searches by date_modified"
            if date_filter is not False
            else "incremental sync reads the events stream",
        )
        event_keys = await self._event_keys()
        notes.add(
            "event item keys",
            ", ".join(event_keys) if event_keys else None,
            "GET /events for the last day, first item",
            "deletions are read from company.* events",
        )
        owner_id = _maybe_id(items[0].get("owner_id")) if items else None
        profile = AccountProfile(
            date_modified_filter=date_filter,
            bearer_accepted=bearer,
            per_page_max=per_page,
            rate_limit=rate_limit,
            ids_as_strings=strings,
            event_keys=event_keys,
        )
        return profile, owner_id

    async def _bearer(self) -> bool | None:
        try:
            await self.bearer_client.request("GET", "/site", priority=Priority.INTERACTIVE, retries=False)
        except CatsAuthError:
            return False
        except CatsError:
            return None
        return True

    @staticmethod
    def _page_cap(response: CatsResponse, items: list[dict[str, Any]]) -> int | None:
        if response.status != 200:
            return None
        total = _total(response.body)
        if total is not None and total > len(items):
            # Fewer than asked while more exist: the page was cut at the account's cap.
            return len(items)
        echoed = _echoed_per_page(response.body)
        if echoed is not None and echoed < PER_PAGE:
            # Too few records to see a cut, but the page's own link says what size it used.
            return echoed
        # Every record fitted: the cap is at least what was asked for.
        return PER_PAGE

    async def _date_filter(self) -> bool | None:
        since = (self._now - timedelta(days=1)).isoformat(timespec="seconds")
        body = {"field": "date_modified", "filter": "greater_than", "value": since}
        response = await self._ask("POST", "/companies/search", {"per_page": "1"}, body)
        if response.status == 200:
            return True
        if response.status in (400, 422):
            return False
        return None

    async def _event_keys(self) -> list[str] | None:
        since = int((self._now - timedelta(days=1)).timestamp())
        response = await self._get("/events", {"starting_after_timestamp": str(since)})
        events = _items(response.body, "events") if response.status == 200 else []
        return sorted(events[0]) if events else None

    # --- write probes --------------------------------------------------------------------------

    async def _writes(self, notes: _Notes, owner_id: int | None) -> tuple[dict[str, Any], int]:
        if owner_id is None:
            users = await self._get("/users", {"per_page": "1"})
            found = _items(users.body, "users")
            owner_id = _maybe_id(found[0].get("id")) if found else None
        if owner_id is None:
            notes.add("write probes", None, "no user to own the probe record", "write probes skipped")
            return {}, 0
        stamp = self._now.strftime("%Y%m%d%H%M%S")
        body = {
            "name": f"{PROBE_NAME} {stamp}",
            "website": _PROBE_SITE,
            "key_technologies": "cats-companion-probe",
            "owner_id": owner_id,
        }
        created: list[int] = []
        activities: list[int] = []
        answers: dict[str, Any] = {}
        try:
            first = await self._create(body, created)
            if first.status != 201 or not created:
                notes.add(
                    "write probes", None, f"the probe company's create answered {first.status}", "skipped"
                )
            else:
                answers.update(await self._duplicate(notes, body, created))
                answers.update(await self._put(notes, created[0], body, owner_id))
                answers.update(await self._meeting(notes, created[0], activities))
        except CatsError as exc:
            notes.add("write probes", None, f"stopped: {exc.code}", "the answers so far are kept")
        left = await self._delete(created, activities)
        notes.add(
            "probe records left behind",
            left,
            f"created {len(created) + len(activities)}, deleted {len(created) + len(activities) - left}",
            "nothing to do" if left == 0 else f"delete the companies named {PROBE_NAME!r} by hand",
        )
        return answers, left

    async def _create(self, body: dict[str, Any], created: list[int]) -> CatsResponse:
        """A check_duplicate create of the probe company; a new record's id goes into `created`."""
        response = await self._ask("POST", "/companies", {"check_duplicate": "true"}, body)
        new_id = id_from_location(response.headers.get("Location"))
        if response.status == 201 and new_id is not None and new_id not in created:
            created.append(new_id)
        return response

    async def _duplicate(self, notes: _Notes, body: dict[str, Any], created: list[int]) -> dict[str, Any]:
        status = (await self._create(body, created)).status
        notes.add(
            "status of a duplicate hit",
            status,
            f"the same check_duplicate create again answered {status}",
            "CATS does not detect this duplicate: the companion searches before creating"
            if status == 201
            else "linked to the existing record as a duplicate, never counted as a create",
        )
        return {"duplicate_status": status}

    async def _put(self, notes: _Notes, rid: int, body: dict[str, Any], owner_id: int) -> dict[str, Any]:
        path = f"/companies/{rid}"
        renamed = {"name": f"{body['name']} (renamed)", "owner_id": owner_id}
        await self.client.request(
            "PUT", path, json_body=renamed, priority=Priority.INTERACTIVE, expect=(200, 204)
        )
        after = await self._get(path)
        record = after.body if isinstance(after.body, dict) else {}
        clears = not record.get("website")
        notes.add(
            "PUT clears omitted fields",
            clears,
            f"website after a PUT without it: {record.get('website')!r}",
            # A merge always writes the full record it read just before (rules/merge.py), so an
            # account that clears omitted fields loses nothing either way.
            "merges write the full record read just before, so nothing is cleared",
        )
        return {"put_clears_omitted": clears}

    async def _meeting(self, notes: _Notes, rid: int, activities: list[int]) -> dict[str, Any]:
        """Whether the account takes a `meeting` activity (REFERENCE.md says live accounts may not)."""
        body = {"type": "meeting", "notes": f"{PROBE_NAME}: activity type check"}
        response = await self._ask("POST", f"/companies/{rid}/activities", None, body)
        new_id = id_from_location(response.headers.get("Location"))
        if response.status in (200, 201) and new_id is not None:
            activities.append(new_id)
        accepted = response.status in (200, 201)
        notes.add(
            "activity type 'meeting' accepted",
            accepted,
            f"POST /companies/{{id}}/activities type meeting: {response.status}",
            "notes may use the type 'meeting'"
            if accepted
            else "give the note rules another type than 'meeting' (settings, Sync)",
        )
        return {"meeting_accepted": accepted}

    async def _delete(self, created: list[int], activities: list[int]) -> int:
        """Delete what the probe made, activities first; returns how many records could not be."""
        left = 0
        paths = [f"/activities/{aid}" for aid in activities] + [f"/companies/{rid}" for rid in created]
        for path in paths:
            try:
                await self.client.request(
                    "DELETE", path, priority=Priority.INTERACTIVE, expect=(200, 204, 404)
                )
            except CatsError:
                log.warning("the probe could not delete %s", path)
                left += 1
        return left


async def probe_account(
    base_url: str, key: ApiKey | None, *, write_probes: bool = False, client: CatsClient | None = None
) -> ProbeReport:
    """Probe the account at `base_url` with `client` (and its budget), else with a client on `key`."""
    async with contextlib.AsyncExitStack() as stack:
        if client is None:
            if key is None:
                raise ValueError("the probe needs a client or a key")
            client = await stack.enter_async_context(CatsClient(base_url, key))
        # The Bearer check is the probe's own request: it must not teach the real client anything.
        bearer = await stack.enter_async_context(client.sibling(auth_scheme="Bearer"))
        return await AccountProbe(client, bearer).run(write_probes=write_probes)


async def run_and_store(
    db: Database, base_url: str, key: ApiKey, *, write_probes: bool = False
) -> ProbeReport:
    """Probe the account and store its answers as the account's profile."""
    report = await probe_account(base_url, key, write_probes=write_probes)
    await save_profile(db, base_url, report.answers, requests=report.requests, write_probes=write_probes)
    return report
