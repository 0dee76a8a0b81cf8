"""The CATS client against the CATS sandbox over HTTP: paging, budget, faults, errors and record shapes."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest

from companion.cats.budget import Priority, RateBudget
from companion.cats.client import CatsClient
from companion.cats.models import (
    ActivityRead,
    ActivityWrite,
    CandidateRead,
    CandidateWrite,
    CompanyRead,
    CompanyWrite,
    ContactRead,
    CustomFieldType,
    CustomFieldWrite,
    EmailWrite,
    PhoneWrite,
    SiteRead,
)
from companion.cats.retry import RetryPolicy
from companion.errors import (
    BudgetReservedError,
    CatsAuthError,
    CatsDuplicateError,
    CatsNetworkError,
    CatsNotFoundError,
    CatsRateLimitedError,
    CatsUnavailableError,
    CatsUncertainWriteError,
    CatsValidationError,
)
from companion.sandbox.control import SandboxControl
from companion.secret import ApiKey
from tests.cats.fakes import FakeClock, closed_port
from tests.fixtures.sandbox import SandboxFactory, SandboxHandle

RecordModel = type[CompanyRead] | type[ContactRead] | type[CandidateRead]

#: The sandbox's time stands still unless a test moves it, exactly like the client's fake clock.
FROZEN = datetime(2025, 5, 1, 12, 0, tzinfo=UTC)


class SandboxSyncedClock(FakeClock):
    """The client's fake clock; each pause it takes also moves the sandbox's clock forward by as much."""

    def __init__(self, control: SandboxControl) -> None:
        super().__init__(start=FROZEN.timestamp())
        self._control = control

    async def sleep(self, seconds: float) -> None:
        await super().sleep(seconds)
        await self._control.advance_clock(seconds)


def client_for(
    sandbox: SandboxHandle,
    *,
    clock: FakeClock | None = None,
    key: ApiKey | None = None,
    timeout: float = 5.0,
    max_attempts: int = 4,
    budget: RateBudget | None = None,
) -> CatsClient:
    return CatsClient(
        sandbox.url,
        key or sandbox.key,
        timeout=timeout,
        budget=budget or RateBudget(clock=clock or FakeClock(start=FROZEN.timestamp())),
        retry=RetryPolicy(max_attempts=max_attempts, rng=random.Random(3)),
    )


async def frozen_sandbox(factory: SandboxFactory, **config: Any) -> SandboxHandle:
    return await factory(clock=lambda: FROZEN, seed=3, **config)


async def requests_by_route(sandbox: SandboxHandle) -> dict[str, int]:
    counters: dict[str, int] = (await sandbox.control.counters())["requests"]
    return counters


def ada(**extra: Any) -> CandidateWrite:
    return CandidateWrite(
        first_name="Ada",
        last_name="Lovelace",
        emails=[EmailWrite(email="ada.lovelace@example.org", is_primary=True)],
        phones=[PhoneWrite(number="+31612345678", type="mobile")],
        **extra,
    )


# --- collections -----------------------------------------------------------------------------------


async def test_a_full_scan_of_10000_companies_takes_exactly_100_requests(
    sandbox_factory: SandboxFactory,
) -> None:
    sandbox = await sandbox_factory()
    store = sandbox.store
    owner = store.create_user(username="owner@example.org", first_name="Olive", last_name="Owner")
    with store.bulk():
        for n in range(10_000):
            store.create_record("companies", {"name": f"Company {n:05d}", "owner_id": owner})
    await sandbox.control.reset_counters()

    async with client_for(sandbox) as client:
        ids = [row["id"] async for row in client.iterate("/companies")]
        used = client.budget.snapshot().used

    assert len(ids) == 10_000
    assert ids == sorted(set(ids))
    counters = await sandbox.control.counters()
    assert counters["requests"] == {"GET /v3/companies": 100}
    assert counters["requests_total"] == 100
    assert used == 100


async def test_pages_expose_total_and_next_link_to_resume_from(sandbox: SandboxHandle) -> None:
    async with client_for(sandbox) as client:
        first = await anext(aiter(client.pages("/companies", params={"per_page": "7"})))
        assert first.total == 20 and first.count == 7 and first.next_href is not None
        rest = [p async for p in client.pages("/companies", start_href=first.next_href)]
    # A saved next link carries its own per_page; resuming reads exactly what was left.
    assert sum(len(p.items) for p in rest) == 13
    assert rest[-1].next_href is None


async def test_search_returns_the_records_matching_a_filter(sandbox: SandboxHandle) -> None:
    async with client_for(sandbox) as client:
        company = CompanyRead.model_validate(await client.get_record("companies", 9005))
        flt = {"field": "name", "filter": "exactly", "value": company.name}
        found = [row["id"] async for row in client.search("companies", flt)]
    assert company.id in found


async def test_events_resume_after_the_last_id_seen(sandbox: SandboxHandle) -> None:
    async with client_for(sandbox) as client:
        last_id = 0
        async for page in client.event_pages(0):
            assert len(page.items) <= 25
            last_id = page.last_id or last_id
        assert last_id > 0
        new_id = await client.create_record(
            "companies", CompanyWrite(name="Fresh BV", owner_id=4001), check_duplicate=False
        )
        events = [event async for event in client.iterate_events(last_id)]
    assert [(e["event"], e["company_id"]) for e in events] == [("company.created", new_id)]


# --- rate budget against the sandbox's limiter --------------------------------------------------------


async def test_a_429_storm_is_waited_out_exactly_as_told(sandbox_factory: SandboxFactory) -> None:
    sandbox = await frozen_sandbox(sandbox_factory)
    await sandbox.control.set_faults(script=[{"kind": "429", "method": "GET"}] * 3, retry_after_seconds=20)
    clock = SandboxSyncedClock(sandbox.control)
    async with client_for(sandbox, clock=clock, max_attempts=4) as client:
        record = await client.get_record("companies", 9001)
    assert record["id"] == 9001
    assert clock.sleeps == [20, 20, 20]
    counters = await sandbox.control.counters()
    assert counters["requests"] == {"GET /v3/companies/{id}": 4}
    assert counters["rate_limited"] == 3


async def test_a_429_storm_longer_than_the_retry_bound_is_raised(sandbox_factory: SandboxFactory) -> None:
    await_more = [{"kind": "429", "method": "GET"}] * 10
    sandbox = await frozen_sandbox(sandbox_factory)
    await sandbox.control.set_faults(script=await_more, retry_after_seconds=20)
    clock = SandboxSyncedClock(sandbox.control)
    async with client_for(sandbox, clock=clock, max_attempts=4) as client:
        with pytest.raises(CatsRateLimitedError) as limited:
            await client.get_record("companies", 9001)
    assert limited.value.retry_after == 20
    assert clock.sleeps == [20, 20, 20]
    assert (await sandbox.control.counters())["rate_limited"] == 4


async def test_the_client_never_exceeds_the_sandbox_rate_limit(sandbox_factory: SandboxFactory) -> None:
    sandbox = await frozen_sandbox(sandbox_factory, rate_limit=10)
    clock = SandboxSyncedClock(sandbox.control)
    budget = RateBudget(reserve_fraction=0, max_wait=4000, clock=clock)
    async with client_for(sandbox, budget=budget) as client:
        for _ in range(25):
            await client.check_connection()
    counters = await sandbox.control.counters()
    assert counters["requests_total"] == 25
    assert counters["rate_limited"] == 0
    # 10 now, 10 an hour later, 5 two hours later: the budget waited for the window, not CATS's 429.
    assert sum(clock.sleeps) == pytest.approx(7200)


async def test_a_retry_after_beyond_the_bound_is_raised_and_nothing_is_sent_before_it_passes(
    sandbox_factory: SandboxFactory,
) -> None:
    sandbox = await frozen_sandbox(sandbox_factory, rate_limit=3)
    # Another client of the same account spends the whole hour first.
    async with sandbox.session() as other:
        for _ in range(3):
            async with other.get(sandbox.url_for("site")) as answer:
                assert answer.status == 200
    clock = SandboxSyncedClock(sandbox.control)
    async with client_for(sandbox, clock=clock) as client:
        with pytest.raises(CatsRateLimitedError) as limited:
            await client.get_record("companies", 9001)
        assert limited.value.retry_after == pytest.approx(3600)
        assert clock.sleeps == []
        with pytest.raises(CatsRateLimitedError):
            await client.get_record("companies", 9001)
        assert (await sandbox.control.counters())["requests_total"] == 4
        await clock.sleep(3600)
        assert (await client.get_record("companies", 9001))["id"] == 9001


async def test_background_work_stops_at_the_reserve_while_interactive_work_goes_on(
    sandbox_factory: SandboxFactory,
) -> None:
    sandbox = await frozen_sandbox(sandbox_factory, rate_limit=10)
    async with client_for(sandbox) as client:
        for _ in range(8):
            await client.request("GET", "/site", priority=Priority.BACKGROUND)
        with pytest.raises(BudgetReservedError):
            await client.request("GET", "/site", priority=Priority.BACKGROUND, wait=False)
        for _ in range(2):
            await client.request("GET", "/site", priority=Priority.INTERACTIVE)
        snapshot = client.budget.snapshot()
    assert (snapshot.limit, snapshot.remaining, snapshot.reserve, snapshot.source) == (10, 0, 2, "headers")
    counters = await sandbox.control.counters()
    assert counters["requests_total"] == 10
    assert counters["rate_limited"] == 0


# --- failures --------------------------------------------------------------------------------------


async def test_a_reset_after_a_create_is_uncertain_and_not_sent_again(sandbox: SandboxHandle) -> None:
    before = sandbox.store.record_counts()["candidates"]
    await sandbox.control.set_faults(script=[{"kind": "reset_after", "method": "POST"}])
    await sandbox.control.reset_counters()
    async with client_for(sandbox) as client:
        with pytest.raises(CatsUncertainWriteError):
            await client.create_record("candidates", ada(), check_duplicate=True)
    # The record exists although the client never heard so: only a lookup can tell.
    assert sandbox.store.record_counts()["candidates"] == before + 1
    assert await requests_by_route(sandbox) == {"POST /v3/candidates": 1}


async def test_a_reset_during_a_read_is_retried(sandbox: SandboxHandle) -> None:
    await sandbox.control.set_faults(script=[{"kind": "reset_after", "method": "GET"}])
    await sandbox.control.reset_counters()
    async with client_for(sandbox) as client:
        assert (await client.get_record("companies", 9001))["id"] == 9001
    assert await requests_by_route(sandbox) == {"GET /v3/companies/{id}": 2}


async def test_a_delete_whose_answer_was_lost_is_done_when_the_retry_finds_nothing(
    sandbox: SandboxHandle,
) -> None:
    await sandbox.control.set_faults(script=[{"kind": "reset_after", "method": "DELETE"}])
    await sandbox.control.reset_counters()
    async with client_for(sandbox) as client:
        await client.delete_record("companies", 9002)
        with pytest.raises(CatsNotFoundError):
            # Without a lost first attempt, a 404 still means the record was never there.
            await client.delete_record("companies", 9002)
    assert await requests_by_route(sandbox) == {"DELETE /v3/companies/{id}": 3}


async def test_a_500_html_page_is_retried_on_a_read_then_reported_unavailable(sandbox: SandboxHandle) -> None:
    await sandbox.control.set_faults(script=[{"kind": "500", "method": "GET"}] * 4)
    await sandbox.control.reset_counters()
    async with client_for(sandbox, max_attempts=4) as client:
        with pytest.raises(CatsUnavailableError) as unavailable:
            await client.get_record("companies", 9001)
    assert unavailable.value.status == 500
    assert "<" not in unavailable.value.message
    assert await requests_by_route(sandbox) == {"GET /v3/companies/{id}": 4}


async def test_a_passing_503_is_retried_until_the_read_succeeds(sandbox: SandboxHandle) -> None:
    await sandbox.control.set_faults(script=[{"kind": "503"}, {"kind": "500"}])
    async with client_for(sandbox) as client:
        assert (await client.get_record("companies", 9001))["id"] == 9001


async def test_a_hang_past_the_timeout_is_unavailable_for_a_read_and_uncertain_for_a_create(
    sandbox: SandboxHandle,
) -> None:
    await sandbox.control.set_faults(script=[{"kind": "hang"}] * 3, hang_seconds=30)
    await sandbox.control.reset_counters()
    before = sandbox.store.record_counts()["candidates"]
    async with client_for(sandbox, timeout=0.3, max_attempts=2) as client:
        with pytest.raises(CatsUnavailableError):
            await client.get_record("companies", 9001)
        with pytest.raises(CatsUncertainWriteError):
            await client.create_record("candidates", ada(), check_duplicate=True)
    assert await requests_by_route(sandbox) == {"GET /v3/companies/{id}": 2, "POST /v3/candidates": 1}
    assert sandbox.store.record_counts()["candidates"] == before


async def test_a_bad_key_is_an_auth_error(sandbox: SandboxHandle) -> None:
    async with client_for(sandbox, key=ApiKey("not-the-sandbox-key")) as client:
        with pytest.raises(CatsAuthError) as refused:
            await client.check_connection()
    assert refused.value.status == 401
    assert "not-the-sandbox-key" not in str(refused.value)
    # One request, not retried: a wrong key does not become right.
    assert (await sandbox.control.counters())["requests_total"] == 1


async def test_a_cats_that_is_down_is_a_network_error_even_for_a_create() -> None:
    budget = RateBudget(clock=FakeClock())
    async with CatsClient(f"http://127.0.0.1:{closed_port()}/v3", ApiKey("k"), budget=budget) as client:
        with pytest.raises(CatsNetworkError):
            await client.check_connection()
        # Nothing reached CATS, so nothing can have been created.
        with pytest.raises(CatsNetworkError):
            await client.create_record("companies", {"name": "X", "owner_id": 1}, check_duplicate=True)


async def test_a_duplicate_create_names_the_existing_record(sandbox: SandboxHandle) -> None:
    async with client_for(sandbox) as client:
        first = await client.create_record("candidates", ada(), check_duplicate=True)
        with pytest.raises(CatsDuplicateError) as duplicate:
            await client.create_record("candidates", ada(), check_duplicate=True)
        assert duplicate.value.existing_id == first
        # Without the check CATS creates the second one anyway.
        second = await client.create_record("candidates", ada(), check_duplicate=False)
    assert second != first


async def test_validation_failures_carry_cats_message(sandbox: SandboxHandle) -> None:
    async with client_for(sandbox) as client:
        with pytest.raises(CatsValidationError) as missing:
            await client.create_record(
                "contacts", {"first_name": "A", "last_name": "B"}, check_duplicate=True
            )
        with pytest.raises(CatsValidationError) as bad_type:
            await client.create_activity("candidates", 700001, {"type": "note"})
    assert missing.value.message.startswith("Validation failed.")
    assert "owner_id" in missing.value.message
    assert "type" in bad_type.value.message


async def test_update_then_delete_a_record(sandbox: SandboxHandle) -> None:
    async with client_for(sandbox) as client:
        company_id = await client.create_record(
            "companies", CompanyWrite(name="Blue Harbor BV", owner_id=4001), check_duplicate=True
        )
        await client.update_record(
            "companies",
            company_id,
            CompanyWrite(name="Blue Harbor B.V.", owner_id=4001, key_technologies="Go"),
        )
        updated = CompanyRead.model_validate(await client.get_record("companies", company_id))
        assert (updated.name, updated.key_technologies) == ("Blue Harbor B.V.", "Go")
        await client.delete_record("companies", company_id)
        with pytest.raises(CatsNotFoundError):
            await client.get_record("companies", company_id)


# --- record shapes ---------------------------------------------------------------------------------


async def test_read_models_round_trip_every_sandbox_read_shape(sandbox: SandboxHandle) -> None:
    models: dict[str, RecordModel] = {
        "companies": CompanyRead,
        "contacts": ContactRead,
        "candidates": CandidateRead,
    }
    async with client_for(sandbox) as client:
        for resource, model in models.items():
            rows = [row async for row in client.iterate(f"/{resource}")]
            assert rows, resource
            for row in rows:
                record = model.model_validate(row)
                assert model.model_validate(record.model_dump(by_alias=True, mode="json")) == record
                assert record.id == row["id"]
            fields = await client.list_custom_fields(resource)
            assert {f.field.type for f in fields} == set(CustomFieldType)
            for definition in fields:
                if definition.field.type in (CustomFieldType.DROPDOWN, CustomFieldType.RADIO):
                    assert definition.field.labels
        activities = [ActivityRead.model_validate(row) async for row in client.iterate("/activities")]
        users = await client.list_users()
        site = SiteRead.model_validate((await client.request("GET", "/site")).body)
    assert activities and all(a.data_item is not None for a in activities)
    assert users and all(user.username for user in users)
    assert site.subdomain


async def test_a_write_model_reads_back_in_the_read_shape(sandbox: SandboxHandle) -> None:
    async with client_for(sandbox) as client:
        fields = {f.field.type: f for f in await client.list_custom_fields("candidates")}
        dropdown = fields[CustomFieldType.DROPDOWN]
        candidate_id = await client.create_record(
            "candidates",
            ada(custom_fields=[CustomFieldWrite(id=dropdown.id, value=dropdown.field.labels[0])]),
            check_duplicate=True,
        )
        activity_id = await client.create_activity(
            "candidates",
            candidate_id,
            ActivityWrite(type="call_talked", notes="Discussed Q3 roles."),
        )
        candidate = CandidateRead.model_validate(await client.get_record("candidates", candidate_id))
        activity = ActivityRead.model_validate(await client.get_record("activities", activity_id))
    assert candidate.emails.primary == "ada.lovelace@example.org"
    assert candidate.phones["cell"] == "+31612345678"
    assert candidate.custom_field_values() == {dropdown.id: dropdown.field.labels[0]}
    assert activity.data_item is not None
    assert (activity.data_item.id, activity.data_item.type, activity.type) == (
        candidate_id,
        "candidate",
        "call_talked",
    )


@pytest.mark.parametrize("resource", ["companies", "contacts", "candidates"])
async def test_read_modify_write_leaves_a_record_as_it_was(sandbox: SandboxHandle, resource: str) -> None:
    models: dict[str, RecordModel] = {
        "companies": CompanyRead,
        "contacts": ContactRead,
        "candidates": CandidateRead,
    }
    model = models[resource]
    async with client_for(sandbox) as client:
        first_id = (await anext(aiter(client.iterate(f"/{resource}"))))["id"]
        before = model.model_validate(await client.get_record(resource, first_id))
        await client.update_record(resource, first_id, before.to_update())
        after = model.model_validate(await client.get_record(resource, first_id))
    unchanged = {"date_modified", "embedded", "links"}
    assert after.model_dump(exclude=unchanged) == before.model_dump(exclude=unchanged)
    assert after.custom_field_values() == before.custom_field_values()


async def test_check_connection_names_the_site_and_the_budget(sandbox_factory: SandboxFactory) -> None:
    sandbox = await sandbox_factory(rate_limit=1500)
    async with client_for(sandbox) as client:
        info = await client.check_connection()
    assert info.base_url == sandbox.url
    assert info.subdomain == "sandbox"
    assert (info.budget.limit, info.budget.used, info.budget.source) == (1500, 1, "headers")
    assert (await sandbox.control.counters())["requests_total"] == 1


async def test_a_session_passed_in_is_left_open(sandbox: SandboxHandle) -> None:
    async with aiohttp.ClientSession() as session:
        async with CatsClient(sandbox.url, sandbox.key, session=session) as client:
            await client.check_connection()
        assert not session.closed
