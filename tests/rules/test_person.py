"""The person model: tidy input, refused input, names from the full name, identity, events."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from companion.rules.person import CampaignEvent, Person, split_full_name
from tests.rules.builders import T0


@pytest.mark.parametrize(
    ("full_name", "expected"),
    [
        ("Ada Lovelace", ("Ada", "Lovelace")),
        ("Ada King Lovelace", ("Ada King", "Lovelace")),
        ("Jane Q. Doe, PhD", ("Jane Q.", "Doe")),
        ("  Ada   Lovelace  ", ("Ada", "Lovelace")),
        ("Cher", ("Cher", None)),
        (", MBA", (None, None)),
        ("", (None, None)),
    ],
)
def test_full_name_splits_on_the_last_word(full_name: str, expected: tuple[str | None, str | None]) -> None:
    assert split_full_name(full_name) == expected


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"full_name": "Ada Lovelace"}, ("Ada", "Lovelace")),
        ({"first_name": "Augusta", "full_name": "Ada Lovelace"}, ("Augusta", "Lovelace")),
        ({"last_name": "Byron", "full_name": "Ada Lovelace"}, ("Ada", "Byron")),
        ({"first_name": "Ada", "last_name": "King", "full_name": "X Y"}, ("Ada", "King")),
        ({"first_name": "Ada"}, ("Ada", None)),
    ],
)
def test_names_fill_only_what_is_missing(fields: dict[str, Any], expected: tuple[str, str]) -> None:
    assert Person(**fields).names() == expected


def test_input_is_tidied() -> None:
    person = Person(
        first_name="  Ada ",
        title="",
        emails=[" ada@example.org", "ADA@example.org", "", "ada@work.example"],
        skills=["Python", " python ", "SQL"],
        github="github.com/ada",
    )

    assert person.first_name == "Ada"
    assert person.title is None
    assert person.emails == ["ada@example.org", "ada@work.example"]
    assert person.skills == ["Python", "SQL"]
    assert person.github == "https://github.com/ada"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"first_name": "Ada", "emails": ["not-an-email"]}, "not an email address"),
        ({"first_name": "Ada", "emails": ["ada@localhost"]}, "not an email address"),
        ({"first_name": "Ada", "linkedin": "linkedin.com/in/ada lovelace"}, "contains spaces"),
        ({"title": "CTO", "current_company": "Acme"}, "needs a name, an email address or a profile URL"),
        ({"first_name": "Ada", "skills": [f"skill {i}" for i in range(51)]}, "at most 50"),
        ({"first_name": "Ada", "field_values": {"Not A Field": 1}}, "not a field reference"),
        ({"first_name": "Ada", "favourite_colour": "blue"}, "Extra inputs are not permitted"),
    ],
)
def test_unpushable_input_is_refused_clearly(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Person(**fields)


@pytest.mark.parametrize(
    ("fields", "key"),
    [
        (
            {
                "first_name": "Ada",
                "emails": ["ada@x.org"],
                "linkedin": "https://uk.linkedin.com/in/Ada-L/?trk=1",
            },
            "linkedin:linkedin.com/in/ada-l",
        ),
        (
            {"first_name": "Ada", "profile_url": "linkedin.com/in/ada-l/details/skills"},
            "linkedin:linkedin.com/in/ada-l",
        ),
        (
            {"first_name": "Ada", "emails": ["Ada@X.org", "b@y.org"], "profile_url": "https://x.com/ada"},
            "email:ada@x.org",
        ),
        (
            {"full_name": "Ada Lovelace", "current_company": "Analytical Engines B.V."},
            "name:ada lovelace|analytical engines",
        ),
        ({"first_name": "Ada"}, "name:ada|"),
        ({"profile_url": "https://github.com/Ada/"}, "url:github.com/ada"),
    ],
)
def test_identity_key_prefers_linkedin_then_email_then_name(fields: dict[str, Any], key: str) -> None:
    assert Person(**fields).identity_key() == key


def test_identity_key_is_the_same_for_two_spellings_of_one_profile() -> None:
    one = Person(first_name="Ada", linkedin="https://www.linkedin.com/in/ada-l")
    other = Person(full_name="Ada L.", linkedin="de.linkedin.com/in/ADA-L/")

    assert one.identity_key() == other.identity_key()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"type": "outreach"}, "needs its outreach type"),
        ({"type": "replied", "outreach": "call"}, "only outreach events"),
        ({"type": "replied", "at": T0.replace(tzinfo=None)}, "timezone"),
        ({"type": "replied", "id": ""}, "at least 1 character"),
        ({"type": "clicked"}, "Input should be"),
    ],
)
def test_bad_events_are_refused(fields: dict[str, Any], message: str) -> None:
    values: dict[str, Any] = {"id": "e1", "at": T0, **fields}

    with pytest.raises(ValidationError, match=message):
        CampaignEvent(**values)


def test_names_and_emails_typed_by_the_user_count() -> None:
    person = Person(
        full_name="Ada Lovelace",
        emails=["ada@x.org"],
        field_values={"first_name": "Augusta", "emails": "ADA@x.org; ada@y.org, bad"},
    )

    assert person.pushed_names() == ("Augusta", "Lovelace")
    assert person.all_emails() == ["ada@x.org", "ada@y.org"]


def test_a_person_known_only_by_typed_values_is_identifiable() -> None:
    by_name = Person(field_values={"first_name": "Ada", "last_name": "Lovelace"})
    by_email = Person(field_values={"emails": ["Ada@X.org"]})

    assert by_name.identity_key() == "name:ada lovelace|"
    assert by_email.identity_key() == "email:ada@x.org"
