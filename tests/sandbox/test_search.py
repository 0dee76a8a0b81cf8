"""Free-text search and structured filters: operators, groups, field/operator rules, dates as instants."""

from __future__ import annotations

from typing import Any

import pytest

from companion.settings.models import Settings
from tests.sandbox.conftest import CatsApi


async def _towns(cats_api: CatsApi) -> dict[str, int]:
    ids = {}
    for name, city, website in (
        ("Logan Lake Mining", "Logan Lake", "https://logan.example"),
        ("Williams Lake Timber", "Williams Lake", None),
        ("Utrecht Data BV", "Utrecht", "https://data.example"),
        ("Amersfoort Analytics", "Amersfoort", ""),
    ):
        ids[name] = await cats_api.company(name=name, address={"city": city}, website=website)
    return ids


async def _search(cats_api: CatsApi, resource: str, body: Any, **params: Any) -> list[int]:
    reply = await cats_api.post(f"{resource}/search", body, **params)
    assert reply.status == 200, reply.text
    return [r["id"] for r in reply.body["_embedded"][resource]]


async def test_exactly_matches_the_whole_value_ignoring_case(cats_api: CatsApi) -> None:
    ids = await _towns(cats_api)
    found = await _search(
        cats_api, "companies", {"field": "address.city", "filter": "exactly", "value": "logan lake"}
    )
    assert found == [ids["Logan Lake Mining"]]


async def test_contains_matches_any_token_of_the_value_like_live_cats(cats_api: CatsApi) -> None:
    ids = await _towns(cats_api)
    found = await _search(
        cats_api, "companies", {"field": "address.city", "filter": "contains", "value": "Logan Lake"}
    )
    assert found == [ids["Logan Lake Mining"], ids["Williams Lake Timber"]]
    found = await _search(cats_api, "companies", {"field": "name", "filter": "contains", "value": "DATA"})
    assert found == [ids["Utrecht Data BV"]]


async def test_is_empty_true_and_false(cats_api: CatsApi) -> None:
    ids = await _towns(cats_api)
    empty = await _search(cats_api, "companies", {"field": "website", "filter": "is_empty", "value": True})
    assert empty == [ids["Williams Lake Timber"], ids["Amersfoort Analytics"]]
    filled = await _search(cats_api, "companies", {"field": "website", "filter": "is_empty", "value": False})
    assert filled == [ids["Logan Lake Mining"], ids["Utrecht Data BV"]]


async def test_numeric_comparisons_and_between_on_ids(cats_api: CatsApi) -> None:
    ids = sorted((await _towns(cats_api)).values())
    assert (
        await _search(cats_api, "companies", {"field": "id", "filter": "greater_than", "value": ids[1]})
        == ids[2:]
    )
    assert (
        await _search(cats_api, "companies", {"field": "id", "filter": "less_than", "value": ids[1]})
        == ids[:1]
    )
    between = {"field": "id", "filter": "between", "value": [ids[1], ids[2]]}
    assert await _search(cats_api, "companies", between) == ids[1:3]
    assert (
        await _search(cats_api, "companies", {"field": "id", "filter": "exactly", "value": str(ids[3])})
        == ids[3:]
    )


async def test_dates_compare_as_instants_whatever_their_offset(cats_api: CatsApi) -> None:
    early = await cats_api.company()
    cats_api.clock.advance(3600)  # 13:00 UTC
    late = await cats_api.company()
    # 14:30+02:00 is 12:30 UTC: after the first, before the second.
    cut = "2025-05-01T14:30:00+02:00"
    assert await _search(
        cats_api, "companies", {"field": "date_modified", "filter": "greater_than", "value": cut}
    ) == [late]
    assert await _search(
        cats_api, "companies", {"field": "date_created", "filter": "less_than", "value": cut}
    ) == [early]
    window = {
        "field": "date_modified",
        "filter": "between",
        "value": ["2025-05-01T07:59:00-05:00", "2025-05-01T13:00:00Z"],
    }
    assert await _search(cats_api, "companies", window) == [late]


async def test_an_update_moves_a_record_into_a_date_modified_window(cats_api: CatsApi) -> None:
    first, second = await cats_api.company(), await cats_api.company()
    cats_api.clock.advance(600)
    await cats_api.put(f"companies/{first}", {"name": "Changed", "owner_id": cats_api.owner_id})
    changed = await _search(
        cats_api,
        "companies",
        {"field": "date_modified", "filter": "greater_than", "value": "2025-05-01T12:05:00Z"},
    )
    assert changed == [first]
    assert second not in changed


