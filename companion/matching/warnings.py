"""Which CATS company a profile's company is, and the duplicate warnings a recruiter should see, with reasons.

Pure: the cache is reached only through the small `CompanyLookup` protocol
(`directory.CompanyDirectory` is the in-memory implementation), so this module does no I/O and is
tested with real data, not mocks.

Evidence, strongest first: a recruiter-confirmed alias; the same website domain (from the query's website
or e-mail address); the same LinkedIn company page; the same normalised name (same name apart from legal
form, case, accents, punctuation); a similar name. The strongest piece of evidence is the match. Every other
CATS company found is a warning, at the setting's level:

- ``off``: no warnings.
- ``exact``: ``same_domain``, ``same_linkedin_page``, ``same_name_legal_form``; similar names are not looked
  for at all, so neither warned about nor matched.
- ``similar``: also ``similar_name`` (the index's match score, `scoring.match_scores`: the match model's
  probability times 100, >= ``MatchThresholds.similar_warning``, the closest ``max_similar``); a similar
  name becomes the match only when nothing exact matched and its score is >= ``similar_match``.

The match's confidence, and the card's words for it (`CONFIDENCE_LABELS`), follow the evidence: an alias is
"Confirmed", a domain or LinkedIn page a "Match", and so is a name written like exactly one CATS company's
(`literal_key`) unless the two legal forms are of different countries ("Orbis srl", "Orbis spol. s r.o.":
a "Possible match"); a name equal only once business words or a jurisdiction tag are set aside, or shared by
several CATS companies, is a "Likely match"; a similar name a "Possible match", or a "Likely match" when
the match model is sure enough (`MatchThresholds.similar_likely`, calibrated on the development set).

With a match and any level but ``off``, ``internal_duplicates`` lists the companies that duplicate the
matched company itself inside CATS (by its own domain, LinkedIn page and name), when they were not
already warned about.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from rapidfuzz import fuzz

from companion.matching.domains import company_domain, linkedin_company_slug
from companion.matching.models import (
    CONFIDENCE_LABELS,
    CachedCompany,
    CompanyMatch,
    CompanyQuery,
    Confidence,
    DuplicateLevel,
    DuplicateWarning,
    MatchBasis,
    MatchResult,
    MatchThresholds,
    WarningKind,
)
from companion.matching.normalize import (
    legal_forms_of_other_countries,
    literal_key,
    normalize_name,
    split_legal_forms,
)
from companion.matching.scoring import name_similarity

#: Internal duplicates named in one message before "and N more".
MAX_NAMED_DUPLICATES = 5


class CompanyLookup(Protocol):
    """What matching needs from the company cache. Sequences are ordered by company id."""

    def get(self, company_id: int) -> CachedCompany | None: ...

    def by_domain(self, domain: str) -> Sequence[CachedCompany]: ...

    def by_linkedin_slug(self, slug: str) -> Sequence[CachedCompany]: ...

    def by_normalized_name(self, key: str) -> Sequence[CachedCompany]: ...

    def similar(
        self, name: str, *, limit: int, min_score: float
    ) -> Sequence[tuple[CachedCompany, float]]: ...

    def ranked(self, name: str, *, limit: int, min_score: float) -> Sequence[tuple[CachedCompany, float]]: ...


class _AskedOnce:
    """A CompanyLookup that asks each exact question once per `match_company` call.

    The matched company's own duplicates are looked up by its name key and domain, which are very
    often the query's own: the second asking would repeat a cache read (a SQLite query) per lookup.
    """

    def __init__(self, lookup: CompanyLookup) -> None:
        self._lookup = lookup
        self._answers: dict[tuple[str, str], Sequence[CachedCompany]] = {}

    def _ask(
        self, kind: str, value: str, ask: Callable[[str], Sequence[CachedCompany]]
    ) -> Sequence[CachedCompany]:
        answer = self._answers.get((kind, value))
        if answer is None:
            answer = self._answers[kind, value] = ask(value)
        return answer

    def get(self, company_id: int) -> CachedCompany | None:
        return self._lookup.get(company_id)

    def by_domain(self, domain: str) -> Sequence[CachedCompany]:
        return self._ask("domain", domain, self._lookup.by_domain)

    def by_linkedin_slug(self, slug: str) -> Sequence[CachedCompany]:
        return self._ask("slug", slug, self._lookup.by_linkedin_slug)

    def by_normalized_name(self, key: str) -> Sequence[CachedCompany]:
        return self._ask("key", key, self._lookup.by_normalized_name)

    def similar(self, name: str, *, limit: int, min_score: float) -> Sequence[tuple[CachedCompany, float]]:
        return self._lookup.similar(name, limit=limit, min_score=min_score)

    def ranked(self, name: str, *, limit: int, min_score: float) -> Sequence[tuple[CachedCompany, float]]:
        return self._lookup.ranked(name, limit=limit, min_score=min_score)


_RANK = {basis: rank for rank, basis in enumerate(MatchBasis)}
_CONFIDENCE = {
    MatchBasis.CONFIRMED_ALIAS: Confidence.CONFIRMED,
    MatchBasis.DOMAIN: Confidence.HIGH,
    MatchBasis.LINKEDIN_PAGE: Confidence.HIGH,
    MatchBasis.EXACT_NAME: Confidence.MEDIUM,
    MatchBasis.SIMILAR_NAME: Confidence.LOW,
}
_WARNING_KIND = {
    MatchBasis.DOMAIN: WarningKind.SAME_DOMAIN,
    MatchBasis.LINKEDIN_PAGE: WarningKind.SAME_LINKEDIN_PAGE,
    MatchBasis.EXACT_NAME: WarningKind.SAME_NAME_LEGAL_FORM,
    MatchBasis.SIMILAR_NAME: WarningKind.SIMILAR_NAME,
}


@dataclass(frozen=True, slots=True)
class _Evidence:
    company: CachedCompany
    basis: MatchBasis
    detail: str  # the shared domain or LinkedIn slug, else ""
    from_email: bool  # the shared domain is the query's e-mail domain, not its website's
    score: float | None  # name similarity to the query's name
    spelling: float  # closeness of the raw spellings, to prefer "Acme Inc" over "ACME, INC." for "Acme Inc"


def _quote(name: str) -> str:
    return f"'{name}'"


def _same_name_phrase(query_name: str, company_name: str) -> str:
    cats = f"CATS company {_quote(company_name)}"
    if query_name.strip().casefold() == company_name.strip().casefold():
        return f"Same name as {cats}"
    if split_legal_forms(query_name)[1] != split_legal_forms(company_name)[1]:
        return f"Same name apart from the legal form: {_quote(query_name)} vs {cats}"
    return f"Same name apart from spelling (case, accents, punctuation): {_quote(query_name)} vs {cats}"


def _describe(evidence: _Evidence, query_name: str) -> str:
    """The sentence for the recruiter: why this CATS company is (or may be) the query's company."""
    cats = f"CATS company {_quote(evidence.company.name)}"
    match evidence.basis:
        case MatchBasis.CONFIRMED_ALIAS:
            return f"A recruiter confirmed that this company is {cats}"
        case MatchBasis.DOMAIN if evidence.from_email:
            return f"E-mail domain ({evidence.detail}) is the website domain of {cats}"
        case MatchBasis.DOMAIN:
            return f"Same website domain ({evidence.detail}) as {cats}"
        case MatchBasis.LINKEDIN_PAGE:
            return f"Same LinkedIn company page (linkedin.com/company/{evidence.detail}) as {cats}"
        case MatchBasis.EXACT_NAME:
            return _same_name_phrase(query_name, evidence.company.name)
        case MatchBasis.SIMILAR_NAME:
            return f"Similar name ({evidence.score or 0:.0f}/100): {_quote(query_name)} vs {cats}"


