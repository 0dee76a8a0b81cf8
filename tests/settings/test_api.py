"""The daemon's settings API over loopback HTTP: settings and locks, catalogue, CATS connection, policy."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any
from unittest import mock

import aiohttp
import pytest

from companion import paths
from companion.errors import AdminRequiredError
from companion.keystore import SERVICE_NAME, normalize_base_url
from companion.sandbox.quirks import Quirk
from companion.settings.policy import POLICY_ENV
from tests.fixtures.daemon import DaemonFactory, auth_headers
from tests.fixtures.keyring import MemoryKeyring
from tests.fixtures.sandbox import SandboxFactory, SandboxHandle
from tests.settings.helpers import policy, write_json

TRIGGER = "sync.candidates.campaign_sync_trigger"

Api = Callable[..., Awaitable[aiohttp.ClientSession]]


@pytest.fixture
def site_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This test's system-wide config dir; no policy named through the environment."""
    monkeypatch.delenv(POLICY_ENV, raising=False)
    return tmp_path / "site"


@pytest.fixture
async def api(daemon_factory: DaemonFactory, site_dir: Path) -> AsyncIterator[Api]:
    """`await api(**DaemonConfig fields)`: a daemon using `site_dir`, and a session that sends its token."""
    sessions: list[aiohttp.ClientSession] = []

    async def start(**overrides: Any) -> aiohttp.ClientSession:
        daemon = await daemon_factory(site_config_dir=site_dir, **overrides)
        session = aiohttp.ClientSession(base_url=daemon.url, headers=auth_headers(daemon.token))
        sessions.append(session)
        return session

    yield start
    for session in sessions:
        await session.close()


async def _json(response: aiohttp.ClientResponse) -> Any:
    return json.loads(await response.text())


def _user_file() -> Path:
    return paths.config_dir() / "settings.json"


# --- settings ------------------------------------------------------------------------------------


async def test_the_settings_answer_holds_values_sources_locks_problems_warnings_and_catalogue(
    api: Api, site_dir: Path
) -> None:
    write_json(site_dir / "policy.json", policy({TRIGGER: "never"}, [TRIGGER]))
    session = await api()
    async with session.get("/api/settings") as response:
        assert response.status == 200
        body = await _json(response)
    assert body["values"]["sync"]["candidates"]["campaign_sync_trigger"] == "never"
    assert body["settings"][TRIGGER] == {"value": "never", "source": "team", "locked": True}
    assert body["settings"]["general.do_not_merge"] == {"value": False, "source": "builtin", "locked": False}
    assert body["problems"] == []
    assert [w["kind"] for w in body["warnings"]] == ["no_owner"]
    assert body["policy"] == {
        "path": str(site_dir / "policy.json"),
        "origin": "site",
        "in_force": True,
        "fallback": None,
        "locked": [TRIGGER],
    }
    assert body["catalogue"]["fetched_at"] is None and body["catalogue"]["stale"] is True
    assert body["admin"] is False


async def test_a_change_is_applied_and_kept_in_the_users_file(api: Api) -> None:
    session = await api()
    async with session.patch("/api/settings", json={"general.company_warning_level": "exact"}) as response:
        assert response.status == 200
        body = await _json(response)
    assert body["settings"]["general.company_warning_level"] == {
        "value": "exact",
        "source": "user",
        "locked": False,
    }
    assert json.loads(_user_file().read_text())["values"] == {"general.company_warning_level": "exact"}


async def test_a_change_to_a_locked_setting_is_refused_and_nothing_changes(api: Api, site_dir: Path) -> None:
    write_json(site_dir / "policy.json", policy({TRIGGER: "never"}, [TRIGGER]))
    session = await api()
    changes = {"general.do_not_merge": True, TRIGGER: "on_add"}
    async with session.patch("/api/settings", json=changes) as response:
        assert response.status == 403
        error = (await _json(response))["error"]
    assert error["code"] == "settings.locked"
    assert error["paths"] == [TRIGGER]
    assert TRIGGER in error["message"]
    assert not _user_file().exists()
    async with session.get("/api/settings") as response:
        body = await _json(response)
    assert body["values"]["general"]["do_not_merge"] is False
    assert body["values"]["sync"]["candidates"]["campaign_sync_trigger"] == "never"


async def test_an_unknown_setting_is_refused(api: Api) -> None:
    session = await api()
    async with session.patch("/api/settings", json={"general.volume": 11}) as response:
        assert response.status == 400
        error = (await _json(response))["error"]
    assert (error["code"], error["paths"]) == ("settings.unknown", ["general.volume"])
    assert not _user_file().exists()


