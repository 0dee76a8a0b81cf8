"""The match and the duplicate warnings: levels, confidence, and reasons that name the CATS companies."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from pydantic import ValidationError

from companion.matching.directory import CompanyDirectory
from companion.matching.models import (
    CachedCompany,
    CompanyQuery,
    Confidence,
    DuplicateLevel,
    MatchBasis,
    MatchThresholds,
    WarningKind,
)
from companion.matching.scoring import name_similarity
from companion.matching.warnings import match_company

GLOBEX_QUERY = CompanyQuery(name="Globex Systems Inc", website="https://www.globex.com/about")
# Six names are too few to tell a common word from a rare one: the reference names tell it (`word_prior`),
# so the misspelt "Globex Sytems Ltd" is a look-alike at the shipped thresholds.
GLOBEX_THRESHOLDS = MatchThresholds()


def _globex() -> CompanyDirectory:
    return CompanyDirectory(
        [
            CachedCompany.from_cats(
                1,
                "Globex Systems Corp",
                "https://www.globex.com",
                ["https://www.linkedin.com/company/globex/"],
            ),
            CachedCompany.from_cats(2, "Globex Holdings", "globex.com/holdings"),
            CachedCompany.from_cats(3, "GLOBEX SYSTEMS GmbH"),
            CachedCompany.from_cats(4, "Globex Sytems Ltd"),
            CachedCompany.from_cats(5, "Initech"),
            CachedCompany.from_cats(
                7, "Globex Europe B.V.", None, ["https://nl.linkedin.com/company/globex"]
            ),
        ]
    )


class CountingLookup:
    """The directory, counting similarity searches: exact levels must not pay for one."""

    def __init__(self, directory: CompanyDirectory) -> None:
        self.directory = directory
        self.similar_calls = 0
        self.exact_calls: list[tuple[str, str]] = []

    def get(self, company_id: int) -> CachedCompany | None:
        return self.directory.get(company_id)

    def by_domain(self, domain: str) -> Sequence[CachedCompany]:
        self.exact_calls.append(("domain", domain))
        return self.directory.by_domain(domain)

    def by_linkedin_slug(self, slug: str) -> Sequence[CachedCompany]:
        self.exact_calls.append(("slug", slug))
        return self.directory.by_linkedin_slug(slug)

    def by_normalized_name(self, key: str) -> Sequence[CachedCompany]:
        self.exact_calls.append(("key", key))
        return self.directory.by_normalized_name(key)

    def similar(self, name: str, *, limit: int, min_score: float) -> Sequence[tuple[CachedCompany, float]]:
        self.similar_calls += 1
        return self.directory.similar(name, limit=limit, min_score=min_score)

    def ranked(self, name: str, *, limit: int, min_score: float) -> Sequence[tuple[CachedCompany, float]]:
        self.similar_calls += 1
        return self.directory.ranked(name, limit=limit, min_score=min_score)


@pytest.mark.parametrize(
    ("level", "kinds"),
    [
        (DuplicateLevel.OFF, []),
        (
            DuplicateLevel.EXACT,
            [WarningKind.SAME_DOMAIN, WarningKind.SAME_NAME_LEGAL_FORM, WarningKind.INTERNAL_DUPLICATES],
        ),
        (
            DuplicateLevel.SIMILAR,
            [
                WarningKind.SAME_DOMAIN,
                WarningKind.SAME_NAME_LEGAL_FORM,
                WarningKind.SIMILAR_NAME,
                WarningKind.INTERNAL_DUPLICATES,
            ],
        ),
    ],
)
def test_levels_produce_exactly_their_warning_kinds(level: DuplicateLevel, kinds: list[WarningKind]) -> None:
    lookup = CountingLookup(_globex())
    result = match_company(GLOBEX_QUERY, lookup, level, GLOBEX_THRESHOLDS)
    assert result.level is level
    assert result.match is not None and result.match.company_id == 1  # the level never hides the match
    assert [warning.kind for warning in result.warnings] == kinds
    assert (lookup.similar_calls > 0) is (level is DuplicateLevel.SIMILAR)


def test_warning_messages_name_the_cats_companies_involved() -> None:
    result = match_company(GLOBEX_QUERY, _globex(), DuplicateLevel.SIMILAR, GLOBEX_THRESHOLDS)
    by_kind = {warning.kind: warning for warning in result.warnings}

    domain = by_kind[WarningKind.SAME_DOMAIN]
    assert domain.message == "Same website domain (globex.com) as CATS company 'Globex Holdings'"
    assert domain.company_ids == [2]

    same_name = by_kind[WarningKind.SAME_NAME_LEGAL_FORM]
    assert same_name.message == (
        "Same name apart from the legal form: 'Globex Systems Inc' vs CATS company 'GLOBEX SYSTEMS GmbH'"
    )
    assert (same_name.company_ids, same_name.score) == ([3], 100.0)

    similar = by_kind[WarningKind.SIMILAR_NAME]
    assert similar.company_ids == [4]
    assert similar.score is not None and GLOBEX_THRESHOLDS.similar_warning <= similar.score < 100
    assert similar.message == (
        f"Similar name ({similar.score:.0f}/100): 'Globex Systems Inc' vs CATS company 'Globex Sytems Ltd'"
    )

    internal = by_kind[WarningKind.INTERNAL_DUPLICATES]
    assert internal.company_ids == [1, 7]
    assert internal.message == (
        "CATS company 'Globex Systems Corp' has possible duplicates in CATS: "
        "'Globex Europe B.V.' (same LinkedIn company page)"
    )


def test_domain_match_is_high_confidence_and_says_why() -> None:
    match = match_company(GLOBEX_QUERY, _globex()).match
    assert match is not None
    assert (match.basis, match.confidence) == (MatchBasis.DOMAIN, Confidence.HIGH)
    assert match.company_name == "Globex Systems Corp"
    assert match.reason == "Same website domain (globex.com) as CATS company 'Globex Systems Corp'"


def test_an_email_domain_match_says_it_came_from_the_email_address() -> None:
    result = match_company(CompanyQuery(email="jane.doe@globex.com"), _globex(), DuplicateLevel.EXACT)
    assert result.match is not None
    # Without a name to compare, the lowest id among the companies on that domain is the match.
    assert result.match.reason == (
        "E-mail domain (globex.com) is the website domain of CATS company 'Globex Systems Corp'"
    )
    assert result.warnings[0].message == (
        "E-mail domain (globex.com) is the website domain of CATS company 'Globex Holdings'"
    )


def test_among_several_companies_on_one_domain_the_closest_name_matches() -> None:
    directory = CompanyDirectory(
        [
            CachedCompany(id=1, name="Globex Holdings", domain="globex.com"),
            CachedCompany(id=2, name="Globex Systems", domain="globex.com"),
        ]
    )
    result = match_company(CompanyQuery(name="Globex Systems Ltd", website="globex.com"), directory)
    assert result.match is not None and result.match.company_id == 2
    assert [(w.kind, w.company_ids) for w in result.warnings] == [(WarningKind.SAME_DOMAIN, [1])]


def test_a_confirmed_alias_is_the_match_whatever_the_other_evidence() -> None:
    query = GLOBEX_QUERY.model_copy(update={"confirmed_company_id": 3})
    result = match_company(query, _globex(), DuplicateLevel.EXACT)
    assert result.match is not None
    assert (result.match.company_id, result.match.basis) == (3, MatchBasis.CONFIRMED_ALIAS)
    assert result.match.confidence is Confidence.CONFIRMED
    assert (
        result.match.reason == "A recruiter confirmed that this company is CATS company 'GLOBEX SYSTEMS GmbH'"
    )
    # The companies the domain points at are still worth a warning.
    assert {(w.kind, w.company_ids[0]) for w in result.warnings if w.kind is WarningKind.SAME_DOMAIN} == {
        (WarningKind.SAME_DOMAIN, 1),
        (WarningKind.SAME_DOMAIN, 2),
    }


def test_an_alias_to_a_company_deleted_from_cats_is_ignored() -> None:
    query = GLOBEX_QUERY.model_copy(update={"confirmed_company_id": 404})
    match = match_company(query, _globex()).match
    assert match is not None and (match.company_id, match.basis) == (1, MatchBasis.DOMAIN)


def test_exact_name_match_is_medium_confidence_and_prefers_the_closest_spelling() -> None:
    directory = CompanyDirectory(
        [CachedCompany(id=1, name="ACME, INC."), CachedCompany(id=2, name="Acme Inc")]
    )
    result = match_company(CompanyQuery(name="Acme Inc"), directory, DuplicateLevel.EXACT)
    assert result.match is not None
    assert (result.match.company_id, result.match.basis) == (2, MatchBasis.EXACT_NAME)
    assert result.match.confidence is Confidence.MEDIUM
    assert result.match.reason == "Same name as CATS company 'Acme Inc'"
    assert [w.message for w in result.warnings] == [
        "Same name apart from spelling (case, accents, punctuation): 'Acme Inc' vs CATS company 'ACME, INC.'"
    ]


def test_similar_name_is_the_match_only_at_the_similar_level() -> None:
    directory = CompanyDirectory([CachedCompany(id=4, name="Globex Sytems Ltd")])
    query = CompanyQuery(name="Globex Systems")
    unsure = MatchThresholds(similar_likely=100)
    similar = match_company(query, directory, DuplicateLevel.SIMILAR, unsure).match
    assert similar is not None
    assert (similar.company_id, similar.basis, similar.confidence, similar.label) == (
        4,
        MatchBasis.SIMILAR_NAME,
        Confidence.LOW,
        "Possible match",
    )
    assert similar.reason.startswith("Similar name (")
    assert match_company(query, directory, DuplicateLevel.EXACT).match is None
    assert match_company(query, directory, DuplicateLevel.OFF).match is None


def test_a_similar_name_the_model_is_sure_of_reads_as_a_likely_match() -> None:
    directory = CompanyDirectory([CachedCompany(id=4, name="Globex Sytems Ltd")])
    query = CompanyQuery(name="Globex Systems")
    match = match_company(query, directory, DuplicateLevel.SIMILAR).match
    assert match is not None and match.basis is MatchBasis.SIMILAR_NAME
    score = match.score or 0.0
    sure = MatchThresholds(similar_match=score - 1, similar_likely=score)
    unsure = MatchThresholds(similar_match=score - 1, similar_likely=score + 0.5)
    for thresholds, confidence in ((sure, Confidence.MEDIUM), (unsure, Confidence.LOW)):
        match = match_company(query, directory, DuplicateLevel.SIMILAR, thresholds).match
        assert match is not None and match.confidence is confidence


def test_a_similar_name_below_the_match_threshold_is_only_a_warning() -> None:
    directory = CompanyDirectory([CachedCompany(id=4, name="Globex Sytems Ltd")])
    thresholds = MatchThresholds(similar_warning=50, similar_match=99)
    result = match_company(CompanyQuery(name="Globex Systems"), directory, DuplicateLevel.SIMILAR, thresholds)
    assert result.match is None
    assert [(w.kind, w.company_ids) for w in result.warnings] == [(WarningKind.SIMILAR_NAME, [4])]


def test_power_is_never_matched_to_american_electric_power_at_most_shown_as_a_look_alike() -> None:
    directory = CompanyDirectory([CachedCompany(id=1, name="American Electric Power Co., Inc.")])
    result = match_company(CompanyQuery(name="Power"), directory, DuplicateLevel.SIMILAR)
    assert result.match is None
    assert [w.kind for w in result.warnings] in ([], [WarningKind.SIMILAR_NAME])
    assert all((w.score or 0.0) < MatchThresholds().similar_match for w in result.warnings)


def test_a_free_mail_address_is_no_evidence() -> None:
    directory = CompanyDirectory([CachedCompany.from_cats(1, "Google", "https://gmail.com")])
    result = match_company(
        CompanyQuery(name="Initech", email="jane@gmail.com"), directory, DuplicateLevel.SIMILAR
    )
    assert result.match is None
    assert result.warnings == []


def test_a_linkedin_company_page_matches_with_high_confidence() -> None:
    directory = CompanyDirectory(
        [
            CachedCompany.from_cats(
                1, "Umbrella Corporation", "https://www.linkedin.com/company/umbrella-corp/"
            )
        ]
    )
    query = CompanyQuery(name="Umbrella", linkedin_url="https://de.linkedin.com/company/Umbrella-Corp?trk=x")
    match = match_company(query, directory).match
    assert match is not None
    assert (match.company_id, match.basis, match.confidence) == (1, MatchBasis.LINKEDIN_PAGE, Confidence.HIGH)
    assert match.reason == (
        "Same LinkedIn company page (linkedin.com/company/umbrella-corp) "
        "as CATS company 'Umbrella Corporation'"
    )


def test_similar_name_warnings_are_capped_to_the_closest() -> None:
    names = [
        "Globex Sytems",
        "Globex Systens",
        "Globex Systms",
        "Glbex Systems",
        "Globx Systems",
        "Globex Systemz",
    ]
    directory = CompanyDirectory([CachedCompany(id=i, name=n) for i, n in enumerate(names, start=10)])
    result = match_company(
        CompanyQuery(name="Globex Systems Worldwide"),
        directory,
        DuplicateLevel.SIMILAR,
        MatchThresholds(similar_warning=0, similar_match=100, max_similar=3),
    )
    scores = [w.score or 0.0 for w in result.warnings]
    assert [w.kind for w in result.warnings] == [WarningKind.SIMILAR_NAME] * 3
    assert scores == sorted(scores, reverse=True)


def test_many_internal_duplicates_are_summarised() -> None:
    directory = CompanyDirectory(
        [
            CachedCompany(id=1, name="Initech", domain="initech.com"),
            *(
                CachedCompany(id=i, name=f"Initech {form}")
                for i, form in enumerate(["Inc", "LLC", "Ltd", "GmbH", "AG", "SA", "BV"], 2)
            ),
        ]
    )
    result = match_company(CompanyQuery(email="peter@initech.com"), directory, DuplicateLevel.EXACT)
    assert result.match is not None and result.match.company_id == 1
    assert result.match.score is None  # no query name to compare
    [internal] = result.warnings
    assert internal.kind is WarningKind.INTERNAL_DUPLICATES
    assert internal.company_ids == [1, 2, 3, 4, 5, 6, 7, 8]
    assert internal.message.startswith(
        "CATS company 'Initech' has possible duplicates in CATS: 'Initech Inc' ("
    )
    assert internal.message.endswith(" and 2 more")


@pytest.mark.parametrize("fields", [{}, {"name": "   "}, {"name": "", "website": "", "email": None}])
def test_a_query_with_nothing_to_match_is_refused(fields: dict[str, object]) -> None:
    with pytest.raises(ValidationError, match="needs a name"):
        CompanyQuery.model_validate(fields)


@pytest.mark.parametrize("fields", [{"similar_warning": 101}, {"similar_match": -1}, {"max_similar": 0}])
def test_out_of_range_thresholds_are_refused(fields: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        MatchThresholds.model_validate(fields)


def test_the_result_serialises_to_the_documented_wire_shape() -> None:
    wire = match_company(GLOBEX_QUERY, _globex(), DuplicateLevel.EXACT).model_dump(mode="json")
    assert wire["level"] == "exact"
    assert wire["match"] == {
        "company_id": 1,
        "company_name": "Globex Systems Corp",
        "basis": "domain",
        "confidence": "high",
        "score": 100.0,
        "reason": "Same website domain (globex.com) as CATS company 'Globex Systems Corp'",
        "label": "Match",
    }
    assert wire["warnings"][0] == {
        "kind": "same_domain",
        "message": "Same website domain (globex.com) as CATS company 'Globex Holdings'",
        "company_ids": [2],
        "score": round(name_similarity("globex systems", "globex"), 1),
    }


@pytest.mark.parametrize(
    ("level", "duplicate_ids"), [(DuplicateLevel.EXACT, [7, 3]), (DuplicateLevel.SIMILAR, [7, 3, 4])]
)
def test_internal_duplicates_follow_the_level(level: DuplicateLevel, duplicate_ids: list[int]) -> None:
    result = match_company(CompanyQuery(email="jane.doe@globex.com"), _globex(), level)
    internal = result.warnings[-1]
    assert internal.kind is WarningKind.INTERNAL_DUPLICATES
    assert internal.company_ids == [1, *duplicate_ids]
    assert "'GLOBEX SYSTEMS GmbH' (same name apart from the legal form or spelling)" in internal.message
    assert ("'Globex Sytems Ltd' (similar name, " in internal.message) is (level is DuplicateLevel.SIMILAR)


def test_the_matched_companys_own_duplicates_do_not_ask_the_cache_again() -> None:
    lookup = CountingLookup(_globex())
    query = CompanyQuery(name="Globex Systems Corp", website="https://globex.com")
    result = match_company(query, lookup, DuplicateLevel.SIMILAR)
    assert result.match is not None and result.match.company_id == 1
    assert WarningKind.INTERNAL_DUPLICATES in [warning.kind for warning in result.warnings]
    # The company's domain and name key are the query's: each was read from the cache once.
    assert sorted(lookup.exact_calls) == sorted(set(lookup.exact_calls))
    assert ("key", "globex systems") in lookup.exact_calls
    assert ("domain", "globex.com") in lookup.exact_calls


@pytest.mark.parametrize(
    "profile_name",
    ["Vandelay Industries - We're hiring", "Vandelay Industries | Careers", "Vandelay Industries (YC S25)"],
)
def test_a_profile_name_with_a_tagline_or_batch_tag_is_a_match(profile_name: str) -> None:
    directory = CompanyDirectory([CachedCompany(id=1, name="Vandelay Industries, Inc.")])
    match = match_company(CompanyQuery(name=profile_name), directory).match
    assert match is not None and match.company_id == 1
    assert (match.basis, match.confidence, match.label) == (MatchBasis.EXACT_NAME, Confidence.HIGH, "Match")


def test_a_name_equal_only_without_business_words_or_a_jurisdiction_tag_is_a_likely_match() -> None:
    directory = CompanyDirectory([CachedCompany(id=1, name="KRAMERICA INDUSTRIES INC /DE/")])
    for name in ("Kramerica Industries Holdings", "Kramerica Industries"):
        match = match_company(CompanyQuery(name=name), directory).match
        assert match is not None and match.company_id == 1
        assert (match.confidence, match.label) == (Confidence.MEDIUM, "Likely match")


def test_a_name_two_cats_companies_share_is_only_a_likely_match() -> None:
    directory = CompanyDirectory(
        [CachedCompany(id=1, name="Orbis srl"), CachedCompany(id=2, name="ORBIS LLC")]
    )
    match = match_company(CompanyQuery(name="Orbis"), directory).match
    assert match is not None and match.confidence is Confidence.MEDIUM


def test_nova_is_not_novas_inc() -> None:
    directory = CompanyDirectory([CachedCompany(id=1, name="Novas Inc")])
    match = match_company(CompanyQuery(name="Nova"), directory).match
    assert match is None or match.confidence is Confidence.LOW


def test_one_name_with_legal_forms_of_different_countries_is_at_most_a_possible_match() -> None:
    directory = CompanyDirectory([CachedCompany(id=1, name="Orbis spol. s r.o.")])
    match = match_company(CompanyQuery(name="Orbis srl"), directory).match
    assert match is not None and match.basis is MatchBasis.EXACT_NAME
    assert (match.confidence, match.label) == (Confidence.LOW, "Possible match")
    # The same legal form, or one of a country in common, is still the same name.
    for query in ("Orbis s.r.o.", "Orbis"):
        match = match_company(CompanyQuery(name=query), directory).match
        assert match is not None and match.confidence is Confidence.HIGH


def test_a_name_with_another_letter_is_not_matched_without_a_domain() -> None:
    directory = CompanyDirectory([CachedCompany(id=1, name="Novas Inc"), CachedCompany(id=2, name="Initech")])
    result = match_company(CompanyQuery(name="Nova"), directory)
    assert result.match is None
