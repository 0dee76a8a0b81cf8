"""Ids from Location headers and JSON, and HAL hrefs resolved against the API root."""

from __future__ import annotations

import pytest
from yarl import URL

from companion.cats.record_urls import id_from_location, parse_id, resolve_href
from companion.errors import CatsBadResponseError

BASE = URL("https://api.catsone.com/v3")


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        ("https://api.catsone.com/v3/candidates/700123", 700123),
        ("http://127.0.0.1:8123/v3/activities/3300991", 3300991),
        ("/candidates/42", 42),
        ("/v3/companies/9001/", 9001),
        ("https://api.catsone.com/v3/companies/9001?x=1#frag", 9001),
        ("https://api.catsone.com/v3/companies", None),
        ("", None),
        (None, None),
    ],
)
def test_the_new_id_is_the_trailing_integer_of_location(location: str | None, expected: int | None) -> None:
    assert id_from_location(location) == expected


@pytest.mark.parametrize(
    ("value", "expected"), [(7, 7), ("123456789", 123456789), (" 12 ", 12), (9001.0, 9001)]
)
def test_ids_are_parsed_leniently(value: object, expected: int) -> None:
    assert parse_id(value) == expected


@pytest.mark.parametrize("value", [True, "12a", "", None, 1.5, [1]])
def test_things_that_are_not_ids_are_refused(value: object) -> None:
    with pytest.raises(ValueError):
        parse_id(value)


@pytest.mark.parametrize(
    "href",
    [
        "/companies?page=2&per_page=100",
        "/v3/companies?page=2&per_page=100",
        "https://api.catsone.com/v3/companies?page=2&per_page=100",
        "companies?page=2&per_page=100",
    ],
)
def test_next_links_resolve_to_a_path_under_the_api_root(href: str) -> None:
    assert resolve_href(BASE, href) == ("/companies", {"page": "2", "per_page": "100"})


def test_a_link_to_another_server_is_not_followed() -> None:
    # Following it would hand our API key to whoever runs that server.
    with pytest.raises(CatsBadResponseError):
        resolve_href(BASE, "https://evil.example/v3/companies?page=2")
    with pytest.raises(CatsBadResponseError):
        resolve_href(BASE, "http://api.catsone.com/v3/companies?page=2")
