"""The CATS create body built from a person: mapping, overrides, validation, required company and owner."""

from __future__ import annotations

from typing import Any

import pytest

from companion.cats.models import CandidateWrite, ContactWrite
from companion.errors import (
    ContactCompanyMissingError,
    FieldValuesInvalidError,
    OwnerMissingError,
)
from companion.rules.payload import build_write
from companion.rules.person import Person
from companion.settings.catalogue import Catalogue
from tests.rules.builders import OTHER_USER, OWNER, catalogue, settings

ADA: dict[str, Any] = {
    "full_name": "Ada King Lovelace",
    "title": "Data Engineer",
    "current_company": "Analytical Engines BV",
    "location": "Utrecht",
    "source": "LinkedIn",
    "emails": ["ada@example.org", "ada@work.example"],
    "phones": ["+31 6 1234 5678"],
    "skills": ["Python", "SQL"],
    "linkedin": "https://nl.linkedin.com/in/ada-l/?trk=x",
    "github": "github.com/ada",
    "website": "ada.dev",
}


def _candidate(person: Person, config: Any = None, cat: Catalogue | None = None, **kw: Any) -> dict[str, Any]:
    kw.setdefault("company_id", None)
    kw.setdefault("owner_id", None)
    return build_write(person, "candidates", config or settings(), cat or catalogue(), **kw)


def _contact(person: Person, config: Any = None, cat: Catalogue | None = None, **kw: Any) -> dict[str, Any]:
    kw.setdefault("company_id", 17)
    kw.setdefault("owner_id", OWNER)
    return build_write(person, "contacts", config or settings(), cat or catalogue(), **kw)


def test_default_mapping_builds_the_exact_candidate_body() -> None:
    body = _candidate(Person(**ADA))

    assert body == {
        "first_name": "Ada King",
        "last_name": "Lovelace",
        "title": "Data Engineer",
        "current_employer": "Analytical Engines BV",
        "address": {"city": "Utrecht"},
        "source": "LinkedIn",
        "emails": [
            {"email": "ada@example.org", "is_primary": True},
            {"email": "ada@work.example", "is_primary": False},
        ],
        "phones": [{"number": "+31612345678", "type": "mobile"}],
        "key_skills": "Python, SQL",
        "social_media_urls": ["https://www.linkedin.com/in/ada-l", "https://github.com/ada"],
        "website": "https://ada.dev",
    }
    CandidateWrite.model_validate(body)


def test_default_mapping_builds_the_exact_contact_body() -> None:
    body = _contact(Person(**ADA))

    assert body == {
        "first_name": "Ada King",
        "last_name": "Lovelace",
        "title": "Data Engineer",
        "company_id": 17,
        "owner_id": OWNER,
        "address": {"city": "Utrecht"},
        "emails": [
            {"email": "ada@example.org", "is_primary": True},
            {"email": "ada@work.example", "is_primary": False},
        ],
        "phones": [{"number": "+31612345678", "type": "mobile"}],
        # Contacts have no `website`: the default mapping sends it with the social URLs.
        "social_media_urls": [
            "https://www.linkedin.com/in/ada-l",
            "https://github.com/ada",
            "https://ada.dev",
        ],
    }
    ContactWrite.model_validate(body)


def test_a_minimal_person_makes_a_minimal_body() -> None:
    assert _candidate(Person(first_name="Ada", last_name="Lovelace")) == {
        "first_name": "Ada",
        "last_name": "Lovelace",
    }


@pytest.mark.parametrize(
    ("mapping", "value", "expected_ref", "expected"),
    [
        # A list into a single text field: joined with the mapping's joiner.
        (
            {"skills": {"targets": ["custom:88001"], "joiner": " | "}},
            ["Python", "SQL"],
            "custom:88001",
            "Python | SQL",
        ),
        # No joiner: only the first entry fits.
        (
            {"skills": {"targets": ["custom:88001"], "joiner": None}},
            ["Python", "SQL"],
            "custom:88001",
            "Python",
        ),
        # Into checkboxes: the options the values match, in CATS's spelling; the rest is dropped.
        (
            {"skills": {"targets": ["custom:88007"]}},
            ["python", "Cobol", "Go"],
            "custom:88007",
            ["Python", "Go"],
        ),
        # One list into two fields at once.
        (
            {"skills": {"targets": ["key_skills", "custom:88002"], "joiner": "; "}},
            ["Python", "SQL"],
            "custom:88002",
            "Python; SQL",
        ),
    ],
)
def test_list_variables_fill_their_targets(
    mapping: dict[str, Any], value: list[str], expected_ref: str, expected: Any
) -> None:
    config = settings(**{f"mapping__candidates__{key}": item for key, item in mapping.items()})

    body = _candidate(Person(first_name="Ada", last_name="L", skills=value), config)

    assert {"id": int(expected_ref.split(":")[1]), "value": expected} in body["custom_fields"]


