"""Finding an existing record: the search requests in order, and which hit is really the person."""

from __future__ import annotations

from typing import Any

import pytest

from companion.rules.person import Person, RecordType
from companion.rules.search import MAX_EMAILS, pick_existing, search_plan, search_steps
from companion.sandbox.search import compile_filter

ADA = {"first_name": "Ada", "last_name": "Lovelace"}


def test_plan_order_is_email_then_linkedin_then_name_with_company() -> None:
    person = Person(
        **ADA,
        emails=["ada@x.org"],
        linkedin="https://nl.linkedin.com/in/Ada-L/?trk=1",
        current_company="Acme",
    )

    assert search_plan(person, "candidates", company_id=None) == [
        {"field": "emails.primary", "filter": "exactly", "value": "ada@x.org"},
        {"field": "social_media_urls", "filter": "contains", "value": "linkedin.com/in/Ada-L"},
        {
            "and": [
                {"field": "first_name", "filter": "exactly", "value": "Ada"},
                {"field": "last_name", "filter": "exactly", "value": "Lovelace"},
            ]
        },
    ]
    assert [step.by for step in search_steps(person, "candidates", company_id=None)] == [
        "email",
        "linkedin",
        "name",
    ]


def test_all_emails_are_searched_in_one_request() -> None:
    person = Person(**ADA, emails=["ada@x.org", "ada@y.org"])

    assert search_plan(person, "candidates", company_id=None) == [
        {
            "or": [
                {"field": "emails.primary", "filter": "exactly", "value": "ada@x.org"},
                {"field": "emails.primary", "filter": "exactly", "value": "ada@y.org"},
            ]
        }
    ]


def test_contacts_are_searched_by_primary_and_secondary_email() -> None:
    (step,) = search_steps(Person(**ADA, emails=["ada@x.org"]), "contacts", company_id=None)

    assert step.body == {
        "or": [
            {"field": "emails.primary", "filter": "exactly", "value": "ada@x.org"},
            {"field": "emails.secondary", "filter": "exactly", "value": "ada@x.org"},
        ]
    }


def test_typed_emails_are_searched_too_and_the_count_is_capped() -> None:
    emails = [f"ada{i}@x.org" for i in range(MAX_EMAILS + 2)]
    person = Person(**ADA, emails=emails[:2], field_values={"emails": emails[2:]})

    (step,) = search_steps(person, "candidates", company_id=None)

    assert [condition["value"] for condition in step.body["or"]] == emails[:MAX_EMAILS]


def test_a_linkedin_profile_page_counts_when_no_linkedin_url_was_collected() -> None:
    person = Person(**ADA, profile_url="https://www.linkedin.com/in/ada-l/details/")

    assert search_plan(person, "candidates", company_id=None) == [
        {"field": "social_media_urls", "filter": "contains", "value": "linkedin.com/in/ada-l"}
    ]


@pytest.mark.parametrize(
    ("fields", "record_type", "company_id", "plan"),
    [
        # A bare name is too weak to merge into someone's record.
        ({**ADA}, "candidates", None, []),
        ({**ADA, "profile_url": "https://github.com/ada"}, "candidates", None, []),
        ({"first_name": "Ada", "current_company": "Acme"}, "candidates", None, []),
        ({**ADA, "current_company": "Acme"}, "contacts", None, []),
        (
            {**ADA},
            "contacts",
            17,
            [
                {
                    "and": [
                        {"field": "first_name", "filter": "exactly", "value": "Ada"},
                        {"field": "last_name", "filter": "exactly", "value": "Lovelace"},
                        {"field": "company_id", "filter": "exactly", "value": 17},
                    ]
                }
            ],
        ),
    ],
)
def test_name_step_needs_both_names_and_a_company(
    fields: dict[str, Any], record_type: RecordType, company_id: int | None, plan: list[dict[str, Any]]
) -> None:
    assert search_plan(Person(**fields), record_type, company_id=company_id) == plan


@pytest.mark.parametrize("record_type", ["candidates", "contacts"])
def test_email_and_name_bodies_are_valid_filters_that_find_the_record(record_type: RecordType) -> None:
    # The sandbox's filter compiler encodes CATS's filter language and each resource's filterable fields.
    person = Person(**ADA, emails=["Ada@X.org"], current_company="Acme")
    record = {
        "id": 1,
        "first_name": "ada",
        "last_name": "LOVELACE",
        "emails": {"primary": "ada@x.org", "secondary": None},
        "company_id": 17,
    }

    for step in search_steps(person, record_type, company_id=17):
        assert step.by in ("email", "name")
        assert compile_filter(record_type, step.body)(record), step.by


# --- judging hits -----------------------------------------------------------------------------------


def _record(record_id: Any, **fields: Any) -> dict[str, Any]:
    return {"id": record_id, "first_name": None, "last_name": None, "emails": {}, **fields}


@pytest.mark.parametrize(
    ("records", "expected"),
    [
        # Same email, different case.
        ([_record(5, emails={"primary": "ADA@x.org"})], 5),
        ([_record(5, emails={"primary": "other@x.org", "secondary": "ada@x.org"})], 5),
        ([_record(5, _embedded={"emails": [{"email": "ada@x.org", "is_primary": False}]})], 5),
        # LinkedIn: same identity, another spelling.
        ([_record(6, social_media_urls=["https://uk.linkedin.com/in/ADA-L/"])], 6),
        # `contains` also hits longer slugs: not the same person.
        ([_record(6, social_media_urls=["https://www.linkedin.com/in/ada-lovelace-2"])], None),
        # Same name at the same company (legal form and case aside).
        ([_record("7", first_name="ada", last_name="Lovelace", current_employer="ACME B.V.")], 7),
        # A namesake elsewhere.
        ([_record(8, first_name="Ada", last_name="Lovelace", current_employer="Globex")], None),
        ([_record(8, first_name="Ada", last_name="Lovelace")], None),
        # Strongest evidence wins, then the oldest record.
        (
            [
                _record(3, first_name="Ada", last_name="Lovelace", current_employer="Acme"),
                _record(9, emails={"primary": "ada@x.org"}),
                _record(4, emails={"primary": "ada@x.org"}),
            ],
            4,
        ),
        ([_record(None, emails={"primary": "ada@x.org"})], None),
        ([], None),
    ],
)
def test_pick_existing_candidate(records: list[dict[str, Any]], expected: int | None) -> None:
    person = Person(**ADA, emails=["ada@x.org"], linkedin="linkedin.com/in/ada-l", current_company="Acme")

    assert pick_existing(person, "candidates", records, company_id=None) == expected


def test_pick_existing_contact_needs_the_same_company_id() -> None:
    person = Person(**ADA)
    same = _record(11, first_name="Ada", last_name="Lovelace", company_id=17)
    elsewhere = _record(10, first_name="Ada", last_name="Lovelace", company_id=18)

    assert pick_existing(person, "contacts", [elsewhere, same], company_id=17) == 11
    assert pick_existing(person, "contacts", [same], company_id=None) is None
