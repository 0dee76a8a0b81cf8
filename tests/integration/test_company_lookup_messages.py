"""The lookup service inside the daemon: its native message types, and the sync's hook wiring."""

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


async def data(daemon: RunningDaemon, message_type: str, params: dict[str, Any]) -> dict[str, Any]:
    reply = await native(daemon, message_type, params)
    assert reply["ok"] is True, reply
    answer: dict[str, Any] = reply["data"]
    return answer


async def error(daemon: RunningDaemon, message_type: str, params: dict[str, Any]) -> dict[str, Any]:
    reply = await native(daemon, message_type, params)
    assert reply["ok"] is False, reply
    problem: dict[str, Any] = reply["error"]
    return problem


async def test_a_lookup_answers_from_the_index_built_at_start_up(daemon: RunningDaemon) -> None:
    body = await data(daemon, "company.lookup", {"name": "Globex Ltd"})
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
    refused = await error(daemon, "company.lookup", payload)
    assert refused["code"] == "request.invalid" and problem in refused["message"]


async def test_the_company_use_cases_have_no_http_routes_of_their_own(daemon: RunningDaemon) -> None:
    # One way in: the native protocol (the settings window and the CLI need none of these).
    for method, path in [("POST", "/api/companies/lookup"), ("GET", "/api/companies/search")]:
        status, _ = await call(daemon, method, path, json={"name": "Globex"})
        assert status == 404


async def test_search_lists_companies_for_a_picker(daemon: RunningDaemon) -> None:
    body = await data(daemon, "company.search", {"q": "glo", "limit": 1})
    assert [hit["name"] for hit in body["companies"]] == ["Globex Corporation"]
    refused = await error(daemon, "company.search", {"q": "glo", "limit": 0})
    assert refused["code"] == "request.invalid" and "limit" in refused["message"]


async def test_confirm_and_unconfirm(daemon: RunningDaemon) -> None:
    profile = {"name": "Globex Deutschland", "website": "https://globex.de"}
    body = await data(daemon, "company.confirm", {**profile, "company_id": 3})
    assert body["confirmed"] is True and body["match"]["company_id"] == 3
    again = await data(daemon, "company.lookup", {"website": "globex.de"})
    assert again["confirmed"] is True and again["match"]["confidence"] == "confirmed"

    assert await data(daemon, "company.unconfirm", profile) == {"removed": 2}
    after = await data(daemon, "company.lookup", {"website": "globex.de"})
    assert after["match"] is None


async def test_confirming_an_unknown_company_is_refused(daemon: RunningDaemon) -> None:
    refused = await error(daemon, "company.confirm", {"name": "Globex", "company_id": 99})
    assert refused["code"] == "request.invalid" and "not in the company cache" in refused["message"]


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
    before = await data(daemon, "company.lookup", {"name": name})
    assert before["match"] is None and before["cache"]["state"] == "never_synced"

    status, _ = await call(daemon, "POST", "/api/sync", json={"full": True})
    assert status == 202
    async with asyncio.timeout(20):
        while True:
            if not (await call(daemon, "GET", "/api/sync"))[1]["running"]:
                break
            await asyncio.sleep(0.02)
    after = await data(daemon, "company.lookup", {"name": name})
    assert after["match"]["company_id"] == 9003
    assert after["cache"]["state"] == "ready" and after["cache"]["companies"] == 20
