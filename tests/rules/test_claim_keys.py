"""The keys a team claims a person by: only normalised LinkedIn member pages and case-folded emails."""

from __future__ import annotations

import pytest

from companion.rules.claim_keys import email_claim_key, is_claim_key, linkedin_claim_key, person_claim_keys
from companion.rules.person import Person


def test_a_person_is_claimed_by_their_member_page_and_every_email() -> None:
    person = Person(
        full_name="Ada Lovelace",
        linkedin="https://uk.linkedin.com/in/Ada-L/?trk=public",
        emails=["Ada@Example.COM", "ada.l@analytical.org"],
        field_values={"emails": "ADA@example.com, second@Engine.IO"},
        github="https://github.com/ada",
        phones=["+44 20 7946 0000"],
    )

    assert person_claim_keys(person) == (
        "email:ada.l@analytical.org",
        "email:ada@example.com",
        "email:second@engine.io",
        "linkedin:linkedin.com/in/ada-l",
    )


def test_a_linkedin_profile_url_counts_when_there_is_no_linkedin_field() -> None:
    person = Person(full_name="Ada", profile_url="https://m.linkedin.com/in/ada-l/details/skills/")

    assert person_claim_keys(person) == ("linkedin:linkedin.com/in/ada-l",)


def test_a_person_known_by_name_or_other_urls_only_has_no_key() -> None:
    person = Person(full_name="Ada Lovelace", current_company="Analytical", website="https://ada.dev")

    assert person_claim_keys(person) == ()


def test_emails_are_nfc_and_case_folded_and_non_emails_refused() -> None:
    assert email_claim_key("  J\u00d6RG@Example.de ") == "email:j\u00f6rg@example.de"
    assert email_claim_key("JO\u0308RG@example.de") == "email:j\u00f6rg@example.de"
    assert email_claim_key("not an email") is None
    assert linkedin_claim_key("https://www.linkedin.com/company/acme") is None


@pytest.mark.parametrize(
    ("text", "valid"),
    [
        ("linkedin:linkedin.com/in/ada-l", True),
        ("linkedin:linkedin.com/sales/lead/acwaab", True),
        ("email:ada@example.com", True),
        ("email:j\u00f6rg@example.de", True),
        ("linkedin:linkedin.com/in/Ada-L", False),
        ("linkedin:https://www.linkedin.com/in/ada-l", False),
        ("linkedin:linkedin.com/in/ada-l/", False),
        ("linkedin:linkedin.com/company/acme", False),
        ("email:Ada@example.com", False),
        ("email:J\u00d6RG@example.de", False),
        ("email:ada@ example.com", False),
        ("ada@example.com", False),
        ("name:ada lovelace|analytical", False),
        ("", False),
    ],
)
def test_only_normalised_keys_are_claim_keys(text: str, valid: bool) -> None:
    assert is_claim_key(text) is valid


def test_whatever_a_person_holds_their_keys_are_claim_keys() -> None:
    person = Person(
        linkedin="HTTPS://NL.LINKEDIN.COM/in/%C3%89L%C3%88NE/?trk=x",
        emails=["\u00c9l\u00e8ne@Example.FR"],
    )

    keys = person_claim_keys(person)

    assert keys and all(is_claim_key(key) for key in keys)
