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
