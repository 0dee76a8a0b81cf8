"""HAL collections: counts, totals, links, paging parameters, order, and JSON errors for unknown routes."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from tests.sandbox.conftest import CatsApi


async def _companies(cats_api: CatsApi, n: int) -> list[int]:
    with cats_api.store.bulk():
        return [
            cats_api.store.create_record("companies", {"name": f"Co {i}", "owner_id": cats_api.owner_id})
            for i in range(n)
        ]


def _query(href: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(href).query).items()}


async def test_collection_has_count_total_self_link_and_embedded_plural(cats_api: CatsApi) -> None:
    ids = await _companies(cats_api, 3)
    reply = await cats_api.get("companies")
    assert reply.status == 200
    assert reply.body["count"] == 3
    assert reply.body["total"] == 3
    assert reply.body["_links"]["self"]["href"] == "/companies?page=1&per_page=25"
    assert [c["id"] for c in reply.body["_embedded"]["companies"]] == ids


async def test_default_page_size_is_25_and_next_link_only_while_more_pages_exist(cats_api: CatsApi) -> None:
    await _companies(cats_api, 30)
    first = await cats_api.get("companies")
    assert first.body["count"] == 25
    assert _query(first.body["_links"]["next"]["href"]) == {"page": "2", "per_page": "25"}
    assert "prev" not in first.body["_links"]
    second = await cats_api.get("companies", page=2)
    assert second.body["count"] == 5
    assert second.body["total"] == 30
    assert "next" not in second.body["_links"]
    assert _query(second.body["_links"]["prev"]["href"])["page"] == "1"


async def test_last_page_exactly_full_has_no_next_link(cats_api: CatsApi) -> None:
    await _companies(cats_api, 20)
    reply = await cats_api.get("companies", per_page=10, page=2)
    assert reply.body["count"] == 10
    assert "next" not in reply.body["_links"]
    assert _query(reply.body["_links"]["last"]["href"])["page"] == "2"


async def test_pages_walk_every_record_once_in_ascending_id_order(cats_api: CatsApi) -> None:
    ids = await _companies(cats_api, 23)
    seen: list[int] = []
    page, requests = 1, 0
    for _ in range(10):  # bounded: 5 pages are expected
        requests += 1
        reply = await cats_api.get("companies", page=page, per_page=5)
        seen += [c["id"] for c in reply.body["_embedded"]["companies"]]
        if "next" not in reply.body["_links"]:
            break
        page = int(_query(reply.body["_links"]["next"]["href"])["page"])
    assert requests == 5
    assert seen == sorted(ids) == ids


async def test_per_page_above_100_is_clamped_to_100(cats_api: CatsApi) -> None:
    await _companies(cats_api, 120)
    reply = await cats_api.get("companies", per_page=500)
    assert reply.status == 200
    assert reply.body["count"] == 100
    assert _query(reply.body["_links"]["self"]["href"])["per_page"] == "100"
    assert "next" in reply.body["_links"]


async def test_per_page_below_one_or_not_a_number_is_refused(cats_api: CatsApi) -> None:
    for bad in ({"per_page": 0}, {"per_page": -3}, {"per_page": "ten"}, {"page": 0}, {"page": "x"}):
        reply = await cats_api.get("companies", **bad)
        assert reply.status == 400, bad
        assert "message" in reply.body


async def test_page_past_the_end_is_empty_not_an_error(cats_api: CatsApi) -> None:
    await _companies(cats_api, 3)
    reply = await cats_api.get("companies", page=7)
    assert reply.status == 200
    assert reply.body["count"] == 0
    assert reply.body["total"] == 3
    assert reply.body["_embedded"]["companies"] == []
    assert "next" not in reply.body["_links"]


async def test_unknown_query_parameters_are_ignored(cats_api: CatsApi) -> None:
    await _companies(cats_api, 2)
    reply = await cats_api.get("companies", sort="name", q="nothing")
    assert reply.status == 200
    assert reply.body["total"] == 2


async def test_empty_collection_has_total_zero_and_no_next(cats_api: CatsApi) -> None:
    reply = await cats_api.get("candidates")
    assert reply.body == {
        "count": 0,
        "total": 0,
        "_links": {
            "self": {"href": "/candidates?page=1&per_page=25"},
            "first": {"href": "/candidates?page=1&per_page=25"},
            "last": {"href": "/candidates?page=1&per_page=25"},
        },
        "_embedded": {"candidates": []},
    }


async def test_unknown_paths_and_methods_answer_json_404(cats_api: CatsApi) -> None:
    company = await cats_api.company()
    for method, path in (
        ("GET", "users/current"),
        ("GET", "saved_searches"),
        ("PATCH", f"companies/{company}"),
        ("GET", "companies/abc"),
    ):
        reply = await cats_api.call(method, path)
        assert reply.status == 404, (method, path)
        assert reply.body == {"message": "Not found."}


async def test_a_late_page_of_10000_companies_holds_exactly_its_slice(cats_api: CatsApi) -> None:
    # Speed is measured by benchmarks/sandbox_seed_bench.py; here only the slice at scale.
    await _companies(cats_api, 10_000)
    page = cats_api.store.list_records("companies", 99, 100)
    assert page.total == 10_000
    assert [item["id"] for item in page.items] == list(range(9001 + 9800, 9001 + 9900))
