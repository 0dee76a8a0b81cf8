"""Reading HAL collection pages and following next links to the end."""

from __future__ import annotations

from typing import Any

import pytest
from yarl import URL

from companion.cats.pages import Page, Params, embedded_key, parse_event_page, parse_page, walk_pages
from companion.cats.record_urls import resolve_href
from companion.errors import CatsBadResponseError


def collection(
    ids: list[int], *, total: object, next_href: str | None, key: str = "companies"
) -> dict[str, Any]:
    links: dict[str, Any] = {"self": {"href": f"/{key}"}}
    if next_href:
        links["next"] = {"href": next_href}
    return {
        "count": len(ids),
        "total": total,
        "_links": links,
        "_embedded": {key: [{"id": i} for i in ids]},
    }


@pytest.mark.parametrize(("total", "expected"), [(57, 57), ("2", 2), (None, None), ("many", None)])
def test_total_is_read_whatever_its_type(total: object, expected: int | None) -> None:
    page = parse_page(collection([1, 2], total=total, next_href=None), "companies")
    assert page.total == expected
    assert [item["id"] for item in page.items] == [1, 2]
    assert page.next_href is None


def test_an_empty_collection_may_send_embedded_as_an_empty_object_or_array() -> None:
    embedded: object
    for embedded in ({}, [], None):
        page = parse_page({"count": 0, "total": 0, "_links": {}, "_embedded": embedded}, "companies")
        assert page.items == []


def test_a_single_list_under_an_unexpected_key_is_still_read() -> None:
    body = {"count": 1, "total": 1, "_embedded": {"items": [{"id": 5}]}}
    assert parse_page(body, "companies").items == [{"id": 5}]


@pytest.mark.parametrize(
    "body", [[], "nope", {"_embedded": {"companies": "x"}}, {"_embedded": {"companies": [1]}}]
)
def test_malformed_collections_are_bad_responses(body: object) -> None:
    with pytest.raises(CatsBadResponseError):
        parse_page(body, "companies")


@pytest.mark.parametrize(
    ("path", "key"),
    [
        ("/companies", "companies"),
        ("/companies/search", "companies"),
        ("/candidates/5/activities", "activities"),
        ("/contacts/custom_fields", "custom_fields"),
        ("events", "events"),
    ],
)
def test_the_embedded_key_is_the_collection_name(path: str, key: str) -> None:
    assert embedded_key(path) == key


def test_event_pages_carry_the_cursor() -> None:
    body = {
        "count": 2,
        "last_id": "12",
        "_links": {"next": {"href": "/events?starting_after_id=12"}},
        "_embedded": {"events": [{"id": 11}, {"id": 12}]},
    }
    page = parse_event_page(body)
    assert (page.last_id, page.next_href, len(page.items)) == (12, "/events?starting_after_id=12", 2)


class ScriptedPages:
    """Answers page requests from a dict of (path, page) -> body and records what was asked."""

    def __init__(self, bodies: dict[str, dict[str, Any]]) -> None:
        self.bodies = bodies
        self.asked: list[tuple[str, Params]] = []

    async def fetch(self, path: str, params: Params) -> object:
        self.asked.append((path, dict(params)))
        return self.bodies[params.get("page", "1")]


def resolve(href: str) -> tuple[str, Params]:
    return resolve_href(URL("https://api.catsone.com/v3"), href)


async def collect(pages: ScriptedPages, **kwargs: Any) -> list[Page]:
    return [
        page
        async for page in walk_pages(
            pages.fetch,
            resolve,
            "/companies",
            {"per_page": "100"},
            lambda b: parse_page(b, "companies"),
            **kwargs,
        )
    ]


async def test_pages_are_followed_until_next_disappears_ignoring_total() -> None:
    # total claims far more than exists: the end is where the links stop.
    pages = ScriptedPages(
        {
            "1": collection([1, 2], total=1000, next_href="/companies?page=2&per_page=100"),
            "2": collection([3], total="1000", next_href="/companies?page=3"),
            "3": collection([4], total=None, next_href=None),
        }
    )
    read = await collect(pages)
    assert [item["id"] for page in read for item in page.items] == [1, 2, 3, 4]
    # A next link that forgot per_page keeps ours rather than dropping to CATS's default of 25.
    assert pages.asked[2] == ("/companies", {"page": "3", "per_page": "100"})


async def test_a_next_link_that_loops_back_is_a_bad_response() -> None:
    pages = ScriptedPages(
        {
            "1": collection([1], total=2, next_href="/companies?page=2&per_page=100"),
            "2": collection([2], total=2, next_href="/companies?page=2&per_page=100"),
        }
    )
    with pytest.raises(CatsBadResponseError):
        await collect(pages)
    assert len(pages.asked) == 2


async def test_a_collection_that_never_ends_is_cut_off() -> None:
    bodies = {str(n): collection([n], total=None, next_href=f"/companies?page={n + 1}") for n in range(1, 10)}
    pages = ScriptedPages(bodies)
    with pytest.raises(CatsBadResponseError):
        await collect(pages, max_pages=5)
    assert len(pages.asked) == 5