async def test_and_or_not_groups_nest(cats_api: CatsApi) -> None:
    ids = await _towns(cats_api)
    body = {
        "and": [
            {"field": "name", "filter": "contains", "value": "Lake Utrecht"},
            {
                "or": [
                    {"field": "address.city", "filter": "exactly", "value": "Utrecht"},
                    {"field": "address.city", "filter": "exactly", "value": "Williams Lake"},
                ]
            },
        ]
    }
    assert await _search(cats_api, "companies", body) == [ids["Williams Lake Timber"], ids["Utrecht Data BV"]]
    negated = {"not": {"field": "name", "filter": "contains", "value": "Lake"}}
    assert await _search(cats_api, "companies", negated) == [
        ids["Utrecht Data BV"],
        ids["Amersfoort Analytics"],
    ]
    shouted = {"AND": [{"field": "name", "filter": "contains", "value": "Amersfoort"}]}
    assert await _search(cats_api, "companies", shouted) == [ids["Amersfoort Analytics"]]


@pytest.mark.parametrize(
    ("resource", "condition"),
    [
        ("companies", {"field": "name", "filter": "greater_than", "value": "A"}),
        ("companies", {"field": "address.city", "filter": "geo_distance", "value": "x"}),
        ("companies", {"field": "notes", "filter": "contains", "value": "x"}),
        ("companies", {"field": "date_modified", "filter": "contains", "value": "2025"}),
        ("candidates", {"field": "id", "filter": "contains", "value": "7"}),
        ("contacts", {"field": "first_name", "filter": "between", "value": ["a", "b"]}),
        ("activities", {"field": "type", "filter": "contains", "value": "call"}),
    ],
)
async def test_operator_not_allowed_on_a_field_is_refused_with_the_cats_message(
    cats_api: CatsApi, resource: str, condition: dict[str, Any]
) -> None:
    reply = await cats_api.post(f"{resource}/search", condition)
    assert reply.status == 400
    assert reply.body == {"message": "That filter cannot be used on this field"}
    nested = await cats_api.post(
        f"{resource}/search", {"and": [{"field": "id", "filter": "is_empty"}, condition]}
    )
    assert nested.body == {"message": "That filter cannot be used on this field"}


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"field": "id", "filter": "between", "value": [1]},
        {"field": "date_modified", "filter": "greater_than", "value": "yesterday"},
        {"field": "id", "filter": "greater_than", "value": "nine"},
        {"and": []},
        {"xor": [{"field": "id", "filter": "is_empty"}]},
        {"field": "name", "filter": "is_empty", "value": "yes"},
        [{"field": "name", "filter": "exactly", "value": "x"}],
    ],
)
async def test_malformed_filters_are_refused(cats_api: CatsApi, body: Any) -> None:
    await cats_api.company()
    reply = await cats_api.post("companies/search", body)
    assert reply.status == 400
    assert "message" in reply.body


async def test_search_post_without_a_body_is_refused(cats_api: CatsApi) -> None:
    assert (await cats_api.call("POST", "companies/search")).status == 400


async def test_free_text_query_needs_every_token_somewhere_in_names_email_title_or_website(
    cats_api: CatsApi,
) -> None:
    ada = await cats_api.candidate(
        first_name="Ada",
        last_name="Lovelace",
        title="Data Engineer",
        emails=[{"email": "ada@engines.example", "is_primary": True}],
    )
    await cats_api.candidate(first_name="Ada", last_name="Byron")
    reply = await cats_api.get("candidates/search", query="ada engineer")
    assert [c["id"] for c in reply.body["_embedded"]["candidates"]] == [ada]
    reply = await cats_api.get("candidates/search", query="engines.example")
    assert reply.body["total"] == 1
    ids = await _towns(cats_api)
    reply = await cats_api.get("companies/search", query="data.example")
    assert [c["id"] for c in reply.body["_embedded"]["companies"]] == [ids["Utrecht Data BV"]]


async def test_free_text_query_is_required(cats_api: CatsApi) -> None:
    for params in ({}, {"query": "  "}, {"q": "ada"}):
        reply = await cats_api.get("candidates/search", **params)
        assert reply.status == 400, params
        assert reply.body == {"message": "The query parameter is required."}


async def test_query_parameter_narrows_a_structured_filter(cats_api: CatsApi) -> None:
    ids = await _towns(cats_api)
    lakes = {"field": "address.city", "filter": "contains", "value": "Lake"}
    assert await _search(cats_api, "companies", lakes, query="timber") == [ids["Williams Lake Timber"]]