async def test_an_invalid_value_is_refused_in_plain_words(api: Api) -> None:
    session = await api()
    async with session.patch("/api/settings", json={"cache.incremental_interval_minutes": "ten"}) as response:
        assert response.status == 400
        error = (await _json(response))["error"]
    assert error["code"] == "settings.invalid"
    assert error["message"] == "cache.incremental_interval_minutes: must be a valid integer (got 'ten')"
    assert error["details"] == [
        {"path": "cache.incremental_interval_minutes", "message": "must be a valid integer (got 'ten')"}
    ]


@pytest.mark.parametrize("body", [b"[1, 2]", b"{not json"])
async def test_a_body_that_is_not_a_json_object_is_a_bad_request(api: Api, body: bytes) -> None:
    session = await api()
    headers = {"Content-Type": "application/json"}
    async with session.patch("/api/settings", data=body, headers=headers) as response:
        assert response.status == 400
        assert (await _json(response))["error"]["code"] == "request.invalid"


async def test_reset_puts_settings_back_to_their_defaults(api: Api) -> None:
    session = await api()
    async with session.patch("/api/settings", json={"general.do_not_merge": True, TRIGGER: "on_add"}):
        pass
    async with session.post("/api/settings/reset", json={"paths": [TRIGGER]}) as response:
        assert response.status == 200
        body = await _json(response)
    assert body["settings"][TRIGGER]["source"] == "builtin"
    assert body["settings"]["general.do_not_merge"]["source"] == "user"
    async with session.post("/api/settings/reset", json={"all": True}) as response:
        assert (await _json(response))["settings"]["general.do_not_merge"]["source"] == "builtin"
    async with session.post("/api/settings/reset", json={"paths": "general"}) as response:
        assert response.status == 400


async def test_the_schema_lists_every_setting_and_our_variables(api: Api) -> None:
    session = await api()
    async with session.get("/api/settings/schema") as response:
        body = await _json(response)
    assert TRIGGER in body["paths"]
    assert {"key": "linkedin", "kind": "social"}.items() <= body["variables"][-5].items()
    assert body["schema"]["title"] == "Settings"
    assert {"ref": "company_id", "label": "Company", "type": "company"} in body["standard_fields"]["contacts"]


# --- the CATS connection and the catalogue -------------------------------------------------------


