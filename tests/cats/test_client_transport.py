"""The client's request path on the wire: headers, ids, redirects, odd answers, and a key that never leaks."""

from __future__ import annotations

import json
import logging
import random
import traceback
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest

from companion.cats.budget import RateBudget
from companion.cats.client import CatsClient
from companion.cats.models import CompanyWrite
from companion.cats.retry import RetryPolicy
from companion.errors import (
    CatsBadResponseError,
    CatsError,
    CatsNotFoundError,
    CatsUnavailableError,
    CatsUncertainWriteError,
)
from companion.secret import ApiKey
from tests.cats.fakes import FakeClock, closed_port
from tests.cats.scripted import ScriptedCats, reply

KEY = "transport-secret-key-42"
CREATED = {"Location": "/companies/9001"}


def client_for(server: ScriptedCats, clock: FakeClock | None = None) -> CatsClient:
    return CatsClient(
        server.url,
        ApiKey(KEY),
        timeout=5,
        budget=RateBudget(clock=clock or FakeClock()),
        retry=RetryPolicy(rng=random.Random(0)),
    )


async def test_requests_carry_the_token_and_json_content_type_only_with_a_body(
    scripted: ScriptedCats,
) -> None:
    scripted.then(reply(200, '{"id": 9001, "name": "Northwind Ltd"}'), reply(201, headers=CREATED))
    async with client_for(scripted) as client:
        await client.get_record("companies", 9001)
        await client.create_record(
            "companies", CompanyWrite(name="Northwind Ltd", owner_id=4021), check_duplicate=True
        )
    get, post = scripted.seen
    assert get.headers["Authorization"] == f"Token {KEY}"
    assert "Content-Type" not in get.headers
    assert (get.method, get.path) == ("GET", "/v3/companies/9001")
    assert post.headers["Authorization"] == f"Token {KEY}"
    assert post.headers["Content-Type"] == "application/json"
    assert post.query == {"check_duplicate": "true"}
    assert json.loads(post.body) == {"name": "Northwind Ltd", "owner_id": 4021}


async def test_a_relative_location_gives_the_new_id(scripted: ScriptedCats) -> None:
    scripted.then(reply(201, headers={"Location": "/v3/contacts/55501"}))
    async with client_for(scripted) as client:
        new_id = await client.create_record(
            "contacts",
            {"first_name": "A", "last_name": "B", "owner_id": 1, "company_id": 9001},
            check_duplicate=False,
        )
    assert new_id == 55501
    assert scripted.seen[0].query == {"check_duplicate": "false"}


async def test_a_create_answered_without_location_is_a_bad_response(scripted: ScriptedCats) -> None:
    scripted.then(reply(201, '{"message": "Created"}'))
    async with client_for(scripted) as client:
        with pytest.raises(CatsBadResponseError, match="no usable Location"):
            await client.create_record("companies", {"name": "X", "owner_id": 1}, check_duplicate=True)
    assert len(scripted.seen) == 1


async def test_a_success_whose_body_is_not_json_is_a_bad_response(scripted: ScriptedCats) -> None:
    scripted.then(reply(200, "<html>maintenance</html>"))
    async with client_for(scripted) as client:
        with pytest.raises(CatsBadResponseError, match="not JSON"):
            await client.get_record("companies", 9001)


async def test_redirects_are_not_followed(scripted: ScriptedCats) -> None:
    # Following one could carry the key to whatever host the Location names.
    scripted.then(reply(302, headers={"Location": "https://elsewhere.example/v3/companies/9001"}))
    async with client_for(scripted) as client:
        with pytest.raises(CatsBadResponseError):
            await client.get_record("companies", 9001)
    assert len(scripted.seen) == 1


async def test_a_next_link_to_another_server_is_not_followed(scripted: ScriptedCats) -> None:
    page = {
        "count": 1,
        "total": 2,
        "_links": {"next": {"href": "https://elsewhere.example/v3/companies?page=2"}},
        "_embedded": {"companies": [{"id": 9001}]},
    }
    scripted.then(reply(200, json.dumps(page)))
    async with client_for(scripted) as client:
        with pytest.raises(CatsBadResponseError):
            _ = [row async for row in client.iterate("/companies")]
    assert len(scripted.seen) == 1


@pytest.mark.parametrize("status", [200, 204])
async def test_update_accepts_200_and_204(scripted: ScriptedCats, status: int) -> None:
    scripted.then(reply(status))
    async with client_for(scripted) as client:
        await client.update_record("companies", 9001, {"name": "Northwind", "owner_id": 1})
    assert scripted.seen[0].method == "PUT"


async def test_a_500_on_a_create_is_uncertain_and_not_repeated(scripted: ScriptedCats) -> None:
    scripted.then(reply(500, "<html>oops</html>"))
    async with client_for(scripted) as client:
        with pytest.raises(CatsUncertainWriteError):
            await client.create_record("companies", {"name": "X", "owner_id": 1}, check_duplicate=True)
    assert len(scripted.seen) == 1


async def test_a_503_on_a_create_is_unavailable_and_not_repeated(scripted: ScriptedCats) -> None:
    scripted.then(reply(503, '{"message": "Down for maintenance"}'))
    async with client_for(scripted) as client:
        with pytest.raises(CatsUnavailableError, match="Down for maintenance"):
            await client.create_record("companies", {"name": "X", "owner_id": 1}, check_duplicate=True)
    assert len(scripted.seen) == 1