def test_a_list_into_checkboxes_that_matches_no_option_sends_nothing() -> None:
    config = settings(mapping__candidates__skills={"targets": ["custom:88007"]})

    body = _candidate(Person(first_name="Ada", last_name="L", skills=["Cobol"]), config)

    assert "custom_fields" not in body


def test_social_urls_go_where_they_are_mapped() -> None:
    config = settings(
        mapping__candidates__github="custom:88001", mapping__candidates__website="social_media_urls"
    )
    person = Person(
        first_name="Ada", last_name="L", github="github.com/ada", website="ada.dev", twitter="x.com/ada"
    )

    body = _candidate(person, config)

    assert body["social_media_urls"] == ["https://x.com/ada", "https://ada.dev"]
    assert body["custom_fields"] == [{"id": 88001, "value": "https://github.com/ada"}]
    assert "website" not in body


def test_two_string_variables_into_one_field_keep_the_first_with_a_value() -> None:
    config = settings(mapping__candidates__headline="title")

    with_title = _candidate(Person(first_name="A", last_name="L", title="CTO", headline="Builder"), config)
    without = _candidate(Person(first_name="A", last_name="L", headline="Builder"), config)

    assert (with_title["title"], without["title"]) == ("CTO", "Builder")


def test_social_urls_are_not_sent_twice() -> None:
    config = settings(mapping__candidates__website="social_media_urls")
    person = Person(
        first_name="A",
        last_name="L",
        linkedin="linkedin.com/in/ada",
        website="https://www.linkedin.com/in/ADA/",
    )

    assert _candidate(person, config)["social_media_urls"] == ["https://www.linkedin.com/in/ada"]


# --- displayed-field values -----------------------------------------------------------------------


def test_displayed_field_values_override_the_mapping() -> None:
    person = Person(
        **ADA,
        field_values={
            "title": "Principal Data Engineer",
            "address.city": "Amersfoort",
            "emails": ["ada@new.example"],
            "custom:88005": "citizen",
            "is_hot": "yes",
            "date_available": "2026-07-01",
            "country_code": "nl",
        },
    )

    body = _candidate(person)

    assert body["title"] == "Principal Data Engineer"
    assert body["address"] == {"city": "Amersfoort"}
    assert body["emails"] == [{"email": "ada@new.example", "is_primary": True}]
    assert body["custom_fields"] == [{"id": 88005, "value": "Citizen"}]
    assert (body["is_hot"], body["date_available"], body["country_code"]) == (True, "2026-07-01", "NL")


def test_a_blank_displayed_value_clears_the_mapped_one() -> None:
    body = _candidate(Person(**ADA, field_values={"title": "", "key_skills": None}))

    assert "title" not in body and "key_skills" not in body


def test_a_user_filled_name_counts_for_the_required_names() -> None:
    body = _candidate(Person(emails=["x@y.org"], field_values={"first_name": "Ada", "last_name": "Lovelace"}))

    assert (body["first_name"], body["last_name"]) == ("Ada", "Lovelace")