async def test_activating_a_good_key_stores_it_and_connects(
    api: Api, sandbox: SandboxHandle, memory_keyring: MemoryKeyring, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    session = await api(cats_base_url=sandbox.url)
    async with session.post("/api/connection", json={"api_key": sandbox.api_key}) as response:
        assert response.status == 200
        text = await response.text()
    assert json.loads(text)["state"] == "connected"
    assert sandbox.api_key not in text
    assert memory_keyring.passwords == {(SERVICE_NAME, normalize_base_url(sandbox.url)): sandbox.api_key}
    async with session.get("/api/status") as response:
        assert (await _json(response))["cats"]["state"] == "connected"
    assert "CATS API key activated" in caplog.text
    assert sandbox.api_key not in caplog.text


async def test_a_bad_key_is_refused_and_nothing_is_stored(
    api: Api, sandbox: SandboxHandle, memory_keyring: MemoryKeyring, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    session = await api(cats_base_url=sandbox.url)
    wrong = "definitely-not-the-sandbox-key"
    async with session.post("/api/connection", json={"api_key": wrong}) as response:
        text = await response.text()
        assert response.status == 502
    assert json.loads(text)["error"]["code"] == "cats.bad_key"
    assert wrong not in text
    assert memory_keyring.passwords == {}
    async with session.get("/api/status") as response:
        assert (await _json(response))["cats"]["state"] != "connected"
    assert wrong not in caplog.text


@pytest.mark.parametrize("body", [{}, {"api_key": ""}, {"api_key": 12}, {"api_key": "k", "also": 1}])
async def test_an_activation_without_a_usable_key_is_a_bad_request(
    api: Api, body: dict[str, Any], memory_keyring: MemoryKeyring
) -> None:
    session = await api()
    async with session.post("/api/connection", json=body) as response:
        assert response.status == 400
    assert memory_keyring.passwords == {}


async def test_disconnecting_forgets_the_key(
    api: Api, sandbox: SandboxHandle, memory_keyring: MemoryKeyring
) -> None:
    session = await api(cats_base_url=sandbox.url)
    async with session.post("/api/connection", json={"api_key": sandbox.api_key}):
        pass
    async with session.delete("/api/connection") as response:
        assert response.status == 200
        body = await _json(response)
    assert (body["deleted"], body["state"]) == (True, "not_configured")
    assert memory_keyring.passwords == {}
    async with session.post("/api/catalogue/refresh") as response:
        assert (response.status, (await _json(response))["error"]["code"]) == (409, "key.missing")


async def test_refreshing_the_catalogue_through_the_api_costs_four_requests(
    api: Api, sandbox: SandboxHandle
) -> None:
    session = await api(cats_base_url=sandbox.url)
    async with session.post("/api/connection", json={"api_key": sandbox.api_key}):
        pass
    await sandbox.control.reset_counters()
    async with session.post("/api/catalogue/refresh") as response:
        assert response.status == 200
        catalogue = await _json(response)
    assert (await sandbox.control.counters())["requests_total"] == 4
    assert catalogue["stale"] is False
    assert any(f["label"] == "Seniority" and f["type"] == "dropdown" for f in catalogue["fields"]["contacts"])
    async with session.get("/api/catalogue") as response:
        assert (await _json(response))["fetched_at"] == catalogue["fetched_at"]
    assert (await sandbox.control.counters())["requests_total"] == 4


# --- the team policy -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/api/policy"), ("PUT", "/api/policy"), ("GET", "/api/policy/export")]
)
async def test_the_policy_routes_are_for_admins_only(
    api: Api, site_dir: Path, method: str, path: str
) -> None:
    session = await api()
    async with session.request(method, path, json=policy(locked=[TRIGGER])) as response:
        assert response.status == 403
        assert (await _json(response))["error"]["code"] == "policy.admin_required"
    assert not (site_dir / "policy.json").exists()


async def test_an_admin_locks_a_setting_and_exports_the_policy(api: Api, site_dir: Path) -> None:
    session = await api(admin=True)
    team = policy({TRIGGER: "when_interested"}, [TRIGGER])
    async with session.put("/api/policy", json=team) as response:
        assert response.status == 200
        body = await _json(response)
    assert body["settings"][TRIGGER] == {"value": "when_interested", "source": "team", "locked": True}
    assert json.loads((site_dir / "policy.json").read_text()) == team
    async with session.get("/api/policy/export") as response:
        assert response.headers["Content-Disposition"] == 'attachment; filename="policy.json"'
        assert json.loads(await response.text()) == team
    async with session.get("/api/policy") as response:
        assert (await _json(response))["origin"] == "site"


async def test_an_invalid_policy_from_an_admin_is_refused_and_not_installed(api: Api, site_dir: Path) -> None:
    session = await api(admin=True)
    async with session.put("/api/policy", json=policy({TRIGGER: "sometimes"})) as response:
        assert response.status == 400
        error = (await _json(response))["error"]
    assert error["code"] == "policy.invalid"
    assert TRIGGER in error["message"]
    assert not (site_dir / "policy.json").exists()


async def test_admin_mode_is_refused_at_start_to_a_user_who_may_not_write_the_site_dir(api: Api) -> None:
    with (
        mock.patch("companion.settings.policy.os.access", return_value=False),
        pytest.raises(AdminRequiredError),
    ):
        await api(admin=True)


# --- the account probe ---------------------------------------------------------------------------


async def test_checking_the_cats_account_probes_it_stores_the_profile_and_refuses_a_bad_body(
    api: Api, sandbox_factory: SandboxFactory
) -> None:
    quirky = await sandbox_factory(seed=60, quirks=frozenset({Quirk.PER_PAGE_MAX_50, Quirk.DUPLICATE_200}))
    session = await api(cats_base_url=quirky.url)
    async with session.post("/api/cats/probe", json={"write_probes": False}) as response:
        assert (response.status, (await _json(response))["error"]["code"]) == (409, "key.missing")
    async with session.post("/api/connection", json={"api_key": quirky.api_key}):
        pass
    companies = quirky.store.record_counts()["companies"]
    async with session.post("/api/cats/probe", json={"write_probes": "yes"}) as response:
        assert response.status == 400
    await quirky.control.reset_counters()
    async with session.post("/api/cats/probe", json={"write_probes": True}) as response:
        assert response.status == 200
        report = await _json(response)
    assert report["answers"]["per_page_max"] == 50
    assert report["answers"]["duplicate_status"] == 200
    assert report["writes_left_behind"] == 0
    assert report["requests"] == (await quirky.control.counters())["requests_total"] <= 22
    assert any(row["question"] == "largest page (per_page)" for row in report["rows"])
    assert quirky.store.record_counts()["companies"] == companies