async def test_search_results_are_paginated_with_links_to_the_same_search(cats_api: CatsApi) -> None:
    with cats_api.store.bulk():
        for i in range(30):
            cats_api.store.create_record("companies", {"name": f"Acme {i}", "owner_id": cats_api.owner_id})
    reply = await cats_api.post(
        "companies/search",
        {"field": "name", "filter": "contains", "value": "acme"},
        per_page=10,
        page=2,
        query="acme",
    )
    assert reply.body["count"] == 10 and reply.body["total"] == 30
    assert reply.body["_links"]["next"]["href"] == "/companies/search?query=acme&page=3&per_page=10"


async def test_contacts_filter_by_email_and_company(cats_api: CatsApi) -> None:
    acme, other = await cats_api.company(), await cats_api.company()
    grace = await cats_api.contact(acme, emails=[{"email": "grace@acme.example", "is_primary": True}])
    await cats_api.contact(other)
    by_email = {"field": "emails.primary", "filter": "exactly", "value": "GRACE@acme.example"}
    assert await _search(cats_api, "contacts", by_email) == [grace]
    assert await _search(
        cats_api, "contacts", {"field": "company_id", "filter": "exactly", "value": acme}
    ) == [grace]


async def test_activities_filter_by_type_and_data_item(cats_api: CatsApi) -> None:
    cand = await cats_api.candidate()
    call = await cats_api.create(f"candidates/{cand}/activities", {"type": "call_talked", "notes": "Spoke"})
    await cats_api.create(f"candidates/{cand}/activities", {"type": "email", "notes": "Sent"})
    body = {
        "and": [
            {"field": "type", "filter": "exactly", "value": "call_talked"},
            {"field": "data_item.id", "filter": "exactly", "value": cand},
        ]
    }
    assert await _search(cats_api, "activities", body) == [call]
    reply = await cats_api.get("activities/search", query="spoke")
    assert [a["id"] for a in reply.body["_embedded"]["activities"]] == [call]


async def test_is_empty_without_a_value_means_empty_and_not_takes_a_list_meaning_none_of(
    cats_api: CatsApi,
) -> None:
    ids = await _towns(cats_api)
    assert await _search(cats_api, "companies", {"field": "website", "filter": "is_empty"}) == [
        ids["Williams Lake Timber"],
        ids["Amersfoort Analytics"],
    ]
    none_of = {
        "not": [
            {"field": "name", "filter": "contains", "value": "Logan"},
            {"field": "name", "filter": "contains", "value": "Amersfoort"},
        ]
    }
    assert await _search(cats_api, "companies", none_of) == [
        ids["Williams Lake Timber"],
        ids["Utrecht Data BV"],
    ]


async def test_social_media_urls_contains_finds_a_person_by_profile_url(cats_api: CatsApi) -> None:
    owner = cats_api.owner_id
    found = cats_api.store.create_record(
        "candidates",
        {
            "first_name": "Ada",
            "last_name": "Byron",
            "owner_id": owner,
            "social_media_urls": ["https://www.linkedin.com/in/ada-byron-1815"],
        },
    )
    cats_api.store.create_record(
        "candidates",
        {
            "first_name": "Ada",
            "last_name": "Other",
            "owner_id": owner,
            "social_media_urls": ["https://www.linkedin.com/in/someone-else"],
        },
    )
    reply = await cats_api.post(
        "candidates/search",
        {"field": "social_media_urls", "filter": "contains", "value": "linkedin.com/in/ada-byron-1815"},
    )
    assert reply.status == 200
    assert [item["id"] for item in reply.body["_embedded"]["candidates"]] == [found]
    refused = await cats_api.post(
        "candidates/search", {"field": "social_media_urls", "filter": "exactly", "value": "x"}
    )
    assert refused.status == 400


_DEFAULTS = Settings().sync


@pytest.mark.parametrize(
    ("resource", "field"),
    [
        (resource, field)
        for resource in ("candidates", "contacts")
        for field in getattr(_DEFAULTS, resource).filterable_fields
    ],
)
async def test_the_teams_default_filterable_fields_are_filterable(
    cats_api: CatsApi, resource: str, field: str
) -> None:
    # The settings' default filterable fields (offered on the extension's search page) must work.
    operator = "exactly" if field.endswith("_id") else "contains"
    value: Any = 1 if field.endswith("_id") else "x"
    reply = await cats_api.post(f"{resource}/search", {"field": field, "filter": operator, "value": value})
    assert reply.status == 200, reply.text
