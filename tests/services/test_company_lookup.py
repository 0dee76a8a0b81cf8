"""Company lookups through the service: match and reasons, look-alikes per setting, displayed fields, cache
state and the picker search, all from a real SQLite cache written the way the sync writes it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from companion.errors import BadRequestError
from companion.matching import (
    NORMALISER_VERSION,
    CompanyQuery,
    Confidence,
    MatchBasis,
    MatchThresholds,
    WarningKind,
)
from companion.services.company_lookup import (
    NAME_KEY_VERSION_META,
    CompanyLookupService,
    LookupResult,
    refresh_name_keys,
)
from companion.settings.service import SettingsService
from companion.store import Database
from companion.store.meta import get_meta
from tests.services.lookup_support import (
    SYNCED_AT,
    Clock,
    company,
    mark_synced,
    open_service,
    settings_service,
    write,
)

GLOBEX = [
    company(
        1,
        "Globex Corporation",
        "https://www.globex.com",
        social_media_urls=["https://www.linkedin.com/company/globex/"],
        owner_id=4001,
        status_id=130,
        billing_contact_id=77,
        street="1 Main St",
        city="Leeds",
        postal_code="LS1 1AA",
        country_code="GB",
        phones={"work": "+44 113 496 0000", "cell": "+44 7700 900123"},
        is_hot=True,
        custom_fields={88005: "Manufacturing", 88007: ["EMEA", "APAC"], 88008: 4002, 88010: "1"},
    ),
    company(2, "Globex Research Labs", "https://labs.globex.com"),
    company(3, "GLOBEX GmbH"),
    company(4, "Globex Holdings", social_media_urls=["https://linkedin.com/company/globex-corp"]),
    company(5, "Globalex Europe", social_media_urls=["https://www.linkedin.com/company/globex"]),
    company(10, "Initech Sofware Systems Inc"),
    company(11, "Initech Software Systems GmbH", "https://initech.example.com"),
    company(12, "Umbrella Pharmaceuticals"),
]


@pytest.fixture
def settings(tmp_path: Path) -> SettingsService:
    return settings_service(tmp_path)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def service(
    db: Database, settings: SettingsService, clock: Clock
) -> AsyncIterator[CompanyLookupService]:
    # Opened on the empty cache: every company below reaches the index through the sync's change hook.
    lookup = await open_service(db, settings, clock)
    await write(db, lookup, GLOBEX)
    await mark_synced(db)
    yield lookup
    lookup.close()


def kinds(result: LookupResult) -> list[WarningKind]:
    return [warning.kind for warning in result.warnings]


# --- the match ---------------------------------------------------------------------------------------


async def test_a_name_finds_the_company_with_the_same_name_apart_from_the_legal_form(
    service: CompanyLookupService,
) -> None:
    result = service.lookup(CompanyQuery(name="Initech Software Systems Ltd"))
    assert result.match is not None
    # The only CATS company of that name, written the same: a match, not a likely one.
    assert (result.match.company_id, result.match.basis, result.match.confidence, result.match.label) == (
        11,
        MatchBasis.EXACT_NAME,
        Confidence.HIGH,
        "Match",
    )
    assert result.match.reason == (
        "Same name apart from the legal form: 'Initech Software Systems Ltd' vs CATS company "
        "'Initech Software Systems GmbH'"
    )
    assert result.confirmed is False


async def test_a_website_finds_the_company_on_that_domain_with_high_confidence(
    service: CompanyLookupService,
) -> None:
    result = service.lookup(CompanyQuery(website="https://careers.initech.example.com/jobs?id=3"))
    assert result.match is not None
    assert (result.match.company_id, result.match.confidence) == (11, Confidence.HIGH)
    assert result.match.reason == (
        "Same website domain (example.com) as CATS company 'Initech Software Systems GmbH'"
    )


async def test_an_email_address_finds_the_company_by_its_domain(service: CompanyLookupService) -> None:
    result = service.lookup(CompanyQuery(email="jane.doe@globex.com"))
    assert result.match is not None and result.match.company_id == 1
    assert (
        result.match.reason
        == "E-mail domain (globex.com) is the website domain of CATS company 'Globex Corporation'"
    )


async def test_a_free_mail_address_matches_nothing(service: CompanyLookupService) -> None:
    result = service.lookup(CompanyQuery(email="jane.doe@gmail.com"))
    assert result.match is None and result.warnings == [] and result.company == []


async def test_a_linkedin_company_url_finds_the_company_with_that_page(service: CompanyLookupService) -> None:
    result = service.lookup(CompanyQuery(linkedin_url="https://de.linkedin.com/company/globex-corp/about/"))
    assert result.match is not None
    assert (result.match.company_id, result.match.basis, result.match.confidence) == (
        4,
        MatchBasis.LINKEDIN_PAGE,
        Confidence.HIGH,
    )
    assert "linkedin.com/company/globex-corp" in result.match.reason


async def test_a_similar_name_is_the_match_when_nothing_exact_is_found(service: CompanyLookupService) -> None:
    result = service.lookup(CompanyQuery(name="Umbrela Pharmaceuticals"))
    assert result.match is not None
    assert (result.match.company_id, result.match.basis) == (12, MatchBasis.SIMILAR_NAME)
    thresholds = MatchThresholds()
    score = result.match.score
    assert score is not None and thresholds.similar_match <= score < 100
    # The card's words follow the calibrated score: a likely match from `similar_likely` on.
    sure = score >= thresholds.similar_likely
    assert result.match.confidence is (Confidence.MEDIUM if sure else Confidence.LOW)


async def test_an_unknown_company_has_no_match_and_no_card(service: CompanyLookupService) -> None:
    result = service.lookup(CompanyQuery(name="Completely Unrelated Bakery"))
    assert (result.match, result.warnings, result.company) == (None, [], [])
    assert result.cache.state == "ready"


# --- look-alikes -------------------------------------------------------------------------------------


async def test_every_exact_warning_kind_names_the_cats_companies_and_why(
    service: CompanyLookupService,
) -> None:
    result = service.lookup(
        CompanyQuery(
            name="Globex Ltd",
            website="https://globex.com/careers",
            linkedin_url="https://www.linkedin.com/company/globex-corp/",
        )
    )
    assert result.match is not None and result.match.company_id == 1
    assert result.match.reason == "Same website domain (globex.com) as CATS company 'Globex Corporation'"
    by_kind = {warning.kind: warning for warning in result.warnings}
    assert by_kind[WarningKind.SAME_DOMAIN].company_ids == [2]
    assert by_kind[WarningKind.SAME_DOMAIN].message == (
        "Same website domain (globex.com) as CATS company 'Globex Research Labs'"
    )
    assert by_kind[WarningKind.SAME_LINKEDIN_PAGE].company_ids == [4]
    assert by_kind[WarningKind.SAME_LINKEDIN_PAGE].message == (
        "Same LinkedIn company page (linkedin.com/company/globex-corp) as CATS company 'Globex Holdings'"
    )
    assert by_kind[WarningKind.SAME_NAME_LEGAL_FORM].company_ids == [3]
    assert by_kind[WarningKind.SAME_NAME_LEGAL_FORM].message == (
        "Same name apart from the legal form: 'Globex Ltd' vs CATS company 'GLOBEX GmbH'"
    )
    # Globex Corporation shares its own LinkedIn page with Globalex Europe: a duplicate inside CATS.
    internal = by_kind[WarningKind.INTERNAL_DUPLICATES]
    assert internal.company_ids == [1, 5]
    assert internal.message == (
        "CATS company 'Globex Corporation' has possible duplicates in CATS: "
        "'Globalex Europe' (same LinkedIn company page)"
    )


async def test_a_similar_name_is_a_warning_with_its_score(service: CompanyLookupService) -> None:
    result = service.lookup(CompanyQuery(name="Initech Software Systems"))
    assert result.match is not None and result.match.company_id == 11
    similar = [warning for warning in result.warnings if warning.kind is WarningKind.SIMILAR_NAME]
    assert len(similar) == 1
    assert similar[0].company_ids == [10]
    assert similar[0].score is not None and 88 <= similar[0].score < 100
    assert similar[0].message == (
        f"Similar name ({similar[0].score:.0f}/100): 'Initech Software Systems' vs CATS company "
        "'Initech Sofware Systems Inc'"
    )


@pytest.mark.parametrize(
    ("level", "expected"),
    [
        ("off", []),
        ("exact", [WarningKind.SAME_NAME_LEGAL_FORM]),
        ("similar", [WarningKind.SAME_NAME_LEGAL_FORM, WarningKind.SIMILAR_NAME]),
    ],
)
async def test_the_warning_level_setting_decides_which_look_alikes_are_shown(
    service: CompanyLookupService, settings: SettingsService, level: str, expected: list[WarningKind]
) -> None:
    settings.patch({"general.company_warning_level": level})
    # 11 by its website; 13 has the same name apart from the legal form; 10 a similar one.
    await write(service.aliases.store.db, service, [company(13, "Initech Software Systems AG")])
    result = service.lookup(
        CompanyQuery(name="Initech Software Systems Ltd", website="https://www.initech.example.com")
    )
    assert result.level == level
    assert result.match is not None and result.match.company_id == 11
    assert sorted(set(kinds(result))) == sorted(expected)


async def test_a_settings_change_applies_to_the_very_next_lookup(
    service: CompanyLookupService, settings: SettingsService
) -> None:
    query = CompanyQuery(name="Initech Software Systems Ltd", website="https://www.initech.example.com")
    await write(service.aliases.store.db, service, [company(13, "Initech Software Systems AG")])
    before = service.lookup(query)
    assert before.warnings and [field.key for field in before.company][:1] == ["name"]
    settings.patch({"general.company_warning_level": "off", "general.displayed_company_info": ["website"]})
    after = service.lookup(query)
    assert after.warnings == []
    assert [field.key for field in after.company] == ["website"]
    settings.reset(None)
    assert service.lookup(query) == before.model_copy(update={"cache": service.lookup(query).cache})


# --- the card ----------------------------------------------------------------------------------------


async def test_displayed_fields_follow_the_setting_in_order_with_names_not_ids(
    service: CompanyLookupService, settings: SettingsService
) -> None:
    settings.patch(
        {
            "general.displayed_company_info": [
                "status",
                "owner",
                "custom:88008",
                "address",
                "phone",
                "custom:88005",
                "custom:88007",
                "custom:88010",
                "key_contact",
                "is_hot",
                "custom:99999",
                "website",
            ]
        }
    )
    result = service.lookup(CompanyQuery(website="globex.com"))
    shown = [(field.key, field.label, field.value, field.ref_id) for field in result.company]
    assert shown == [
        ("status", "Status", "Active", 130),
        ("owner", "Owner", "Dana Whitfield", 4001),
        ("custom:88008", "Account manager", "Sam Okafor", 4002),
        ("address", "Address", "1 Main St, Leeds, LS1 1AA, GB", None),
        ("phone", "Phone", "+44 113 496 0000 (work); +44 7700 900123 (cell)", None),
        ("custom:88005", "Industry", "Manufacturing", None),
        ("custom:88007", "Regions", "EMEA, APAC", None),
        ("custom:88010", "Key account", "Yes", None),
        ("key_contact", "Key contact", "CATS contact 77", 77),
        ("is_hot", "Hot", "Yes", None),
        # A custom field CATS no longer has: shown by id, without a value.
        ("custom:99999", "Custom field 99999", None, None),
        ("website", "Website", "https://www.globex.com", None),
    ]


async def test_fields_the_company_does_not_have_are_shown_empty(service: CompanyLookupService) -> None:
    result = service.lookup(CompanyQuery(name="Umbrella Pharmaceuticals"))
    values = {field.key: field.value for field in result.company}
    assert values["name"] == "Umbrella Pharmaceuticals"
    assert values["owner"] is None and values["address"] is None and values["phone"] is None


# --- cache state --------------------------------------------------------------------------------------


async def test_a_never_synced_cache_says_so(db: Database, settings: SettingsService, clock: Clock) -> None:
    service = await open_service(db, settings, clock)
    try:
        result = service.lookup(CompanyQuery(name="Globex"))
    finally:
        service.close()
    assert result.match is None
    assert (result.cache.state, result.cache.companies, result.cache.age_seconds) == ("never_synced", 0, None)
    assert result.cache.message is not None and "not been synced" in result.cache.message


async def test_a_synced_but_empty_cache_says_cats_had_no_companies(
    db: Database, settings: SettingsService, clock: Clock
) -> None:
    await mark_synced(db)
    service = await open_service(db, settings, clock)
    try:
        cache = service.lookup(CompanyQuery(name="Globex")).cache
    finally:
        service.close()
    assert cache.state == "empty"
    assert cache.message is not None and "no companies" in cache.message


async def test_the_answer_carries_the_cache_age(service: CompanyLookupService, clock: Clock) -> None:
    clock.now = SYNCED_AT + timedelta(hours=3)
    cache = service.lookup(CompanyQuery(name="Globex")).cache
    assert (cache.state, cache.companies, cache.last_success_at) == ("ready", len(GLOBEX), SYNCED_AT)
    assert cache.age_seconds == 3 * 3600
    assert cache.message is None


async def test_the_index_is_rebuilt_from_sqlite_when_the_service_opens(
    db: Database, settings: SettingsService, clock: Clock, service: CompanyLookupService
) -> None:
    reopened = await open_service(db, settings, clock)
    try:
        assert len(reopened.index) == len(GLOBEX)
        assert reopened.build_seconds is not None
        query = CompanyQuery(name="Initech Software Systems")
        assert reopened.lookup(query) == service.lookup(query)
    finally:
        reopened.close()


# --- picker search -------------------------------------------------------------------------------------


async def test_prefix_search_finds_names_starting_with_the_text_best_first(
    service: CompanyLookupService,
) -> None:
    result = service.search("glob", limit=10)
    names = [hit.name for hit in result.companies]
    # Shortest names first (the plain "Globex" ones), then alphabetical by normalised name.
    assert names[:2] == ["Globex Corporation", "GLOBEX GmbH"]
    assert set(names) == {
        "Globex Corporation",
        "GLOBEX GmbH",
        "Globex Holdings",
        "Globalex Europe",
        "Globex Research Labs",
    }
    assert service.search("glob", limit=2).companies == result.companies[:2]


async def test_prefix_search_ignores_case_accents_punctuation_and_a_leading_the(
    service: CompanyLookupService,
) -> None:
    for text in ("INITECH SOFT", "the initech-soft", "Ínitech  Soft"):
        assert [hit.id for hit in service.search(text).companies] == [11], text


async def test_prefix_search_offers_a_name_whose_legal_form_is_being_typed(
    service: CompanyLookupService,
) -> None:
    # "GLOBEX GmbH" is stored under the key "globex": typing its legal form must not lose it.
    assert [hit.id for hit in service.search("Globex G").companies] == [3]
    assert [hit.id for hit in service.search("globex gmbh").companies] == [3]


async def test_prefix_search_without_letters_finds_nothing(service: CompanyLookupService) -> None:
    assert service.search("  --- ").companies == []


@pytest.mark.parametrize("limit", [0, 51, True])
async def test_prefix_search_refuses_a_bad_limit(service: CompanyLookupService, limit: int) -> None:
    with pytest.raises(BadRequestError, match="limit"):
        service.search("glob", limit=limit)


# --- name keys of an older normaliser --------------------------------------------------------------------


async def test_a_cache_keyed_by_an_older_normaliser_is_rekeyed_when_the_service_opens(
    db: Database, settings: SettingsService, clock: Clock
) -> None:
    # As an older normaliser stored them: "Holdings" and the /DE/ tag were part of the key.
    stale = [
        company(21, "Vandelay Holdings").model_copy(update={"name_key": "vandelay holdings"}),
        company(22, "KRAMERICA INDUSTRIES INC /DE/").model_copy(
            update={"name_key": "kramerica industries de"}
        ),
    ]
    await write(db, None, stale)
    await mark_synced(db)
    assert await refresh_name_keys(db) == 2
    assert await refresh_name_keys(db) == 0  # the version is recorded: the next start reads no row
    service = await open_service(db, settings, clock)
    try:
        result = service.lookup(CompanyQuery(name="Vandelay"))
        assert result.match is not None and result.match.company_id == 21
        assert result.match.basis is MatchBasis.EXACT_NAME
        kramerica = service.lookup(CompanyQuery(name="Kramerica Industries"))
        assert kramerica.match is not None and kramerica.match.company_id == 22
    finally:
        service.close()


async def test_a_fresh_cache_records_the_normaliser_version_and_rekeys_nothing(db: Database) -> None:
    await write(db, None, [company(31, "Acme Holdings Inc")])
    assert await refresh_name_keys(db) == 0
    assert await get_meta(db, NAME_KEY_VERSION_META) == str(NORMALISER_VERSION)
