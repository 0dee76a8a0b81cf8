"""Custom-field definitions (nine types) and values: shapes, per-type validation, record bodies and PUT."""

from __future__ import annotations

from typing import Any

import pytest

from companion.sandbox.errors import SandboxHttpError
from tests.sandbox.conftest import CatsApi


def _define_all(cats_api: CatsApi, resource: str = "companies") -> dict[str, int]:
    store = cats_api.store
    ids = {
        t: store.create_custom_field(resource, name=f"{t} field", field_type=t)
        for t in ("text", "textarea", "checkbox", "date", "user", "number")
    }
    ids["dropdown"] = store.create_custom_field(
        resource, name="Tier", field_type="dropdown", selections=["Gold", "Silver"]
    )
    ids["radio"] = store.create_custom_field(
        resource, name="Size", field_type="radio", selections=["S", "M", "L"]
    )
    ids["checkboxes"] = store.create_custom_field(
        resource,
        name="Sectors",
        field_type="checkboxes",
        selections=["IT", "Health", "Retail"],
        comment="pick any",
    )
    return ids


async def test_definitions_are_listed_per_resource_with_the_documented_shape(cats_api: CatsApi) -> None:
    ids = _define_all(cats_api)
    cats_api.store.create_custom_field("candidates", name="Visa", field_type="checkbox")
    listed = (await cats_api.get("companies/custom_fields")).body
    assert listed["total"] == 9
    assert {d["field"]["type"] for d in listed["_embedded"]["custom_fields"]} == set(ids)
    tier = (await cats_api.get(f"companies/custom_fields/{ids['dropdown']}")).body
    assert tier["id"] == ids["dropdown"]
    assert tier["data_item_type"] == "company"
    assert tier["name"] == "Tier"
    assert tier["comment"] == ""
    assert [s["label"] for s in tier["field"]["selections"]] == ["Gold", "Silver"]
    assert all(isinstance(s["id"], int) for s in tier["field"]["selections"])
    text = (await cats_api.get(f"companies/custom_fields/{ids['text']}")).body
    assert text["field"] == {"type": "text"}
    assert (await cats_api.get("candidates/custom_fields")).body["total"] == 1


async def test_definition_lists_are_paginated(cats_api: CatsApi) -> None:
    _define_all(cats_api)
    page = (await cats_api.get("companies/custom_fields", per_page=4)).body
    assert page["count"] == 4 and page["total"] == 9
    assert "next" in page["_links"]


async def test_unknown_definition_is_404(cats_api: CatsApi) -> None:
    assert (await cats_api.get("companies/custom_fields/1")).status == 404


@pytest.mark.parametrize(
    ("name", "field_type", "selections"),
    [
        ("", "text", None),
        ("X", "colour", None),
        ("X", "dropdown", None),
        ("X", "text", ["a"]),
        ("X", "radio", ["a", "a"]),
    ],
)
def test_invalid_definitions_are_refused(
    cats_api: CatsApi, name: str, field_type: str, selections: list[str] | None
) -> None:
    with pytest.raises(SandboxHttpError) as caught:
        cats_api.store.create_custom_field(
            "companies", name=name, field_type=field_type, selections=selections
        )
    assert caught.value.status == 400
    assert cats_api.store.record_counts()["custom_fields"] == 0


GOOD: list[tuple[str, Any, Any]] = [
    ("text", "hello", "hello"),
    ("textarea", "line 1\nline 2", "line 1\nline 2"),
    ("checkbox", True, True),
    ("date", "2025-06-30", "2025-06-30"),
    ("dropdown", "Gold", "Gold"),
    ("radio", "M", "M"),
    ("checkboxes", ["IT", "Retail"], ["IT", "Retail"]),
    ("checkboxes", "IT, Health", ["IT", "Health"]),
    ("number", 42, 42),
    ("number", "12.5", 12.5),
]


@pytest.mark.parametrize(("field_type", "value", "stored"), GOOD)
async def test_valid_values_are_stored_in_the_documented_encoding(
    cats_api: CatsApi, field_type: str, value: Any, stored: Any
) -> None:
    ids = _define_all(cats_api)
    cid = await cats_api.company(custom_fields=[{"id": ids[field_type], "value": value}])
    record = (await cats_api.get(f"companies/{cid}")).body
    assert record["_embedded"]["custom_fields"] == [
        {
            "id": ids[field_type],
            "value": stored,
            "_links": {
                "self": {"href": f"/companies/{cid}/custom_fields/{ids[field_type]}"},
                "custom_field": {"href": f"/companies/custom_fields/{ids[field_type]}"},
            },
        }
    ]


async def test_user_field_takes_an_existing_user_id(cats_api: CatsApi) -> None:
    ids = _define_all(cats_api)
    good = await cats_api.company(custom_fields=[{"id": ids["user"], "value": cats_api.owner_id}])
    assert (await cats_api.get(f"companies/{good}/custom_fields/{ids['user']}")).body[
        "value"
    ] == cats_api.owner_id
    reply = await cats_api.post(
        "companies",
        {"name": "X", "owner_id": cats_api.owner_id, "custom_fields": [{"id": ids["user"], "value": 1}]},
    )
    assert reply.status == 400


