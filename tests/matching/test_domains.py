"""Company domains from websites, hosts and e-mail addresses; LinkedIn company pages."""

from __future__ import annotations

import socket

import pytest
from hypothesis import given
from hypothesis import strategies as st

from companion.matching.domains import (
    company_domain,
    is_generic_domain,
    linkedin_company_slug,
    registrable_domain,
)


@pytest.mark.parametrize(
    ("value", "domain"),
    [
        ("https://www.acme.com/careers", "acme.com"),
        ("http://WWW.ACME.COM", "acme.com"),
        ("acme.com", "acme.com"),
        ("www.acme.com", "acme.com"),
        ("jobs.eu.acme.com/path?x=1#top", "acme.com"),
        ("https://acme.co.uk:8443/jobs", "acme.co.uk"),
        ("acme.com:8080", "acme.com"),
        ("acme.com.", "acme.com"),
        ("  https://acme.com  ", "acme.com"),
        ("http://user:secret@www.acme.com/", "acme.com"),
        ("jane.doe@acme.com", "acme.com"),
        ("Jane.Doe@Mail.ACME.com", "acme.com"),
        ("Jane Doe <jane@acme.de>", "acme.de"),
        ("mailto:jane@acme.fr", "acme.fr"),
        # IDNs: Unicode and punycode spellings meet, in Unicode form
        ("https://Bücher.DE/", "bücher.de"),
        ("xn--bcher-kva.de", "bücher.de"),
        ("jane@bücher.de", "bücher.de"),
        # PSL private suffixes: each hosted site is its own domain
        ("https://acme.github.io/", "acme.github.io"),
        ("acme.blogspot.com", "acme.blogspot.com"),
    ],
)
def test_registrable_domain_table(value: str, domain: str) -> None:
    assert registrable_domain(value) == domain


@pytest.mark.parametrize(
    "value",
    [
        "",
        "   ",
        "not a url",
        "localhost",
        "http://localhost:8080/",
        "10.0.0.1",
        "http://192.168.1.1/admin",
        "http://[::1]:80/",
        "http://[::1",
        "acme",
        "acme.invalidtld",
        "github.io",
        "..com",
        "acme..com",
        "-acme.com",
        "*.acme.com",
        "@acme.com",
        "a@b@acme.com",
        "jane@",
        "http://",
        "xn--zz.com",
    ],
)
def test_garbage_has_no_domain(value: str) -> None:
    assert registrable_domain(value) is None
    assert company_domain(value) is None


@pytest.mark.parametrize(
    "value",
    [
        "jane@gmail.com",
        "jane@googlemail.com",
        "bob@yahoo.co.uk",
        "bob@yahoo.fr",
        "x@hotmail.de",
        "x@outlook.com",
        "x@icloud.com",
        "x@proton.me",
        "x@protonmail.com",
        "x@gmx.net",
        "x@web.de",
        "x@qq.com",
        "x@163.com",
        "x@mail.ru",
        "https://www.linkedin.com/company/acme-corp/",
        "https://de.linkedin.com/in/jane",
        "https://www.facebook.com/acme",
        "https://github.com/acme",
        "https://www.indeed.com/cmp/Acme",
    ],
)
def test_free_mail_social_and_job_sites_are_not_company_domains(value: str) -> None:
    assert registrable_domain(value) is not None
    assert company_domain(value) is None


def test_company_domain_keeps_real_company_domains() -> None:
    assert company_domain("jane@acme.com") == "acme.com"
    assert company_domain("https://www.google.com/about") == "google.com"  # an employer, unlike gmail.com
    assert not is_generic_domain("acme.com")
    assert is_generic_domain("yahoo.com.br")


def test_domains_never_touch_the_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("domain parsing tried to open a connection")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    assert registrable_domain("https://www.some-new-company.co.jp/") == "some-new-company.co.jp"


@pytest.mark.parametrize(
    ("url", "slug"),
    [
        ("https://www.linkedin.com/company/acme-corp/", "acme-corp"),
        ("https://www.linkedin.com/company/acme-corp", "acme-corp"),
        ("https://www.linkedin.com/company/Acme-Corp/about/?trk=public_profile", "acme-corp"),
        ("https://www.linkedin.com/company/6926/", "6926"),
        ("https://www.linkedin.com/company/6926?trk=abc&x=1", "6926"),
        ("de.linkedin.com/company/acme-corp/jobs", "acme-corp"),
        ("https://fr.linkedin.com/company/acme-corp#x", "acme-corp"),
        ("http://linkedin.com/company/soci%C3%A9t%C3%A9-g%C3%A9n%C3%A9rale", "société-générale"),
        ("https://www.linkedin.com/sales/company/1234", "1234"),
    ],
)
def test_linkedin_company_slug_table(url: str, slug: str) -> None:
    assert linkedin_company_slug(url) == slug


@pytest.mark.parametrize(
    "url",
    [
        "",
        "https://www.linkedin.com/in/jane-doe/",
        "https://www.linkedin.com/school/mit/",
        "https://www.linkedin.com/showcase/acme-labs/",
        "https://www.linkedin.com/company/",
        "https://notlinkedin.com/company/acme",
        "https://linkedin.com.evil.example/company/acme",
        "https://acme.com/company/acme",
        "http://[::1",
    ],
)
def test_other_urls_have_no_linkedin_company_slug(url: str) -> None:
    assert linkedin_company_slug(url) is None


@given(st.text(max_size=80))
def test_any_text_gives_a_lower_case_domain_or_none(value: str) -> None:
    domain = registrable_domain(value)
    assert domain is None or (domain == domain.lower() and "." in domain and not domain.startswith("www."))