def _gather(
    query: CompanyQuery, lookup: CompanyLookup, level: DuplicateLevel, thresholds: MatchThresholds
) -> list[_Evidence]:
    """Every CATS company the query points at, with its strongest evidence, strongest and closest first."""
    name = query.name or ""
    key = normalize_name(name)
    found: dict[int, _Evidence] = {}

    def note(
        company: CachedCompany,
        basis: MatchBasis,
        detail: str = "",
        from_email: bool = False,
        ranked: float | None = None,
    ) -> None:
        known = found.get(company.id)
        if known is not None and _RANK[known.basis] <= _RANK[basis]:
            return
        # One decimal: enough to order by, and what the extension can show without noise. A similar name
        # carries the index's match score; other evidence the look-alike similarity of the two names.
        similarity = ranked if ranked is not None else name_similarity(key, normalize_name(company.name))
        score = round(similarity, 1) if key else None
        spelling = fuzz.ratio(name.casefold(), company.name.casefold()) if name else 0.0
        found[company.id] = _Evidence(company, basis, detail, from_email, score, spelling)

    if query.confirmed_company_id is not None:
        # An alias to a company since deleted from CATS is simply not evidence any more.
        confirmed = lookup.get(query.confirmed_company_id)
        if confirmed is not None:
            note(confirmed, MatchBasis.CONFIRMED_ALIAS)
    # The website first: when both give the same domain, the message names the website.
    for value, from_email in ((query.website, False), (query.email, True)):
        domain = company_domain(value) if value else None
        if domain:
            for company in lookup.by_domain(domain):
                note(company, MatchBasis.DOMAIN, domain, from_email)
    slug = linkedin_company_slug(query.linkedin_url or "") or linkedin_company_slug(query.website or "")
    if slug:
        for company in lookup.by_linkedin_slug(slug):
            note(company, MatchBasis.LINKEDIN_PAGE, slug)
    if key:
        for company in lookup.by_normalized_name(key):
            note(company, MatchBasis.EXACT_NAME)
        if level is DuplicateLevel.SIMILAR:
            floor = min(thresholds.similar_warning, thresholds.similar_match)
            # Ask for more than we show: some hits are the exact matches already noted.
            limit = thresholds.max_similar + len(found) + 1
            for company, score in lookup.ranked(name, limit=limit, min_score=floor):
                note(company, MatchBasis.SIMILAR_NAME, ranked=score)
    return sorted(
        found.values(),
        key=lambda e: (_RANK[e.basis], -(e.score or 0.0), -e.spelling, e.company.id),
    )


