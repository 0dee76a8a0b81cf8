"""Read-merge-write: the update of an existing record never blanks, never duplicates, respects protection."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from companion.cats.models import CandidateUpdate, ContactWrite
from companion.rules.merge import plan_merge
from tests.rules.builders import OTHER_USER, OWNER, settings


def candidate(**changes: Any) -> dict[str, Any]:
    """A candidate as GET /candidates/{id} returns it (REFERENCE.md §6.1)."""
    record: dict[str, Any] = {
        "id": 700123,
        "first_name": "Ada",
        "middle_name": None,
        "last_name": "Lovelace",
        "title": "Data Engineer",
        "emails": {"primary": "ada@example.org", "secondary": None},
        "phones": {"home": None, "cell": "+31612345678", "work": None},
        "address": {"street": "Kade 1", "city": "Utrecht", "state": "UT", "postal_code": "3511AA"},
        "country_code": "NL",
        "social_media_urls": ["https://www.linkedin.com/in/ada-l"],
        "website": None,
        "current_employer": "Analytical Engines BV",
        "key_skills": "Python, SQL",
        "notes": "",
        "source": "Referral",
        "is_hot": False,
        "owner_id": OWNER,
        "date_created": "2025-05-01T12:00:00+00:00",
        "_embedded": {"custom_fields": [{"id": 88001, "value": "Dutch"}, {"id": 88007, "value": ["Python"]}]},
    }
    record.update(changes)
    return record


def contact(**changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": "55501",  # the live webhook sample had string ids
        "first_name": "Grace",
        "last_name": "Hopper",
        "title": "CTO",
        "owner_id": OWNER,
        "company_id": 17,
        "emails": {"primary": "grace@navy.example", "secondary": "gh@home.example"},
        "phones": {"work": "+12025550100", "cell": None},
        "social_media_urls": [],
        "_embedded": {"custom_fields": []},
    }
    record.update(changes)
    return record


def names(first: str = "Ada", last: str = "Lovelace") -> dict[str, Any]:
    return {"first_name": first, "last_name": last}


# --- nothing to do ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "desired",
    [
        names(),
        {**names(), "title": "Data Engineer", "address": {"city": "Utrecht"}},
        {**names(), "emails": [{"email": "ADA@example.org", "is_primary": True}]},
        {**names(), "phones": [{"number": "+31 6 1234 5678", "type": "mobile"}]},
        {**names(), "social_media_urls": ["https://uk.linkedin.com/in/Ada-L/"]},
        {**names(), "custom_fields": [{"id": 88001, "value": "Dutch"}, {"id": 88007, "value": ["Python"]}]},
        {**names(), "title": "", "key_skills": None},
    ],
)
def test_nothing_new_costs_no_request(desired: dict[str, Any]) -> None:
    plan = plan_merge(candidate(), desired, "candidates", settings())

    assert plan.body is None
    assert plan.subrecords == []
    assert plan.changed_fields == []
    assert plan.requests == 0


# --- the PUT body -----------------------------------------------------------------------------------


def test_a_changed_field_is_put_with_the_whole_record_so_nothing_is_blanked() -> None:
    plan = plan_merge(candidate(), {**names(), "title": "Principal Engineer"}, "candidates", settings())

    assert plan.changed_fields == ["title"]
    assert plan.body == {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "title": "Principal Engineer",
        "address": {"street": "Kade 1", "city": "Utrecht", "state": "UT", "postal_code": "3511AA"},
        "country_code": "NL",
        "social_media_urls": ["https://www.linkedin.com/in/ada-l"],
        "current_employer": "Analytical Engines BV",
        "key_skills": "Python, SQL",
        "notes": "",
        "source": "Referral",
        "is_hot": False,
        "owner_id": OWNER,
        "custom_fields": [{"id": 88001, "value": "Dutch"}, {"id": 88007, "value": ["Python"]}],
    }
    CandidateUpdate.model_validate(plan.body)
    assert plan.requests == 1


def test_candidate_put_never_carries_emails_or_phones() -> None:
    desired = {
        **names(),
        "title": "CTO",
        "emails": [{"email": "ada@new.example", "is_primary": True}],
        "phones": [{"number": "+442079460958", "type": "other"}],
    }

    plan = plan_merge(candidate(), desired, "candidates", settings())

    assert plan.body is not None
    assert "emails" not in plan.body and "phones" not in plan.body


def test_an_address_part_changes_alone() -> None:
    plan = plan_merge(candidate(), {**names(), "address": {"city": "Amersfoort"}}, "candidates", settings())

    assert plan.body is not None
    assert plan.body["address"] == {
        "street": "Kade 1",
        "city": "Amersfoort",
        "state": "UT",
        "postal_code": "3511AA",
    }
    assert plan.changed_fields == ["address.city"]


def test_custom_fields_merge_by_definition_id() -> None:
    desired = {
        **names(),
        "custom_fields": [
            {"id": 88001, "value": "Dutch, English"},
            {"id": 88007, "value": ["SQL", "Python"]},
            {"id": 88009, "value": 12},
        ],
    }

    plan = plan_merge(candidate(), desired, "candidates", settings())

    assert plan.body is not None
    assert plan.body["custom_fields"] == [
        {"id": 88001, "value": "Dutch, English"},
        {"id": 88007, "value": ["Python", "SQL"]},  # checkboxes gain options, keep the old ones
        {"id": 88009, "value": 12},
    ]
    assert plan.changed_fields == ["custom:88001", "custom:88007", "custom:88009"]


def test_social_urls_are_merged_without_duplicates() -> None:
    desired = {
        **names(),
        "social_media_urls": ["https://www.linkedin.com/in/ADA-L", "https://github.com/ada"],
    }

    plan = plan_merge(candidate(), desired, "candidates", settings())

    assert plan.body is not None
    assert plan.body["social_media_urls"] == ["https://www.linkedin.com/in/ada-l", "https://github.com/ada"]


def test_a_record_missing_a_required_name_takes_the_persons() -> None:
    plan = plan_merge(candidate(last_name=None), names(), "candidates", settings())

    assert plan.body is not None and plan.body["last_name"] == "Lovelace"
    assert plan.changed_fields == ["last_name"]


# --- protected fields -------------------------------------------------------------------------------

PROTECTION = [
    # (protected rule, existing title, desired title, title after, skipped)
    (None, "Data Engineer", "CTO", "CTO", []),
    ({"field": "title"}, "Data Engineer", "CTO", "Data Engineer", ["title"]),
    ({"field": "title"}, None, "CTO", None, ["title"]),
    ({"field": "title", "only_fill_when_blank": True}, "Data Engineer", "CTO", "Data Engineer", ["title"]),
    ({"field": "title", "only_fill_when_blank": True}, None, "CTO", "CTO", []),
    ({"field": "title", "only_fill_when_blank": True}, "", "CTO", "CTO", []),
    ({"field": "title"}, "Data Engineer", "Data Engineer", "Data Engineer", []),
]


@pytest.mark.parametrize(("rule", "existing", "desired", "after", "skipped"), PROTECTION)
def test_protected_fields(
    rule: dict[str, Any] | None, existing: str | None, desired: str, after: str | None, skipped: list[str]
) -> None:
    config = settings(sync__candidates__protected_fields=[rule] if rule else [])

    plan = plan_merge(candidate(title=existing), {**names(), "title": desired}, "candidates", config)

    body_title = plan.body.get("title") if plan.body is not None else existing
    assert (body_title or None) == (after or None)
    assert plan.skipped_protected == skipped
    assert (plan.body is None) is (after == existing or (after is None and existing is None))


def test_default_settings_fill_source_only_when_blank() -> None:
    kept = plan_merge(candidate(), {**names(), "source": "LinkedIn"}, "candidates", settings())
    filled = plan_merge(candidate(source=None), {**names(), "source": "LinkedIn"}, "candidates", settings())

    assert kept.body is None and kept.skipped_protected == ["source"]
    assert filled.body is not None and filled.body["source"] == "LinkedIn"


def test_protected_custom_field_is_kept() -> None:
    config = settings(sync__candidates__protected_fields=[{"field": "custom:88001"}])
    desired = {**names(), "custom_fields": [{"id": 88001, "value": "English"}]}

    plan = plan_merge(candidate(), desired, "candidates", config)

    assert plan.body is None
    assert plan.skipped_protected == ["custom:88001"]


@pytest.mark.parametrize(
    ("blank_fill", "existing_emails", "ops"), [(False, True, 0), (True, True, 0), (True, False, 1)]
)
def test_protected_emails_get_no_new_address(blank_fill: bool, existing_emails: bool, ops: int) -> None:
    config = settings(
        sync__candidates__protected_fields=[{"field": "emails", "only_fill_when_blank": blank_fill}]
    )
    record = candidate() if existing_emails else candidate(emails={"primary": None, "secondary": None})

    plan = plan_merge(
        record, {**names(), "emails": [{"email": "new@x.org", "is_primary": True}]}, "candidates", config
    )

    assert len(plan.subrecords) == ops


def test_the_owner_of_an_existing_record_is_never_changed() -> None:
    kept = plan_merge(candidate(), {**names(), "owner_id": OTHER_USER}, "candidates", settings())
    filled = plan_merge(
        candidate(owner_id=None), {**names(), "owner_id": OTHER_USER}, "candidates", settings()
    )

    assert kept.body is None and kept.skipped_protected == ["owner_id"]
    assert filled.body is not None and filled.body["owner_id"] == OTHER_USER


# --- emails and phones ------------------------------------------------------------------------------


def test_new_candidate_email_and_phone_become_subrecord_posts() -> None:
    desired = {
        **names(),
        "emails": [
            {"email": "ada@example.org", "is_primary": True},
            {"email": "ada@new.example", "is_primary": False},
        ],
        "phones": [
            {"number": "+31612345678", "type": "mobile"},
            {"number": "+442079460958", "type": "other"},
        ],
    }

    plan = plan_merge(candidate(), desired, "candidates", settings())

    assert plan.body is None
    assert [(op.kind, op.method, op.path, op.body) for op in plan.subrecords] == [
        ("emails", "POST", "/candidates/700123/emails", {"email": "ada@new.example", "is_primary": False}),
        ("phones", "POST", "/candidates/700123/phones", {"number": "+442079460958", "type": "other"}),
    ]
    assert plan.changed_fields == ["emails", "phones"]
    assert plan.requests == 2


def test_the_first_email_of_a_candidate_without_any_becomes_primary() -> None:
    desired = {
        **names(),
        "emails": [{"email": "a@x.org", "is_primary": True}, {"email": "b@x.org", "is_primary": False}],
    }

    plan = plan_merge(
        candidate(emails={"primary": None, "secondary": None}), desired, "candidates", settings()
    )

    assert [op.body["is_primary"] for op in plan.subrecords] == [True, False]


def test_embedded_email_rows_count_as_existing() -> None:
    record = candidate(_embedded={"emails": [{"id": 1, "email": "third@x.org", "is_primary": False}]})

    plan = plan_merge(
        record,
        {**names(), "emails": [{"email": "Third@x.org", "is_primary": True}]},
        "candidates",
        settings(),
    )

    assert plan.subrecords == []


def test_contact_put_carries_the_complete_email_and_phone_lists() -> None:
    desired = {
        **names("Grace", "Hopper"),
        "owner_id": OWNER,
        "company_id": 17,
        "emails": [
            {"email": "grace@new.example", "is_primary": True},
            {"email": "GRACE@navy.example", "is_primary": False},
        ],
        "phones": [
            {"number": "+1 202 555 0100", "type": "other"},
            {"number": "+12025550199", "type": "mobile"},
        ],
    }

    plan = plan_merge(contact(), desired, "contacts", settings())

    assert plan.subrecords == []
    assert plan.body is not None
    assert plan.body["emails"] == [
        {"email": "grace@navy.example", "is_primary": True},  # the record's primary stays primary
        {"email": "gh@home.example", "is_primary": False},
        {"email": "grace@new.example", "is_primary": False},
    ]
    assert plan.body["phones"] == [
        {"number": "+12025550100", "type": "work"},
        {"number": "+12025550199", "type": "mobile"},
    ]
    assert (plan.body["owner_id"], plan.body["company_id"]) == (OWNER, 17)
    assert plan.changed_fields == ["emails", "phones"]
    ContactWrite.model_validate(plan.body)


def test_contact_put_keeps_owner_and_company_when_only_the_title_changes() -> None:
    desired = {**names("Grace", "Hopper"), "owner_id": OTHER_USER, "company_id": 17, "title": "Rear Admiral"}

    plan = plan_merge(contact(), desired, "contacts", settings())

    assert plan.body is not None
    assert (plan.body["title"], plan.body["owner_id"], plan.body["company_id"]) == ("Rear Admiral", OWNER, 17)
    assert plan.skipped_protected == ["owner_id"]


def test_contact_moving_company_is_updated() -> None:
    desired = {**names("Grace", "Hopper"), "owner_id": OWNER, "company_id": 18}

    plan = plan_merge(contact(), desired, "contacts", settings())

    assert plan.body is not None and plan.body["company_id"] == 18
    assert plan.changed_fields == ["company_id"]


def test_plan_merge_changes_nothing_in_its_inputs() -> None:
    record, desired = (
        candidate(),
        {**names(), "title": "CTO", "emails": [{"email": "n@x.org", "is_primary": True}]},
    )
    before = copy.deepcopy((record, desired))

    plan_merge(record, desired, "candidates", settings())

    assert (record, desired) == before
