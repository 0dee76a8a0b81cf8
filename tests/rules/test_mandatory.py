"""Mandatory fields: a push missing any is refused, naming every missing field by its label."""

from __future__ import annotations

from typing import Any

import pytest

from companion.errors import MandatoryFieldsMissingError
from companion.rules.payload import build_write, missing_mandatory
from companion.rules.person import Person
from tests.rules.builders import OWNER, catalogue, settings


def _settings(record_type: str, mandatory: list[str], displayed: list[str] | None = None) -> Any:
    paths: dict[str, Any] = {f"sync__{record_type}__mandatory_fields": mandatory}
    if displayed is not None:
        paths[f"sync__{record_type}__displayed_fields"] = displayed
    return settings(**paths)


CANDIDATE_CASES = [
    # (mandatory fields, person, missing)
    (["first_name", "last_name"], {"full_name": "Ada Lovelace"}, []),
    (["first_name", "last_name"], {"full_name": "Cher"}, ["last_name"]),
    (["first_name", "last_name"], {"emails": ["a@b.org"]}, ["first_name", "last_name"]),
    (["first_name", "last_name", "emails"], {"full_name": "Ada L"}, ["emails"]),
    (
        ["first_name", "last_name", "emails", "phones"],
        {"full_name": "Ada L", "phones": ["+31612345678"]},
        ["emails"],
    ),
    (["first_name", "last_name", "title"], {"full_name": "Ada L", "field_values": {"title": "CTO"}}, []),
    # A blank typed value clears the mapped one, so the field is missing again.
    (
        ["first_name", "last_name", "title"],
        {"full_name": "Ada L", "title": "CTO", "field_values": {"title": ""}},
        ["title"],
    ),
    (["first_name", "last_name", "custom:88005"], {"full_name": "Ada L"}, ["custom:88005"]),
    # Scraped skills matching no option of a mandatory checkboxes field leave it empty.
    (
        ["first_name", "last_name", "custom:88007"],
        {"full_name": "Ada L", "skills": ["Cobol"]},
        ["custom:88007"],
    ),
    (["first_name", "last_name", "custom:88007"], {"full_name": "Ada L", "skills": ["Go"]}, []),
]


@pytest.mark.parametrize(("mandatory", "fields", "missing"), CANDIDATE_CASES)
def test_missing_mandatory_candidate_fields(
    mandatory: list[str], fields: dict[str, Any], missing: list[str]
) -> None:
    config = settings(
        sync__candidates__mandatory_fields=mandatory,
        sync__candidates__displayed_fields=["emails", "phones", "title", "custom:88005"],
        mapping__candidates__skills={"targets": ["custom:88007"], "joiner": None},
    )
    person = Person(**fields)

    assert missing_mandatory(person, "candidates", config, catalogue()) == missing
    if missing:
        with pytest.raises(MandatoryFieldsMissingError) as caught:
            build_write(person, "candidates", config, catalogue(), company_id=None, owner_id=None)
        assert [field["field"] for field in caught.value.fields] == missing
    else:
        build_write(person, "candidates", config, catalogue(), company_id=None, owner_id=None)


def test_the_refusal_names_every_missing_field_by_its_label() -> None:
    config = _settings(
        "candidates", ["first_name", "last_name", "title", "custom:88005"], ["title", "custom:88005"]
    )

    with pytest.raises(MandatoryFieldsMissingError) as caught:
        build_write(
            Person(emails=["a@b.org"]), "candidates", config, catalogue(), company_id=None, owner_id=None
        )

    assert caught.value.fields == [
        {"field": "first_name", "label": "First name"},
        {"field": "last_name", "label": "Last name"},
        {"field": "title", "label": "Title"},
        {"field": "custom:88005", "label": "Work permit"},
    ]
    assert caught.value.message == (
        "Cannot push this candidate: mandatory fields are empty: First name, Last name, Title, Work permit"
    )
    assert caught.value.to_dict()["code"] == "push.mandatory_missing"
    assert caught.value.http_status == 422


def test_cats_required_names_are_mandatory_whatever_the_settings() -> None:
    config = _settings("candidates", ["title"], ["title"])

    assert missing_mandatory(Person(emails=["a@b.org"], title="CTO"), "candidates", config, catalogue()) == [
        "first_name",
        "last_name",
    ]


def test_an_invalid_value_is_reported_as_invalid_not_missing() -> None:
    config = _settings("candidates", ["first_name", "last_name", "custom:88005"], ["custom:88005"])
    person = Person(full_name="Ada L", field_values={"custom:88005": "Tourist"})

    assert missing_mandatory(person, "candidates", config, catalogue()) == []


@pytest.mark.parametrize(
    ("fields", "company_id", "missing"),
    [
        ({"full_name": "Ada L"}, None, ["company_id"]),
        # Named but not resolved yet: the caller will resolve it through the company cache.
        ({"full_name": "Ada L", "current_company": "Acme"}, None, []),
        ({"full_name": "Ada L", "company_website": "https://acme.example"}, None, []),
        ({"full_name": "Ada L"}, 17, []),
        ({"full_name": "Ada L", "field_values": {"company_id": 17}}, None, []),
    ],
)
def test_contact_company_before_and_after_resolution(
    fields: dict[str, Any], company_id: int | None, missing: list[str]
) -> None:
    person = Person(**fields)

    assert missing_mandatory(person, "contacts", settings(), catalogue(), company_id=company_id) == missing


def test_build_write_needs_the_resolved_company_id_itself() -> None:
    person = Person(full_name="Ada L", current_company="Acme")

    with pytest.raises(MandatoryFieldsMissingError) as caught:
        build_write(person, "contacts", settings(), catalogue(), company_id=None, owner_id=OWNER)

    assert caught.value.fields == [{"field": "company_id", "label": "Company"}]


def test_mandatory_owner_is_satisfied_by_the_default_owner() -> None:
    config = settings(
        sync__candidates__mandatory_fields=["first_name", "last_name", "owner_id"],
        sync__candidates__displayed_fields=["owner_id"],
    )
    person = Person(full_name="Ada L")

    assert missing_mandatory(person, "candidates", config, catalogue()) == ["owner_id"]
    assert missing_mandatory(person, "candidates", config, catalogue(), owner_id=OWNER) == []
    with_default = settings(
        sync__candidates__mandatory_fields=["first_name", "last_name", "owner_id"],
        sync__candidates__displayed_fields=["owner_id"],
        sync__candidates__default_owner_id=OWNER,
    )
    assert missing_mandatory(person, "candidates", with_default, catalogue()) == []