@pytest.mark.parametrize(
    ("field_values", "field", "message"),
    [
        ({"custom:88005": "Tourist"}, "custom:88005", "not one of its options"),
        ({"custom:88006": "Freelance"}, "custom:88006", "not one of its options"),
        ({"custom:88007": ["Python", "Cobol"]}, "custom:88007", "'Cobol' is not one of its options"),
        ({"custom:88009": "many"}, "custom:88009", "expects a number"),
        ({"custom:88004": "next week"}, "custom:88004", "YYYY-MM-DD"),
        ({"custom:88003": "perhaps"}, "custom:88003", "expects yes or no"),
        ({"custom:88008": 31337}, "custom:88008", "not a CATS user"),
        ({"custom:123": "x"}, "custom:123", "CATS has no custom field custom:123"),
        ({"emails": ["nope"]}, "emails", "not an email address"),
        ({"country_code": "Netherlands"}, "country_code", "two-letter"),
        ({"owner_id": 31337}, "owner_id", "not a CATS user"),
    ],
)
def test_invalid_values_are_refused_naming_the_field(
    field_values: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(FieldValuesInvalidError) as caught:
        _candidate(Person(first_name="Ada", last_name="L", field_values=field_values))

    assert [problem["field"] for problem in caught.value.fields] == [field]
    assert message in caught.value.fields[0]["message"]
    assert caught.value.to_dict()["code"] == "push.invalid_value"


def test_every_invalid_value_is_named_at_once_with_its_label() -> None:
    person = Person(
        first_name="Ada", last_name="L", field_values={"custom:88005": "Tourist", "custom:88009": "x"}
    )

    with pytest.raises(FieldValuesInvalidError) as caught:
        _candidate(person)

    assert {(p["field"], p["label"]) for p in caught.value.fields} == {
        ("custom:88005", "Work permit"),
        ("custom:88009", "Years of experience"),
    }
    assert "Work permit" in caught.value.message and "Years of experience" in caught.value.message


@pytest.mark.parametrize("ref", ["company_id", "salary", "address.country"])
def test_a_field_the_record_type_does_not_have_is_refused(ref: str) -> None:
    with pytest.raises(FieldValuesInvalidError, match="unknown fields") as caught:
        _candidate(Person(first_name="Ada", last_name="L", field_values={ref: "x"}))

    assert caught.value.fields[0]["field"] == ref


def test_a_mapped_custom_field_cats_no_longer_has_is_refused() -> None:
    config = settings(mapping__candidates__summary="custom:77777")

    with pytest.raises(FieldValuesInvalidError, match="refresh the field catalogue"):
        _candidate(Person(first_name="Ada", last_name="L", summary="Hello"), config)


def test_without_a_catalogue_custom_values_are_sent_for_cats_to_judge() -> None:
    person = Person(first_name="Ada", last_name="L", field_values={"custom:77777": "anything"})

    body = _candidate(person, cat=Catalogue())

    assert body["custom_fields"] == [{"id": 77777, "value": "anything"}]


def test_custom_fields_are_sent_by_definition_id_in_id_order() -> None:
    person = Person(
        first_name="Ada",
        last_name="L",
        field_values={"custom:88009": "12", "custom:88003": True, "custom:88008": OTHER_USER},
    )

    assert _candidate(person)["custom_fields"] == [
        {"id": 88003, "value": True},
        {"id": 88008, "value": OTHER_USER},
        {"id": 88009, "value": 12},
    ]


# --- owner and company ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "argument", "typed", "expected"),
    [
        (None, None, None, None),
        (OWNER, None, None, OWNER),
        (OWNER, OTHER_USER, None, OTHER_USER),
        (OWNER, OTHER_USER, OWNER, OWNER),
    ],
)
def test_candidate_owner_is_typed_else_given_else_the_default(
    setting: int | None, argument: int | None, typed: int | None, expected: int | None
) -> None:
    config = settings(sync__candidates__default_owner_id=setting)
    values = {"owner_id": typed} if typed else {}

    body = _candidate(Person(first_name="A", last_name="L", field_values=values), config, owner_id=argument)

    assert body.get("owner_id") == expected


def test_contact_owner_falls_back_to_the_default_owner_setting() -> None:
    config = settings(sync__contacts__default_owner_id=OTHER_USER)

    assert _contact(Person(first_name="A", last_name="L"), config, owner_id=None)["owner_id"] == OTHER_USER


def test_contact_without_any_owner_is_refused_naming_the_setting() -> None:
    with pytest.raises(OwnerMissingError) as caught:
        _contact(Person(first_name="A", last_name="L"), owner_id=None)

    assert caught.value.setting == "sync.contacts.default_owner_id"
    assert caught.value.to_dict() == {
        "code": "push.owner_missing",
        "message": caught.value.message,
        "setting": "sync.contacts.default_owner_id",
    }


def test_contact_without_company_is_refused_when_company_is_not_mandatory() -> None:
    config = settings(sync__contacts__mandatory_fields=["first_name", "last_name"])

    with pytest.raises(ContactCompanyMissingError, match="Analytical Engines BV"):
        _contact(
            Person(first_name="A", last_name="L", current_company="Analytical Engines BV"),
            config,
            company_id=None,
        )


def test_contact_company_chosen_by_the_user_wins_over_the_resolved_one() -> None:
    body = _contact(Person(first_name="A", last_name="L", field_values={"company_id": "23"}), company_id=17)

    assert body["company_id"] == 23


def test_a_company_name_is_never_sent_as_the_company_id() -> None:
    with pytest.raises(FieldValuesInvalidError, match="id of a CATS company"):
        _contact(Person(first_name="A", last_name="L", field_values={"company_id": "Acme"}))


def test_contact_custom_fields_use_the_contact_catalogue() -> None:
    body = _contact(Person(first_name="A", last_name="L", field_values={"custom:99001": "Bo"}))

    assert body["custom_fields"] == [{"id": 99001, "value": "Bo"}]
    with pytest.raises(FieldValuesInvalidError, match="custom:88001"):
        _contact(Person(first_name="A", last_name="L", field_values={"custom:88001": "x"}))


def test_building_changes_nothing_in_the_person() -> None:
    person = Person(**ADA, field_values={"title": "X"})
    before = person.model_dump()

    _candidate(person)
    _contact(person)

    assert person.model_dump() == before
