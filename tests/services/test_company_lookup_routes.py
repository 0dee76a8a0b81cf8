"""The lookup service inside the daemon: loopback routes, native message types, and the sync's hook wiring."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from companion.server.daemon import RunningDaemon
from companion.services.sync_scheduler import SyncPolicy
from companion.store import open_database
from tests.fixtures.daemon import DaemonFactory, auth_headers
from tests.fixtures.sandbox import SandboxHandle
from tests.services.lookup_support import company, mark_synced, write

ROWS = [
    company(1, "Globex Corporation", "https://www.globex.com", owner_id=4001, status_id=130),
    company(2, "GLOBEX GmbH"),
    company(3, "Northwind Traders"),
]


@pytest.fixture
async def daemon(daemon_factory: DaemonFactory, tmp_path: Path) -> RunningDaemon:
    db_path = tmp_path / "companion.db"
    db = await open_database(db_path)
    await write(db, None, ROWS)
    await mark_synced(db)
    await db.close()
    # The daemon builds its index from this file at start-up.
    return await daemon_factory(db_path=db_path)


async def call(daemon: RunningDaemon, method: str, path: str, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    async with (
        aiohttp.ClientSession(headers=auth_headers(daemon.token)) as http,
        http.request(method, f"{daemon.url}{path}", **kwargs) as response,
    ):
        body: dict[str, Any] = await response.json()
        return response.status, body


async def native(daemon: RunningDaemon, message_type: str, params: dict[str, Any]) -> dict[str, Any]:
    status, reply = await call(
        daemon, "POST", "/api/native", json={"id": 7, "type": message_type, "params": params, "v": 1}
    )
    assert status == 200 and reply["id"] == 7
    return reply


async def test_post_lookup_answers_from_the_index_built_at_start_up(daemon: RunningDaemon) -> None:
    status, body = await call(daemon, "POST", "/api/companies/lookup", json={"name": "Globex Ltd"})
    assert status == 200
    assert body["match"]["company_id"] in (1, 2) and body["match"]["confidence"] == "medium"
    assert {warning["kind"] for warning in body["warnings"]} == {"same_name_legal_form"}
    assert body["cache"]["state"] == "ready" and body["cache"]["companies"] == 3
    assert [field["key"] for field in body["company"]][:2] == ["name", "website"]


@pytest.mark.parametrize(
    ("payload", "problem"),
    [({}, "needs a name"), ({"name": "x", "colour": "red"}, "colour"), ({"name": 5}, "name")],
)
async def test_a_bad_lookup_is_refused_with_a_clear_error(
    daemon: RunningDaemon, payload: dict[str, Any], problem: str
) -> None:
    status, body = await call(daemon, "POST", "/api/companies/lookup", json=payload)
    assert status == 400
    assert body["error"]["code"] == "request.invalid" and problem in body["error"]["message"]


async def test_lookup_is_not_served_under_get(daemon: RunningDaemon) -> None:
    async with (
        aiohttp.ClientSession(headers=auth_headers(daemon.token)) as http,
        http.get(f"{daemon.url}/api/companies/lookup", params={"name": "Globex"}) as response,
    ):
        assert response.status == 405


async def test_get_search_lists_companies_for_a_picker(daemon: RunningDaemon) -> None:
    status, body = await call(daemon, "GET", "/api/companies/search", params={"q": "glo", "limit": "1"})
    assert status == 200
    assert [hit["name"] for hit in body["companies"]] == ["Globex Corporation"]
    status, body = await call(daemon, "GET", "/api/companies/search", params={"q": "glo", "limit": "0"})
    assert status == 400 and "limit" in body["error"]["message"]


async def test_confirm_and_unconfirm_over_http(daemon: RunningDaemon) -> None:
    profile = {"name": "Globex Deutschland", "website": "https://globex.de"}
    status, body = await call(daemon, "POST", "/api/companies/confirm", json={**profile, "company_id": 3})
    assert status == 200 and body["confirmed"] is True and body["match"]["company_id"] == 3
    _, again = await call(daemon, "POST", "/api/companies/lookup", json={"website": "globex.de"})
    assert again["confirmed"] is True and again["match"]["confidence"] == "confirmed"

    status, body = await call(daemon, "DELETE", "/api/companies/confirm", json=profile)
    assert (status, body) == (200, {"removed": 2})
    _, after = await call(daemon, "POST", "/api/companies/lookup", json={"website": "globex.de"})
    assert after["match"] is None


async def test_confirming_an_unknown_company_is_refused(daemon: RunningDaemon) -> None:
    status, body = await call(
        daemon, "POST", "/api/companies/confirm", json={"name": "Globex", "company_id": 99}
    )
    assert status == 400 and "not in the company cache" in body["error"]["message"]


async def test_the_native_protocol_serves_the_company_message_types(daemon: RunningDaemon) -> None:
    hello = await native(daemon, "hello", {})
    assert {"company.lookup", "company.search", "company.confirm", "company.unconfirm"} <= set(
        hello["data"]["types"]
    )
    reply = await native(daemon, "company.lookup", {"name": "Northwind Traders Ltd"})
    assert reply["ok"] is True and reply["data"]["match"]["company_id"] == 3
    reply = await native(daemon, "company.search", {"q": "north"})
    assert [hit["id"] for hit in reply["data"]["companies"]] == [3]
    reply = await native(daemon, "company.confirm", {"name": "NW", "company_id": 3})
    assert reply["ok"] is True and reply["data"]["confirmed"] is True
    reply = await native(daemon, "company.unconfirm", {"name": "NW"})
    assert reply["data"] == {"removed": 1}
    reply = await native(daemon, "company.lookup", {})
    assert reply["ok"] is False and reply["error"]["code"] == "request.invalid"


async def test_a_sync_run_by_the_daemon_reaches_its_lookup_index(
    daemon_factory: DaemonFactory, sandbox: SandboxHandle
) -> None:
    daemon = await daemon_factory(
        key=sandbox.key, cats_base_url=sandbox.url, sync=SyncPolicy(automatic=False), check_connection=False
    )
    name = sandbox.store.get_record("companies", 9003)["name"]
    _, before = await call(daemon, "POST", "/api/companies/lookup", json={"name": name})
    assert before["match"] is None and before["cache"]["state"] == "never_synced"

    status, _ = await call(daemon, "POST", "/api/sync", json={"full": True})
    assert status == 202
    async with asyncio.timeout(20):
        while True:
            if not (await call(daemon, "GET", "/api/sync"))[1]["running"]:
                break
            await asyncio.sleep(0.02)
    _, after = await call(daemon, "POST", "/api/companies/lookup", json={"name": name})
    assert after["match"]["company_id"] == 9003
    assert after["cache"]["state"] == "ready" and after["cache"]["companies"] == 20
