"""The sandbox's switchable quirks: each one changes what it says, and without it the sandbox is as before."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from companion.cli.sandbox import add_arguments, config_from_args
from companion.sandbox.quirks import Quirk, parse_quirks
from tests.fixtures.sandbox import SandboxFactory, SandboxHandle

_COMPANY = {"name": "Quirk Probe Ltd", "website": "https://quirk.example", "key_technologies": "python"}


def _company(handle: SandboxHandle) -> dict[str, Any]:
    owner = handle.store.list_users(1, 1).items[0]["id"]
    return {**_COMPANY, "owner_id": owner}


async def _call(
    handle: SandboxHandle,
    method: str,
    path: str,
    *,
    json: Any = None,
    params: dict[str, str] | None = None,
    scheme: str = "Token",
) -> tuple[int, dict[str, str], Any]:
    headers = {"Authorization": f"{scheme} {handle.api_key}"}
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, handle.url_for(path), headers=headers, json=json, params=params) as reply,
    ):
        raw = await reply.read()
        body = await reply.json() if raw.strip() else None
        return reply.status, dict(reply.headers), body


async def _start(factory: SandboxFactory, *quirks: Quirk, **config: Any) -> SandboxHandle:
    return await factory(seed=3, seed_random=5, quirks=frozenset(quirks), **config)


async def test_date_filter_unsupported_refuses_a_date_modified_search(
    sandbox_factory: SandboxFactory,
) -> None:
    date_filter = {"field": "date_modified", "filter": "greater_than", "value": "2020-01-01T00:00:00+00:00"}
    plain = await _start(sandbox_factory)
    quirky = await _start(sandbox_factory, Quirk.DATE_FILTER_UNSUPPORTED)
    for resource in ("companies", "contacts", "candidates"):
        assert (await _call(plain, "POST", f"{resource}/search", json=date_filter))[0] == 200
        assert (await _call(quirky, "POST", f"{resource}/search", json=date_filter))[0] == 400


async def test_bearer_accepted_takes_the_bearer_scheme_that_the_default_refuses(
    sandbox_factory: SandboxFactory,
) -> None:
    plain = await _start(sandbox_factory)
    quirky = await _start(sandbox_factory, Quirk.BEARER_ACCEPTED)
    assert (await _call(plain, "GET", "site", scheme="Bearer"))[0] == 401
    assert (await _call(quirky, "GET", "site", scheme="Bearer"))[0] == 200
    assert (await _call(quirky, "GET", "site"))[0] == 200


async def test_duplicate_200_answers_a_duplicate_hit_with_the_existing_record(
    sandbox_factory: SandboxFactory,
) -> None:
    flag = {"check_duplicate": "true"}
    plain = await _start(sandbox_factory)
    quirky = await _start(sandbox_factory, Quirk.DUPLICATE_200)
    for handle in (plain, quirky):
        status, headers, _ = await _call(handle, "POST", "companies", json=_company(handle), params=flag)
        assert status == 201
        first = headers["Location"]
    status, headers, _ = await _call(plain, "POST", "companies", json=_company(plain), params=flag)
    assert status == 409
    status, headers, body = await _call(quirky, "POST", "companies", json=_company(quirky), params=flag)
    assert status == 200
    assert headers["Location"] == first
    assert body["name"] == "Quirk Probe Ltd"
    assert first.endswith(f"/companies/{body['id']}")
    assert quirky.store.record_counts()["companies"] == 4


async def test_put_clears_omitted_resets_what_the_body_leaves_out(sandbox_factory: SandboxFactory) -> None:
    results = {}
    for quirks in ((), (Quirk.PUT_CLEARS_OMITTED,)):
        handle = await _start(sandbox_factory, *quirks)
        _, headers, _ = await _call(handle, "POST", "companies", json=_company(handle))
        path = "companies/" + headers["Location"].rsplit("/", 1)[1]
        renamed = {"name": "Quirk Probe Renamed", "owner_id": _company(handle)["owner_id"]}
        assert (await _call(handle, "PUT", path, json=renamed))[0] == 204
        results[quirks] = (await _call(handle, "GET", path))[2]
    assert results[()]["name"] == "Quirk Probe Renamed"
    assert results[()]["website"] == "https://quirk.example"
    cleared = results[(Quirk.PUT_CLEARS_OMITTED,)]
    assert cleared["name"] == "Quirk Probe Renamed"
    assert not cleared["website"]
    assert not cleared["key_technologies"]


async def test_ids_as_strings_turns_every_id_in_a_body_into_a_string(sandbox_factory: SandboxFactory) -> None:
    plain = await _start(sandbox_factory)
    quirky = await _start(sandbox_factory, Quirk.IDS_AS_STRINGS)
    plain_page = (await _call(plain, "GET", "companies", params={"per_page": "2"}))[2]
    quirky_page = (await _call(quirky, "GET", "companies", params={"per_page": "2"}))[2]
    assert all(isinstance(item["id"], int) for item in plain_page["_embedded"]["companies"])
    assert [item["id"] for item in quirky_page["_embedded"]["companies"]] == [
        str(item["id"]) for item in plain_page["_embedded"]["companies"]
    ]
    contact = (await _call(quirky, "GET", "contacts", params={"per_page": "1"}))[2]["_embedded"]["contacts"][
        0
    ]
    assert isinstance(contact["company_id"], str)
    status, headers, _ = await _call(quirky, "POST", "companies", json=_company(quirky))
    assert status == 201
    assert headers["Location"].rsplit("/", 1)[1].isdigit()


async def test_per_page_max_50_clamps_pages_to_fifty(sandbox_factory: SandboxFactory) -> None:
    plain = await sandbox_factory(seed=60, seed_random=5)
    quirky = await sandbox_factory(seed=60, seed_random=5, quirks=frozenset({Quirk.PER_PAGE_MAX_50}))
    assert (await _call(plain, "GET", "companies", params={"per_page": "100"}))[2]["count"] == 60
    page = (await _call(quirky, "GET", "companies", params={"per_page": "100"}))[2]
    assert page["count"] == 50
    assert "per_page=50" in page["_links"]["next"]["href"]


async def test_limit_1500_raises_the_hourly_limit_and_its_headers(sandbox_factory: SandboxFactory) -> None:
    plain = await _start(sandbox_factory)
    quirky = await _start(sandbox_factory, Quirk.LIMIT_1500)
    assert (await _call(plain, "GET", "site"))[1]["X-Rate-Limit-Limit"] == "500"
    headers = (await _call(quirky, "GET", "site"))[1]
    assert headers["X-Rate-Limit-Limit"] == "1500"
    assert headers["X-Rate-Limit-Remaining"] == "1499"


def test_quirks_option_parses_a_list_and_refuses_an_unknown_name() -> None:
    import argparse

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    config = config_from_args(parser.parse_args(["--quirks", "duplicate-200, limit-1500"]))
    assert config.quirks == {Quirk.DUPLICATE_200, Quirk.LIMIT_1500}
    assert config_from_args(parser.parse_args([])).quirks == frozenset()
    with pytest.raises(ValueError, match="unknown quirk 'sometimes-409'"):
        parse_quirks("duplicate-200,sometimes-409")
