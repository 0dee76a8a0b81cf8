"""Profile URLs: what we write to CATS and when two spellings are one profile."""

from __future__ import annotations

import pytest

from companion.rules.urls import canonical_url, linkedin_identity, url_identity


@pytest.mark.parametrize(
    ("url", "canonical", "identity", "linkedin"),
    [
        (
            "uk.linkedin.com/in/Ada-L/?trk=public",
            "https://www.linkedin.com/in/Ada-L",
            "linkedin.com/in/ada-l",
            "linkedin.com/in/ada-l",
        ),
        (
            "https://www.linkedin.com/in/ada%C3%A9/details/skills/",
            "https://www.linkedin.com/in/ada%C3%A9",
            "linkedin.com/in/adaé",
            "linkedin.com/in/adaé",
        ),
        (
            "https://www.linkedin.com/sales/lead/ACwAAB,NAME_SEARCH,xyz",
            "https://www.linkedin.com/sales/lead/ACwAAB",
            "linkedin.com/sales/lead/acwaab",
            "linkedin.com/sales/lead/acwaab",
        ),
        (
            "https://nl.linkedin.com/pub/ada-l/1/2/3",
            "https://www.linkedin.com/pub/ada-l/1/2/3",
            "linkedin.com/pub/ada-l/1/2/3",
            "linkedin.com/pub/ada-l/1/2/3",
        ),
        (
            "linkedin.com/company/acme/",
            "https://linkedin.com/company/acme/",
            "linkedin.com/company/acme",
            None,
        ),
        ("HTTPS://GitHub.com/Ada#repos", "https://github.com/Ada", "github.com/ada", None),
        ("//x.com/ada", "https://x.com/ada", "x.com/ada", None),
        ("http://ada.dev/?lang=en", "http://ada.dev/?lang=en", "ada.dev", None),
    ],
)
def test_url_forms(url: str, canonical: str, identity: str, linkedin: str | None) -> None:
    assert canonical_url(url) == canonical
    assert url_identity(url) == identity
    assert linkedin_identity(url) == linkedin


def test_a_linkedin_lookalike_host_is_not_linkedin() -> None:
    assert linkedin_identity("https://notlinkedin.com/in/ada") is None


@pytest.mark.parametrize(
    "spelling",
    [
        "https://www.linkedin.com/in/ada-l",
        "www.linkedin.com/in/ada-l",
        "uk.linkedin.com/in/Ada-L/?trk=public_profile_browsemap",
        "https://de.linkedin.com/in/ada-l/?originalSubdomain=de",
        "http://LinkedIn.com/in/ADA-L/#experience",
        "https://m.linkedin.com/in/ada-l/",
        "https://www.linkedin.com/mwlite/in/ada-l",
        "https://www.linkedin.com/in/ada-l/details/experience/",
        "https://www.linkedin.com/in/ada-l/overlay/contact-info/",
        "https://www.linkedin.com//in/ada-l",
        "https://www.linkedin.com/in/%61da-l",
        "https://www.linkedin.com/in/ada-l%2F",
        "https://www.linkedin.com/in/ada-l%2Fdetails%2Fskills",
        "https://www.linkedin.com:443/in/ada-l",
    ],
)
def test_every_spelling_of_one_member_page_has_one_identity(spelling: str) -> None:
    assert linkedin_identity(spelling) == "linkedin.com/in/ada-l"


def test_a_slug_with_a_combining_accent_equals_the_encoded_precomposed_one() -> None:
    decomposed = "https://www.linkedin.com/in/he\u0301le\u0300ne"
    encoded = "https://www.linkedin.com/in/h%C3%A9l%C3%A8ne"

    assert linkedin_identity(decomposed) == linkedin_identity(encoded) == "linkedin.com/in/h\u00e9l\u00e8ne"


def test_linkedin_lite_pages_are_written_to_cats_as_member_pages() -> None:
    assert (
        canonical_url("https://www.linkedin.com/mwlite/in/Ada-L?x=1") == "https://www.linkedin.com/in/Ada-L"
    )


def test_two_different_members_stay_different() -> None:
    assert linkedin_identity("linkedin.com/in/ada-l") != linkedin_identity("linkedin.com/in/ada-l-2")
    assert linkedin_identity("linkedin.com/mwlite/company/acme") is None