BAD: list[tuple[str, Any]] = [
    ("text", 5),
    ("textarea", ["a"]),
    ("checkbox", "yes"),
    ("date", "30/06/2025"),
    ("date", "2025-02-30"),
    ("dropdown", "gold"),
    ("dropdown", "Bronze"),
    ("radio", 1),
    ("checkboxes", ["IT", "Mining"]),
    ("checkboxes", 3),
    ("user", "owner"),
    ("number", "many"),
    ("number", True),
]


@pytest.mark.parametrize(("field_type", "value"), BAD)
async def test_invalid_values_are_refused_naming_the_field(
    cats_api: CatsApi, field_type: str, value: Any
) -> None:
    ids = _define_all(cats_api)
    reply = await cats_api.post(
        "companies",
        {
            "name": "X",
            "owner_id": cats_api.owner_id,
            "custom_fields": [{"id": ids[field_type], "value": value}],
        },
    )
    assert reply.status == 400
    assert reply.body["message"] == "Validation failed."
    (detail,) = reply.body["errors"].items()
    assert detail[0] == f"custom_fields.{ids[field_type]}"
    assert cats_api.store.record_counts()["companies"] == 0


async def test_unknown_definition_id_in_a_body_is_refused(cats_api: CatsApi) -> None:
    candidate_field = cats_api.store.create_custom_field("candidates", name="Visa", field_type="checkbox")
    reply = await cats_api.post(
        "companies",
        {
            "name": "X",
            "owner_id": cats_api.owner_id,
            "custom_fields": [{"id": candidate_field, "value": True}],
        },
    )
    assert reply.status == 400
    assert f"custom_fields.{candidate_field}" in reply.body["errors"]


async def test_value_routes_list_get_and_put(cats_api: CatsApi) -> None:
    ids = _define_all(cats_api)
    cid = await cats_api.company(custom_fields=[{"id": ids["text"], "value": "a"}])
    listed = (await cats_api.get(f"companies/{cid}/custom_fields")).body
    assert [row["id"] for row in listed["_embedded"]["custom_fields"]] == [ids["text"]]
    unset = (await cats_api.get(f"companies/{cid}/custom_fields/{ids['dropdown']}")).body
    assert unset["value"] is None and unset["id"] == ids["dropdown"]

    reply = await cats_api.put(f"companies/{cid}/custom_fields/{ids['dropdown']}", {"value": "Silver"})
    assert reply.status == 204
    assert (await cats_api.get(f"companies/{cid}/custom_fields/{ids['dropdown']}")).body["value"] == "Silver"
    assert (
        await cats_api.put(f"companies/{cid}/custom_fields/{ids['dropdown']}", {"value": "Tin"})
    ).status == 400
    assert (await cats_api.put(f"companies/{cid}/custom_fields/{ids['dropdown']}", {})).status == 400
    assert (await cats_api.call("PUT", f"companies/{cid}/custom_fields/{ids['dropdown']}")).status == 400
    assert (await cats_api.put(f"companies/{cid}/custom_fields/1", {"value": "x"})).status == 404
    assert (await cats_api.put(f"companies/99/custom_fields/{ids['text']}", {"value": "x"})).status == 404

    await cats_api.put(f"companies/{cid}/custom_fields/{ids['text']}", {"value": None})
    listed = (await cats_api.get(f"companies/{cid}/custom_fields")).body
    assert [row["id"] for row in listed["_embedded"]["custom_fields"]] == [ids["dropdown"]]


async def test_put_record_custom_fields_changes_only_those_named(cats_api: CatsApi) -> None:
    ids = _define_all(cats_api)
    cid = await cats_api.company(
        custom_fields=[{"id": ids["text"], "value": "keep"}, {"id": ids["number"], "value": 1}]
    )
    await cats_api.put(
        f"companies/{cid}",
        {"name": "N", "owner_id": cats_api.owner_id, "custom_fields": [{"id": ids["number"], "value": 2}]},
    )
    values = {
        row["id"]: row["value"]
        for row in (await cats_api.get(f"companies/{cid}")).body["_embedded"]["custom_fields"]
    }
    assert values == {ids["text"]: "keep", ids["number"]: 2}


async def test_contacts_and_candidates_have_their_own_custom_fields(cats_api: CatsApi) -> None:
    ids = _define_all(cats_api, "contacts")
    company = await cats_api.company()
    contact = await cats_api.contact(company, custom_fields=[{"id": ids["radio"], "value": "L"}])
    row = (await cats_api.get(f"contacts/{contact}/custom_fields/{ids['radio']}")).body
    assert row["value"] == "L"
    definition = (await cats_api.get(f"contacts/custom_fields/{ids['radio']}")).body
    assert definition["data_item_type"] == "contact"
