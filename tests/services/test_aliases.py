"""Confirmed companies: alias keys, confirming, re-confirming, unconfirming, companies deleted from CATS."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from companion.errors import BadRequestError
from companion.matching import CompanyQuery, Confidence, MatchBasis
from companion.rules.person import Person
from companion.services.aliases import alias_keys
from companion.services.company_lookup import CompanyLookupService
from companion.services.resolve import CompanyChoice, choose_company
from companion.store import Database
from companion.store.aliases import AliasStore
from tests.services.lookup_support import (
    SYNCED_AT,
    Clock,
    company,
    mark_synced,
    open_service,
    settings_service,
    write,
)

ACME = company(1, "Acme Corporation", "https://www.acme.com")
ACME_LABS = company(2, "Acme Labs", "https://labs.acme.com")
NORTHWIND = company(3, "Northwind Traders")
PROFILE = CompanyQuery(name="ACME Deutschland", website="https://acme.de", email="jo@acme.com")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def service(db: Database, tmp_path: Path, clock: Clock) -> AsyncIterator[CompanyLookupService]:
    lookup = await open_service(db, settings_service(tmp_path), clock)
    await write(db, lookup, [ACME, ACME_LABS, NORTHWIND])
    await mark_synced(db)
    yield lookup
    lookup.close()


def test_alias_keys_are_the_linkedin_page_name_and_company_domains_strongest_first() -> None:
    query = CompanyQuery(
        name="The Acme Company, Inc.",
        website="https://www.acme.de/jobs",
        email="Jo <jo@ACME.com>",
        linkedin_url="https://www.linkedin.com/company/acme-corp/",
    )
    assert alias_keys(query) == [
        ("linkedin", "acme-corp"),
        ("name", "acme"),
        ("domain", "acme.de"),
        ("domain", "acme.com"),
    ]


def test_free_mail_and_a_linkedin_website_give_no_domain_alias() -> None:
    query = CompanyQuery(website="https://linkedin.com/company/acme", email="jo@gmail.com")
    assert alias_keys(query) == [("linkedin", "acme")]


async def test_a_confirmed_company_is_the_match_for_its_name_and_its_domain(
    service: CompanyLookupService, db: Database, clock: Clock
) -> None:
    before = service.lookup(PROFILE)
    assert before.match is not None and before.match.company_id == 1  # by the e-mail domain
    confirmed = await service.confirm(PROFILE, 3)
    assert confirmed.confirmed is True and confirmed.match is not None and confirmed.match.company_id == 3

    by_name = service.lookup(CompanyQuery(name="Acme Deutschland GmbH"))
    by_domain = service.lookup(CompanyQuery(website="acme.de"))
    for result in (by_name, by_domain):
        assert result.match is not None
        assert (result.match.company_id, result.match.basis, result.match.confidence) == (
            3,
            MatchBasis.CONFIRMED_ALIAS,
            Confidence.CONFIRMED,
        )
        assert (
            result.match.reason
            == "A recruiter confirmed that this company is CATS company 'Northwind Traders'"
        )
        assert result.confirmed is True
    stored = await AliasStore(db).for_company(3)
    assert {(alias.kind, alias.key) for alias in stored} == {
        ("name", "acme deutschland"),
        ("domain", "acme.de"),
        ("domain", "acme.com"),
    }
    assert {alias.confirmed_at for alias in stored} == {clock.now}


async def test_the_other_evidence_stays_visible_as_warnings_beside_a_confirmation(
    service: CompanyLookupService,
) -> None:
    await service.confirm(PROFILE, 3)
    result = service.lookup(PROFILE)
    assert result.match is not None and result.match.company_id == 3
    assert {tuple(warning.company_ids) for warning in result.warnings} >= {(1,)}


async def test_confirming_again_to_another_company_replaces_the_alias(
    service: CompanyLookupService, db: Database, clock: Clock
) -> None:
    await service.confirm(PROFILE, 3)
    clock.now += timedelta(days=1)
    await service.confirm(PROFILE, 2)
    result = service.lookup(CompanyQuery(name="Acme Deutschland"))
    assert result.match is not None and result.match.company_id == 2 and result.confirmed
    assert await AliasStore(db).for_company(3) == []
    assert {alias.confirmed_at for alias in await AliasStore(db).for_company(2)} == {clock.now}


async def test_unconfirm_forgets_the_confirmation(service: CompanyLookupService) -> None:
    await service.confirm(PROFILE, 3)
    assert await service.unconfirm(PROFILE, company_id=2) == 0  # not confirmed to 2: nothing removed
    assert await service.unconfirm(PROFILE) == 3
    result = service.lookup(PROFILE)
    assert result.confirmed is False
    assert result.match is not None and result.match.company_id == 1


async def test_an_alias_to_a_company_deleted_from_cats_is_ignored_and_removed_by_the_sync(
    service: CompanyLookupService, db: Database
) -> None:
    await service.confirm(CompanyQuery(name="Northwind"), 3)
    # Deleted behind the hook's back (another process): the lookup must not trust the alias.
    async with db.transaction() as conn:
        await conn.execute("DELETE FROM companies WHERE id = 3")
    assert service.lookup(CompanyQuery(name="Northwind")).confirmed is False
    assert len(await AliasStore(db).for_company(3)) == 1
    # The sync's deletion goes through the change hook, which drops the alias.
    await write(db, service, [], removed=[3])
    assert await AliasStore(db).for_company(3) == []
    assert service.lookup(CompanyQuery(name="Northwind Traders")).match is None


async def test_a_linkedin_alias_outranks_a_name_alias_to_another_company(
    service: CompanyLookupService,
) -> None:
    await service.confirm(CompanyQuery(name="Acme"), 2)
    await service.confirm(CompanyQuery(linkedin_url="https://www.linkedin.com/company/acme-gmbh"), 3)
    result = service.lookup(CompanyQuery(name="Acme", linkedin_url="linkedin.com/company/acme-gmbh/"))
    assert result.match is not None and result.match.company_id == 3 and result.confirmed


async def test_confirming_a_company_the_cache_does_not_hold_is_refused_and_changes_nothing(
    service: CompanyLookupService, db: Database
) -> None:
    with pytest.raises(BadRequestError, match="not in the company cache"):
        await service.confirm(PROFILE, 999)
    rows = await db.fetchall("SELECT * FROM company_aliases")
    assert rows == []


@pytest.mark.parametrize("company_id", [0, -3, True])
async def test_a_bad_company_id_is_refused(service: CompanyLookupService, company_id: int) -> None:
    with pytest.raises(BadRequestError, match="company_id"):
        await service.confirm(PROFILE, company_id)


async def test_a_query_with_nothing_to_remember_is_refused(
    service: CompanyLookupService, db: Database
) -> None:
    with pytest.raises(BadRequestError, match="nothing to remember"):
        await service.confirm(CompanyQuery(name="!!!", email="jo@gmail.com"), 3)
    assert await db.fetchall("SELECT * FROM company_aliases") == []


async def test_forget_companies_removes_only_their_aliases(
    db: Database, service: CompanyLookupService
) -> None:
    store = AliasStore(db)
    await store.confirm([("name", "a"), ("domain", "a.com")], 1, confirmed_at=SYNCED_AT)
    await store.confirm([("name", "b")], 2, confirmed_at=SYNCED_AT)
    assert await store.forget_companies([1, 99]) == 2
    assert [alias.key for alias in await store.for_company(2)] == ["b"]
    assert await store.forget_companies([]) == 0


async def test_the_lookup_and_a_contacts_push_take_the_same_confirmed_company(
    service: CompanyLookupService, db: Database
) -> None:
    store = AliasStore(db)
    # The website's domain and the e-mail's were confirmed to different companies: the website wins.
    await store.confirm([("domain", "acme.de")], 2, confirmed_at=SYNCED_AT)
    await store.confirm([("domain", "acme.com")], 3, confirmed_at=SYNCED_AT)
    query = CompanyQuery(website="https://acme.de", email="jo@acme.com")
    contact = Person(first_name="Jo", company_website="https://acme.de", emails=["jo@acme.com"])
    looked_up = service.lookup(query)
    assert looked_up.match is not None and (looked_up.match.company_id, looked_up.confirmed) == (2, True)
    assert await choose_company(db, contact, chosen_id=None) == CompanyChoice(2, "alias")
    # A name alias is stronger than either domain, for both.
    await store.confirm([("name", "acme deutschland")], 3, confirmed_at=SYNCED_AT)
    named = contact.model_copy(update={"current_company": "ACME Deutschland GmbH"})
    looked_up = service.lookup(query.model_copy(update={"name": "ACME Deutschland GmbH"}))
    assert looked_up.match is not None and looked_up.match.company_id == 3
    assert await choose_company(db, named, chosen_id=None) == CompanyChoice(3, "alias")


async def test_a_contacts_push_passes_over_an_alias_to_a_deleted_company_as_the_lookup_does(
    service: CompanyLookupService, db: Database
) -> None:
    await AliasStore(db).confirm([("name", "acme corporation")], 3, confirmed_at=SYNCED_AT)
    async with db.transaction() as conn:
        await conn.execute("DELETE FROM companies WHERE id = 3")
    contact = Person(first_name="Jo", current_company="Acme Corporation")
    looked_up = service.lookup(CompanyQuery(name="Acme Corporation"))
    assert looked_up.match is not None and (looked_up.match.company_id, looked_up.confirmed) == (1, False)
    assert await choose_company(db, contact, chosen_id=None) == CompanyChoice(1, "name")