def _confidence(
    best: _Evidence, query_name: str, evidence: list[_Evidence], thresholds: MatchThresholds
) -> Confidence:
    """How sure the match is: a name written the same as one CATS company's alone is a match.

    "Same name" here is `literal_key` (legal form, case, accents, punctuation aside), not the looser
    normalised key: "Acme Holdings" for CATS's "ACME" stays a likely match, and so does a name two CATS
    companies share. A similar name is a likely match from the calibrated `similar_likely` score on.
    """
    if best.basis is MatchBasis.SIMILAR_NAME and (best.score or 0.0) >= thresholds.similar_likely:
        return Confidence.MEDIUM
    if best.basis is not MatchBasis.EXACT_NAME:
        return _CONFIDENCE[best.basis]
    if legal_forms_of_other_countries(query_name, best.company.name):
        # "Orbis srl" and "Orbis spol. s r.o.": one name, legal forms of different countries, most often
        # two companies. Without a domain or a confirmation, a possible match at most.
        return Confidence.LOW
    namesakes = sum(1 for item in evidence if item.basis is MatchBasis.EXACT_NAME)
    if namesakes == 1 and literal_key(query_name) == literal_key(best.company.name):
        return Confidence.HIGH
    return Confidence.MEDIUM


def _internal_duplicates(
    matched: CachedCompany,
    query_key: str,
    reported: set[int],
    lookup: CompanyLookup,
    level: DuplicateLevel,
    thresholds: MatchThresholds,
) -> DuplicateWarning | None:
    """One warning naming the CATS companies that duplicate the matched company itself."""
    key = normalize_name(matched.name)
    why: dict[int, tuple[CachedCompany, str]] = {}

    def note(company: CachedCompany, reason: str) -> None:
        if company.id != matched.id and company.id not in reported and company.id not in why:
            why[company.id] = (company, reason)

    if matched.domain:
        for company in lookup.by_domain(matched.domain):
            note(company, f"same website domain {matched.domain}")
    if matched.linkedin_slug:
        for company in lookup.by_linkedin_slug(matched.linkedin_slug):
            note(company, "same LinkedIn company page")
    if key:
        for company in lookup.by_normalized_name(key):
            note(company, "same name apart from the legal form or spelling")
        # Under the query's own name, this search was just made: its hits are warned about already.
        if level is DuplicateLevel.SIMILAR and key != query_key:
            limit = thresholds.max_similar + len(reported) + 1
            for company, score in lookup.similar(
                matched.name, limit=limit, min_score=thresholds.duplicate_similarity
            ):
                note(company, f"similar name, {score:.0f}/100")
    if not why:
        return None
    duplicates = list(why.values())
    named = ", ".join(f"{_quote(c.name)} ({reason})" for c, reason in duplicates[:MAX_NAMED_DUPLICATES])
    more = len(duplicates) - MAX_NAMED_DUPLICATES
    if more > 0:
        named += f" and {more} more"
    scores = [round(name_similarity(key, normalize_name(c.name)), 1) for c, _ in duplicates] if key else []
    return DuplicateWarning(
        kind=WarningKind.INTERNAL_DUPLICATES,
        message=f"CATS company {_quote(matched.name)} has possible duplicates in CATS: {named}",
        company_ids=[matched.id, *why],
        score=max(scores) if scores else None,
    )


