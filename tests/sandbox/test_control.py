"""The control API: its own token, validated bodies that change nothing when bad, and what it reports."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest

from companion.sandbox.control import CONTROL_HEADER, ControlError
from tests.fixtures.sandbox import SandboxFactory, SandboxHandle

FROZEN = datetime(2025, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
async def cats(sandbox_factory: SandboxFactory) -> SandboxHandle:
    return await sandbox_factory(rate_limit=5, clock=lambda: FROZEN, control_token="ctl-token")


async def _control(
    handle: SandboxHandle, method: str, path: str, *, headers: dict[str, str] | None = None, body: Any = None
) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, f"{handle.control_url}/{path}", headers=headers, json=body) as response,
    ):
        return response.status, await response.json()


def _owner(handle: SandboxHandle) -> int:
    return handle.store.create_user(username="owner", first_name="Olive", last_name="Owner")


@pytest.mark.parametrize(
    "headers",
    [
        None,
        {CONTROL_HEADER: "wrong"},
        {CONTROL_HEADER: ""},
        {"Authorization": "Token cats-sandbox-demo-key"},
        {"Authorization": "Token ctl-token"},
    ],
)
async def test_control_api_needs_its_own_token(cats: SandboxHandle, headers: dict[str, str] | None) -> None:
    status, body = await _control(cats, "GET", "counters", headers=headers)
    assert status == 401
    assert CONTROL_HEADER in body["message"]


async def test_refused_control_calls_change_nothing(cats: SandboxHandle) -> None:
    status, _ = await _control(cats, "PUT", "rate-limit", headers={CONTROL_HEADER: "nope"}, body={"limit": 1})
    assert status == 401
    assert (await cats.control.rate_limit())["limit"] == 5


async def test_control_api_is_not_reachable_under_v3(cats: SandboxHandle) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.get(
            cats.url_for("_sandbox/counters"), headers={**cats.headers, **cats.control_headers}
        ) as response,
    ):
        assert response.status == 404


async def test_unknown_control_path_is_404_json(cats: SandboxHandle) -> None:
    status, body = await _control(cats, "GET", "nothing-here", headers=cats.control_headers)
    assert status == 404
    assert "message" in body


async def test_counters_report_requests_by_route_template_and_records(cats: SandboxHandle) -> None:
    company = cats.store.create_record("companies", {"name": "Northwind Ltd", "owner_id": _owner(cats)})
    async with cats.session() as http:
        for path in (f"companies/{company}", f"companies/{company}", "companies", "contacts/1"):
            async with http.get(cats.url_for(path)) as response:
                await response.read()
    async with aiohttp.ClientSession() as http, http.get(cats.url_for("companies")) as response:
        assert response.status == 401
    counters = await cats.control.counters()
    assert counters["requests"] == {
        "GET /v3/companies/{id}": 2,
        "GET /v3/companies": 2,
        "GET /v3/contacts/{id}": 1,
    }
    assert counters["requests_total"] == 5
    assert counters["responses"] == {"200": 3, "401": 1, "404": 1}
    assert counters["records"]["companies"] == 1
    assert counters["records"]["users"] == 1


async def test_counter_reset_starts_from_zero(cats: SandboxHandle) -> None:
    await cats.control.set_faults(script=[{"kind": "503"}])
    async with cats.session() as http, http.get(cats.url_for("companies")) as response:
        assert response.status == 503
    before = await cats.control.counters()
    assert (before["requests_total"], before["faults"]) == (1, {"503": 1})
    after = await cats.control.reset_counters()
    assert (after["requests_total"], after["requests"], after["responses"], after["faults"]) == (
        0,
        {},
        {},
        {},
    )


async def test_faults_can_be_read_back_with_the_unused_script(cats: SandboxHandle) -> None:
    await cats.control.set_faults(
        script=[{"kind": "500"}, {"kind": "slow"}], slow_seconds=0.01, random_seed=4
    )
    async with cats.session() as http, http.get(cats.url_for("companies")) as response:
        assert response.status == 500
    settings = await cats.control.faults()
    assert [entry.kind for entry in settings.script] == ["slow"]
    assert (settings.slow_seconds, settings.random_seed) == (0.01, 4)
    cleared = await cats.control.clear_faults()
    assert cleared.script == [] and cleared.probabilities == {}


@pytest.mark.parametrize(
    ("path", "method", "body"),
    [
        ("faults", "PUT", {"probabilities": {"500": 2}}),
        ("faults", "PUT", {"script": [{"kind": "boom"}]}),
        ("faults", "PUT", {"hang_seconds": "long"}),
        ("faults", "PUT", None),
        ("clock/advance", "POST", {"seconds": -5}),
        ("clock/advance", "POST", {"minutes": 5}),
        ("rate-limit", "PUT", {"limit": -1}),
        ("rate-limit", "PUT", {"limit": "many"}),
        ("seed", "POST", {"companies": -1}),
        ("seed", "POST", {"companies": 10**9}),
    ],
)
async def test_bad_control_bodies_get_400_and_change_nothing(
    cats: SandboxHandle, path: str, method: str, body: Any
) -> None:
    await cats.control.set_faults(script=[{"kind": "503"}])
    before = (
        await cats.control.faults(),
        await cats.control.rate_limit(),
        (await _control(cats, "GET", "clock", headers=cats.control_headers))[1],
        cats.store.record_counts(),
    )
    status, reply = await _control(cats, method, path, headers=cats.control_headers, body=body)
    assert status == 400
    assert reply["message"].startswith("Invalid")
    after = (
        await cats.control.faults(),
        await cats.control.rate_limit(),
        (await _control(cats, "GET", "clock", headers=cats.control_headers))[1],
        cats.store.record_counts(),
    )
    assert after == before


async def test_malformed_json_is_a_clear_400(cats: SandboxHandle) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.put(f"{cats.control_url}/faults", headers=cats.control_headers, data=b"{not json") as response,
    ):
        assert response.status == 400
        assert "Invalid fault settings" in (await response.json())["message"]


async def test_clock_advance_moves_record_timestamps_too(cats: SandboxHandle) -> None:
    moved = await cats.control.advance_clock(86_400)
    assert moved["now"] == "2025-05-02T12:00:00+00:00"
    assert moved["offset_seconds"] == 86_400
    company = cats.store.create_record("companies", {"name": "Later Ltd", "owner_id": _owner(cats)})
    assert cats.store.get_record("companies", company)["date_created"] == "2025-05-02T12:00:00+00:00"


async def test_the_date_header_follows_the_sandbox_clock_not_the_machines(cats: SandboxHandle) -> None:
    async with cats.session() as http:
        async with http.get(cats.url_for("companies")) as response:
            assert response.headers["Date"] == "Thu, 01 May 2025 12:00:00 GMT"
        await cats.control.advance_clock(3600.75)
        async with http.get(cats.url_for("nowhere")) as response:
            # Whole seconds, truncated; errors carry it too.
            assert response.status == 404
            assert response.headers["Date"] == "Thu, 01 May 2025 13:00:00 GMT"


async def test_rate_limit_can_be_changed_and_reset_at_run_time(cats: SandboxHandle) -> None:
    async with cats.session() as http:
        for _ in range(5):
            async with http.get(cats.url_for("companies")) as response:
                assert response.status == 200
        async with http.get(cats.url_for("companies")) as response:
            assert response.status == 429
        state = await cats.control.set_rate_limit(6)
        assert (state["limit"], state["used"], state["remaining"]) == (6, 5, 1)
        async with http.get(cats.url_for("companies")) as response:
            assert response.status == 200
            assert response.headers["X-Rate-Limit-Limit"] == "6"
        assert (await cats.control.reset_rate_limit())["used"] == 0
        assert (await cats.control.set_rate_limit(0))["limit"] == 0
        for _ in range(10):
            async with http.get(cats.url_for("companies")) as response:
                assert response.status == 200


async def test_seed_endpoint_adds_companies_and_reports_them(cats: SandboxHandle) -> None:
    summary = await cats.control.seed(companies=8, random_seed=2)
    assert summary["companies"] == 8
    assert cats.store.record_counts()["companies"] == 8
    again = await cats.control.seed(companies=3, random_seed=3)
    assert (again["companies"], again["users"], again["custom_fields"]) == (3, 0, 0)
    assert cats.store.record_counts()["companies"] == 11


async def test_control_client_raises_with_the_sandbox_message(cats: SandboxHandle) -> None:
    with pytest.raises(ControlError) as caught:
        await cats.control.set_rate_limit(-3)
    assert caught.value.status == 400
    assert "limit" in caught.value.message
