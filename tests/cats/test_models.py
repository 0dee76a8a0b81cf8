"""Read models tolerate what CATS sends; write models produce exactly CATS's write shape."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from companion.cats.models import (
    ActivityRead,
    ActivityWrite,
    CandidateRead,
    CandidateWrite,
    CompanyRead,
    CompanyWrite,
    ContactRead,
    ContactWrite,
    CustomFieldDefinition,
    CustomFieldType,
    PhoneType,
    SiteRead,
    UserRead,
)

# The illustrative candidate of REFERENCE.md §6.1.
CANDIDATE: dict[str, Any] = {
    "id": 700123,
    "first_name": "Ada",
    "middle_name": None,
    "last_name": "Lovelace",
    "title": "Data Engineer",
    "emails": {"primary": "ada@example.org", "secondary": None},
    "phones": {"home": None, "cell": "+31612345678", "work": None},
    "address": {"street": "Kade 1", "city": "Utrecht", "state": "UT", "postal_code": "3511AA"},
    "country_code": "NL",
    "social_media_urls": [],
    "website": None,
    "best_time_to_call": "09:00",
    "current_employer": "Analytical Engines BV",
    "date_available": "2025-06-01",
    "current_pay": "60000",
    "desired_pay": 70000,
    "is_willing_to_relocate": False,
    "key_skills": "Python, SQL",
    "notes": "",
    "source": "Companion app",
    "is_hot": False,
    "is_active": True,
    "is_registered": False,
    "contact_id": None,
    "owner_id": 4021,
    "entered_by_id": "4021",
    "consent_status": None,
    "date_created": "2025-05-01T12:00:00+00:00",
    "date_modified": "2025-05-01T12:00:00Z",
    "_links": {"self": {"href": "/candidates/700123"}, "owner": {"href": "/users/4021"}},
    "_embedded": {"custom_fields": [{"id": 88001, "value": "Yes", "_links": {}}], "phones": [], "emails": []},
    "some_field_added_next_year": {"x": 1},
}


def test_candidate_read_shape_is_understood() -> None:
    candidate = CandidateRead.model_validate(CANDIDATE)
    assert candidate.emails.primary == "ada@example.org"
    assert candidate.phones == {"home": None, "cell": "+31612345678", "work": None}
    assert candidate.entered_by_id == 4021
    assert candidate.desired_pay == "70000"
    assert candidate.custom_field_values() == {88001: "Yes"}
    assert candidate.date_modified == datetime(2025, 5, 1, 12, tzinfo=UTC)
    assert candidate.model_extra == {"some_field_added_next_year": {"x": 1}}


def test_read_models_survive_their_own_dump() -> None:
    candidate = CandidateRead.model_validate(CANDIDATE)
    again = CandidateRead.model_validate(candidate.model_dump(by_alias=True, mode="json"))
    assert again == candidate


def test_nulls_and_php_empty_arrays_are_tolerated_everywhere() -> None:
    contact = ContactRead.model_validate(
        {
            "id": "123456789",
            "emails": None,
            "phones": [],
            "address": [],
            "social_media_urls": None,
            "_links": [],
            "_embedded": [],
            "company_id": "",
            "date_created": "",
        }
    )
    assert contact.id == 123456789
    assert contact.emails.primary is None
    assert (contact.phones, contact.address, contact.custom_fields) == ({}, None, [])
    assert contact.company_id is None
    assert contact.date_created is None


def test_a_record_without_an_id_is_refused() -> None:
    with pytest.raises(ValidationError):
        CompanyRead.model_validate({"name": "Northwind Ltd"})


def test_candidate_write_shape_uses_lists_for_emails_phones_and_custom_fields() -> None:
    body = CandidateWrite(
        first_name=" Ada ",
        last_name="Lovelace",
        emails=[{"email": "ada@example.org", "is_primary": True}],
        phones=[{"number": "+31612345678", "type": "Mobile"}],
        custom_fields=[{"id": 88001, "value": "Yes"}],
        country_code="nl",
        date_available="2025-06-01",
    ).to_body()
    assert body == {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "emails": [{"email": "ada@example.org", "is_primary": True}],
        "phones": [{"number": "+31612345678", "type": "mobile"}],
        "custom_fields": [{"id": 88001, "value": "Yes"}],
        "country_code": "NL",
        "date_available": "2025-06-01",
    }


def test_fields_not_set_are_not_sent_so_a_put_cannot_blank_them() -> None:
    body = CompanyWrite(name="Northwind Ltd", owner_id=4021, address={"city": "Leeds"}).to_body()
    assert body == {"name": "Northwind Ltd", "owner_id": 4021, "address": {"city": "Leeds"}}


def test_a_field_set_to_none_on_purpose_is_sent_as_null() -> None:
    body = CompanyWrite(name="Northwind Ltd", owner_id=4021, website=None).to_body()
    assert body == {"name": "Northwind Ltd", "owner_id": 4021, "website": None}


@pytest.mark.parametrize(
    "emails",
    [
        [{"email": "a@example.org", "is_primary": False}],
        [{"email": "a@example.org", "is_primary": True}, {"email": "b@example.org", "is_primary": True}],
    ],
)
def test_emails_need_exactly_one_primary(emails: list[dict[str, Any]]) -> None:
    with pytest.raises(ValidationError, match="exactly one email must be primary"):
        ContactWrite(first_name="A", last_name="B", owner_id=1, company_id=2, emails=emails)


@pytest.mark.parametrize(
    "bad",
    [
        {"first_name": "", "last_name": "B"},
        {"first_name": "A"},
        {"first_name": "A", "last_name": "B", "unknown_field": 1},
        {"first_name": "A", "last_name": "B", "phones": [{"number": "+1", "type": "pager"}]},
        {"first_name": "A", "last_name": "B", "country_code": "NLD"},
    ],
)
def test_malformed_write_bodies_are_refused_before_anything_is_sent(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        CandidateWrite.model_validate(bad)


def test_contact_and_company_writes_require_what_cats_requires() -> None:
    with pytest.raises(ValidationError):
        ContactWrite.model_validate({"first_name": "A", "last_name": "B", "owner_id": 1})
    with pytest.raises(ValidationError):
        CompanyWrite.model_validate({"name": "Northwind Ltd"})


def test_read_converts_back_to_the_write_shape_for_read_modify_write() -> None:
    candidate = CandidateRead.model_validate(CANDIDATE)
    body = candidate.to_update().to_body()
    # CATS's candidate PUT takes no emails or phones: those are sub-records.
    assert "emails" not in body and "phones" not in body
    assert (body["first_name"], body["desired_pay"], body["owner_id"]) == ("Ada", "70000", 4021)
    assert body["custom_fields"] == [{"id": 88001, "value": "Yes"}]
    assert body["address"] == {"street": "Kade 1", "city": "Utrecht", "state": "UT", "postal_code": "3511AA"}
    assert "website" not in body  # null on read: left alone rather than blanked


def test_company_and_contact_reads_convert_to_their_writes() -> None:
    company = CompanyRead.model_validate(
        {"id": 9001, "name": "Northwind Ltd", "owner_id": 4021, "phones": {"work": "+441130000000"}}
    )
    assert company.to_update().to_body() == {
        "name": "Northwind Ltd",
        "owner_id": 4021,
        "phones": [{"number": "+441130000000", "type": "work"}],
    }
    person = {"id": 1, "first_name": "A", "last_name": "B", "owner_id": 4, "company_id": 9001}
    both = ContactRead.model_validate(
        {
            **person,
            "emails": {"primary": "a@example.org", "secondary": "b@example.org"},
            "phones": {"cell": "+1"},
        }
    )
    assert both.to_update().to_body()["emails"] == [
        {"email": "a@example.org", "is_primary": True},
        {"email": "b@example.org", "is_primary": False},
    ]
    assert both.to_update().to_body()["phones"] == [{"number": "+1", "type": "mobile"}]
    # CATS refuses emails without a primary, so a lone secondary is written back as the primary.
    secondary_only = ContactRead.model_validate(
        {**person, "emails": {"primary": None, "secondary": "b@example.org"}}
    )
    assert secondary_only.to_update().to_body()["emails"] == [{"email": "b@example.org", "is_primary": True}]


def test_activity_write_and_read() -> None:
    body = ActivityWrite(
        type="call_talked",
        notes="Discussed Q3 roles.",
        date=datetime(2025, 5, 2, 12, 30, tzinfo=UTC),
    ).to_body()
    assert body == {"type": "call_talked", "notes": "Discussed Q3 roles.", "date": "2025-05-02T12:30:00Z"}
    with pytest.raises(ValidationError):
        ActivityWrite.model_validate({"type": "note"})
    with pytest.raises(ValidationError):
        ActivityWrite.model_validate({"type": "other", "date": "2025-05-02T12:30:00"})  # no offset
    activity = ActivityRead.model_validate(
        {
            "id": 3300991,
            "data_item": {"id": "55501", "type": "contact"},
            "type": "call_talked",
            "regarding_id": None,
        }
    )
    assert activity.data_item is not None and activity.data_item.id == 55501


@pytest.mark.parametrize("field_type", [t.value for t in CustomFieldType])
def test_all_nine_custom_field_types_are_known(field_type: str) -> None:
    definition = CustomFieldDefinition.model_validate(
        {
            "id": 88001,
            "data_item_type": "candidate",
            "name": "Field",
            "comment": "",
            "field": {"type": field_type},
        }
    )
    assert definition.field.type == CustomFieldType(field_type)
    assert isinstance(definition.field.type, CustomFieldType)


def test_selections_are_read_in_any_likely_spelling() -> None:
    definition = CustomFieldDefinition.model_validate(
        {
            "id": 1,
            "name": "Seniority",
            "field": {
                "type": "dropdown",
                "selections": ["Junior", {"id": 2, "label": "Medior"}, {"name": "Senior"}],
            },
        }
    )
    assert definition.field.labels == ["Junior", "Medior", "Senior"]


def test_an_unknown_custom_field_type_is_kept_as_text() -> None:
    definition = CustomFieldDefinition.model_validate({"id": 1, "name": "x", "field": {"type": "rating"}})
    assert definition.field.type == "rating"


def test_users_and_site() -> None:
    user = UserRead.model_validate({"id": "4021", "username": "jd", "first_name": "Jo", "last_name": "Doe"})
    assert (user.id, user.display_name) == (4021, "Jo Doe")
    site = SiteRead.model_validate(
        {"id": 1, "mode": "live", "subdomain": "acme", "default_company_id": "9000"}
    )
    assert site.default_company_id == 9000


def test_phone_types_are_the_documented_six() -> None:
    assert {t.value for t in PhoneType} == {"mobile", "home", "work", "fax", "main", "other"}