def match_company(
    query: CompanyQuery,
    lookup: CompanyLookup,
    level: DuplicateLevel = DuplicateLevel.SIMILAR,
    thresholds: MatchThresholds | None = None,
) -> MatchResult:
    """The match for a profile's company and the duplicate warnings the `level` setting asks for."""
    thresholds = thresholds or MatchThresholds()
    query_name = query.name or ""
    lookup = _AskedOnce(lookup)
    evidence = _gather(query, lookup, level, thresholds)

    best = evidence[0] if evidence else None
    if (
        best is not None
        and best.basis is MatchBasis.SIMILAR_NAME
        and (best.score or 0.0) < thresholds.similar_match
    ):
        best = None
    match = None
    if best is not None:
        confidence = _confidence(best, query_name, evidence, thresholds)
        match = CompanyMatch(
            company_id=best.company.id,
            company_name=best.company.name,
            basis=best.basis,
            confidence=confidence,
            score=best.score,
            reason=_describe(best, query_name),
            label=CONFIDENCE_LABELS[confidence],
        )
    if level is DuplicateLevel.OFF:
        return MatchResult(level=level, match=match, warnings=[])

    warnings: list[DuplicateWarning] = []
    similar_shown = 0
    for item in evidence:
        if best is not None and item.company.id == best.company.id:
            continue
        if item.basis is MatchBasis.SIMILAR_NAME:
            if (item.score or 0.0) < thresholds.similar_warning or similar_shown >= thresholds.max_similar:
                continue
            similar_shown += 1
        warnings.append(
            DuplicateWarning(
                kind=_WARNING_KIND[item.basis],
                message=_describe(item, query_name),
                company_ids=[item.company.id],
                score=item.score,
            )
        )
    if best is not None:
        reported = {company_id for warning in warnings for company_id in warning.company_ids}
        internal = _internal_duplicates(
            best.company, normalize_name(query_name), reported, lookup, level, thresholds
        )
        if internal is not None:
            warnings.append(internal)
    return MatchResult(level=level, match=match, warnings=warnings)
