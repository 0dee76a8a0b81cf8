"""The in-memory directory: lookups and the index stay in step as companies are added, changed, removed."""

from __future__ import annotations

import pytest

from companion.matching.directory import CompanyDirectory
from companion.matching.models import CachedCompany


def test_from_cats_derives_domain_and_linkedin_slug() -> None:
    company = CachedCompany.from_cats(
        7,
        "Acme Corp",
        "https://www.acme.com/en/",
        ["https://twitter.com/acme", "https://www.linkedin.com/company/acme-corp/"],
    )
    assert (company.domain, company.linkedin_slug) == ("acme.com", "acme-corp")


def test_from_cats_ignores_generic_websites_and_takes_a_linkedin_website_as_the_page() -> None:
    company = CachedCompany.from_cats(8, "Acme", "https://www.linkedin.com/company/6926/")
    assert (company.domain, company.linkedin_slug) == (None, "6926")
    assert CachedCompany.from_cats(9, "Acme", "").domain is None
    assert CachedCompany.from_cats(10, "Acme", None).domain is None


def test_lookups_find_companies_by_each_key() -> None:
    directory = CompanyDirectory(
        [
            CachedCompany(id=2, name="Acme GmbH", domain="acme.de"),
            CachedCompany(id=1, name="ACME Inc.", domain="acme.com", linkedin_slug="acme"),
            CachedCompany(id=3, name="Acme Corp", domain="acme.com"),
        ]
    )
    assert [c.id for c in directory.by_domain("acme.com")] == [1, 3]
    assert [c.id for c in directory.by_linkedin_slug("acme")] == [1]
    assert [c.id for c in directory.by_normalized_name("acme")] == [1, 2, 3]
    assert directory.by_domain("unknown.com") == []
    assert directory.get(2) == CachedCompany(id=2, name="Acme GmbH", domain="acme.de")
    assert directory.get(99) is None
    assert [c.id for c, _ in directory.similar("Acme Corporation", limit=3, min_score=90)] == [1, 2, 3]


def test_upsert_moves_a_company_to_its_new_keys() -> None:
    directory = CompanyDirectory(
        [CachedCompany(id=1, name="Globex", domain="globex.com", linkedin_slug="globex")]
    )
    directory.upsert(CachedCompany(id=1, name="Umbrella Corp", domain="umbrella.com"))
    assert len(directory) == 1
    assert directory.by_domain("globex.com") == []
    assert directory.by_linkedin_slug("globex") == []
    assert directory.by_normalized_name("globex") == []
    assert [c.id for c in directory.by_domain("umbrella.com")] == [1]
    assert [c.id for c in directory.by_normalized_name("umbrella")] == [1]
    assert directory.similar("Globex", limit=5, min_score=60) == []


def test_remove_forgets_every_key() -> None:
    company = CachedCompany(id=1, name="Globex", domain="globex.com", linkedin_slug="globex")
    directory = CompanyDirectory([company, CachedCompany(id=2, name="Globex Ltd")])
    assert directory.remove(1) is True
    assert 1 not in directory
    assert directory.by_domain("globex.com") == []
    assert directory.by_linkedin_slug("globex") == []
    assert [c.id for c in directory.by_normalized_name("globex")] == [2]
    assert [c.id for c, _ in directory.similar("Globex", limit=5, min_score=0)] == [2]
    assert directory.remove(1) is False


def test_the_empty_key_identifies_nothing() -> None:
    directory = CompanyDirectory([CachedCompany(id=1, name="???"), CachedCompany(id=2, name="---")])
    assert directory.by_normalized_name("") == []


def test_a_refused_company_changes_nothing() -> None:
    directory = CompanyDirectory([CachedCompany(id=1, name="Globex", domain="globex.com")])
    with pytest.raises(ValueError, match="company_id"):
        directory.upsert(CachedCompany(id=-5, name="Globex", domain="globex.com"))
    assert len(directory) == 1
    assert [c.id for c in directory.by_domain("globex.com")] == [1]
    assert [c.id for c in directory.by_normalized_name("globex")] == [1]