async def test_a_429_on_a_create_is_sent_again_after_an_http_date_retry_after(scripted: ScriptedCats) -> None:
    clock = FakeClock(start=datetime(2025, 5, 1, 12, tzinfo=UTC).timestamp())
    later = format_datetime(datetime(2025, 5, 1, 12, 0, 20, tzinfo=UTC), usegmt=True)
    scripted.then(reply(429, '{"message": "Too many"}', {"Retry-After": later}), reply(201, headers=CREATED))
    async with client_for(scripted, clock) as client:
        new_id = await client.create_record("companies", {"name": "X", "owner_id": 1}, check_duplicate=True)
    assert new_id == 9001
    assert [seen.method for seen in scripted.seen] == ["POST", "POST"]
    assert clock.sleeps == [pytest.approx(20)]


async def test_search_sends_the_filter_with_every_page_and_stops_at_max_pages(scripted: ScriptedCats) -> None:
    def page(n: int) -> str:
        return json.dumps(
            {
                "count": 1,
                "total": 9,
                "_links": {"next": {"href": f"/companies/search?page={n + 1}&per_page=100"}},
                "_embedded": {"companies": [{"id": 9000 + n}]},
            }
        )

    scripted.then(reply(200, page(1)), reply(200, page(2)), reply(200, page(3)))
    flt = {"field": "name", "filter": "contains", "value": "Northwind"}
    async with client_for(scripted) as client:
        rows = [row async for row in client.search("companies", flt, max_pages=2)]
    assert [row["id"] for row in rows] == [9001, 9002]
    assert [seen.method for seen in scripted.seen] == ["POST", "POST"]
    assert all(json.loads(seen.body) == flt for seen in scripted.seen)
    assert scripted.seen[1].query == {"page": "2", "per_page": "100"}


async def test_pages_resume_from_a_saved_next_link(scripted: ScriptedCats) -> None:
    last = {"count": 1, "total": "3", "_links": {}, "_embedded": {"companies": [{"id": 9003}]}}
    scripted.then(reply(200, json.dumps(last)))
    async with client_for(scripted) as client:
        pages = [p async for p in client.pages("/companies", start_href="/companies?page=3&per_page=100")]
    assert [p.total for p in pages] == [3]
    assert scripted.seen[0].query == {"page": "3", "per_page": "100"}


@pytest.mark.parametrize(
    "bad",
    [
        {"resource": "../users", "record_id": 1},
        {"resource": "companies", "record_id": 0},
        {"resource": "companies", "record_id": True},
    ],
)
async def test_paths_are_built_only_from_plain_names_and_positive_ids(
    scripted: ScriptedCats, bad: dict[str, object]
) -> None:
    async with client_for(scripted) as client:
        with pytest.raises(ValueError):
            await client.get_record(bad["resource"], bad["record_id"])  # type: ignore[arg-type]
    assert scripted.seen == []


def test_a_bare_string_key_is_refused() -> None:
    with pytest.raises(TypeError):
        CatsClient("https://api.catsone.com/v3", KEY)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        CatsClient("ftp://api.catsone.com/v3", ApiKey(KEY))


async def test_the_key_never_appears_in_errors_or_logs(
    scripted: ScriptedCats, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    scripted.then(
        reply(401, '{"message": "Invalid credentials."}'),
        reply(500, "<html>boom</html>"),
        reply(500, "<html>boom</html>"),
        reply(500, "<html>boom</html>"),
        reply(500, "<html>boom</html>"),
        reply(422, '{"message": "Validation failed.", "errors": {"name": "required"}}'),
    )
    errors: list[CatsError] = []
    async with client_for(scripted) as client:
        for call in (
            client.check_connection(),
            client.get_record("companies", 1),
            client.create_record("companies", {"name": "X", "owner_id": 1}, check_duplicate=True),
        ):
            with pytest.raises(CatsError) as caught:
                await call
            errors.append(caught.value)
    unreachable = CatsClient(
        f"http://127.0.0.1:{closed_port()}/v3", ApiKey(KEY), budget=RateBudget(clock=FakeClock())
    )
    async with unreachable:
        with pytest.raises(CatsError) as caught:
            await unreachable.get_record("companies", 1)
        errors.append(caught.value)
    assert [e.code for e in errors] == ["cats.bad_key", "cats.unavailable", "cats.validation", "cats.network"]
    for error in errors:
        text = (
            str(error)
            + repr(error)
            + json.dumps(error.to_dict())
            + "".join(traceback.format_exception(error))
        )
        assert KEY not in text
    assert caplog.records, "the client logs its requests"
    assert all(KEY not in record.getMessage() for record in caplog.records)
    assert KEY not in repr(client) + repr(unreachable)


async def test_a_delete_refused_with_429_then_404_was_never_there(scripted: ScriptedCats) -> None:
    # A 429 means CATS did nothing, so the 404 after it is CATS's real answer.
    scripted.then(
        reply(429, '{"message": "slow down"}', {"Retry-After": "1"}), reply(404, '{"message": "nope"}')
    )
    async with client_for(scripted) as client:
        with pytest.raises(CatsNotFoundError):
            await client.delete_record("companies", 9001)
    assert [seen.method for seen in scripted.seen] == ["DELETE", "DELETE"]
