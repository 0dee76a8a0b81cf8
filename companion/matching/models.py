"""The data matching takes and returns: cached CATS companies, a query, the match and duplicate warnings.

These models travel to the extension as JSON (``model_dump(mode="json")``), which shows:

- ``MatchResult.match`` (or nothing): the CATS company this profile's company most likely is, with
  ``confidence`` ("confirmed" > "high" > "medium" > "low") and a ``reason`` to display as is.
- ``MatchResult.warnings``: possible duplicates, strongest first, each a ``DuplicateWarning`` whose
  ``message`` names the CATS companies involved and is written for a recruiter, whose ``company_ids`` are
  the CATS ids to link to, and whose ``score`` is the name similarity (0-100) behind it, when there is one.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from companion.matching.domains import company_domain, linkedin_company_slug


class DuplicateLevel(StrEnum):
    """The team setting for duplicate warnings."""

    #: No warnings; a match is still looked for by alias, domain, LinkedIn page and exact name.
    OFF = "off"
    #: Exact duplicates only: same domain, same LinkedIn page, same name apart from legal form.
    EXACT = "exact"
    #: Exact duplicates and similar names; a similar name may also be the match (with low confidence).
    SIMILAR = "similar"


class MatchBasis(StrEnum):
    """What a match rests on, strongest first."""

    CONFIRMED_ALIAS = "confirmed_alias"
    DOMAIN = "domain"
    LINKEDIN_PAGE = "linkedin_page"
    EXACT_NAME = "exact_name"
    SIMILAR_NAME = "similar_name"


class Confidence(StrEnum):
    CONFIRMED = "confirmed"  # a recruiter said so
    HIGH = "high"  # same website domain or LinkedIn company page
    MEDIUM = "medium"  # same name apart from legal form, case, accents, punctuation
    LOW = "low"  # similar name (MEDIUM when its score reaches `MatchThresholds.similar_likely`)


#: The card's words for each confidence: the daemon says them, so the card and the calibration agree.
CONFIDENCE_LABELS: dict[Confidence, str] = {
    Confidence.CONFIRMED: "Confirmed",
    Confidence.HIGH: "Match",
    Confidence.MEDIUM: "Likely match",
    Confidence.LOW: "Possible match",
}


class WarningKind(StrEnum):
    SAME_DOMAIN = "same_domain"
    SAME_LINKEDIN_PAGE = "same_linkedin_page"
    SAME_NAME_LEGAL_FORM = "same_name_legal_form"
    SIMILAR_NAME = "similar_name"
    #: The matched company itself has near-duplicates inside CATS.
    INTERNAL_DUPLICATES = "internal_duplicates"


class CachedCompany(BaseModel):
    """A CATS company as the matcher sees it: id, display name and the keys derived from its website."""

    model_config = ConfigDict(frozen=True)

    id: int
    name: str
    #: Registrable domain of the CATS ``website`` field, None when absent or generic (see domains.py).
    domain: str | None = None
    #: LinkedIn company slug or numeric id, from ``website`` or ``social_media_urls``.
    linkedin_slug: str | None = None

    @classmethod
    def from_cats(
        cls, company_id: int, name: str, website: str | None = None, social_media_urls: Iterable[str] = ()
    ) -> CachedCompany:
        """Derive the matching keys from the fields of a CATS company record."""
        slug = None
        for url in (website or "", *social_media_urls):
            slug = linkedin_company_slug(url)
            if slug:
                break
        return cls(id=company_id, name=name, domain=company_domain(website or ""), linkedin_slug=slug)


class CompanyQuery(BaseModel):
    """The company seen on a profile: any of its name, website, e-mail address and LinkedIn page.

    ``confirmed_company_id`` is a recruiter-confirmed alias ("this profile company is CATS company N"),
    resolved by the store; when given and still in CATS it is the match.
    """

    model_config = ConfigDict(frozen=True, str_strip_whitespace=True)

    name: str | None = Field(default=None, max_length=500)
    website: str | None = Field(default=None, max_length=2000)
    email: str | None = Field(default=None, max_length=320)
    linkedin_url: str | None = Field(default=None, max_length=2000)
    confirmed_company_id: int | None = None

    @model_validator(mode="after")
    def _something_to_match(self) -> CompanyQuery:
        if not (self.name or self.website or self.email or self.linkedin_url) and (
            self.confirmed_company_id is None
        ):
            raise ValueError(
                "a company query needs a name, website, e-mail address, LinkedIn URL or confirmed company id"
            )
        return self


class CompanyMatch(BaseModel):
    """The CATS company the query most likely is."""

    model_config = ConfigDict(frozen=True)

    company_id: int
    company_name: str
    basis: MatchBasis
    confidence: Confidence
    #: Name similarity (0-100) between the query's and the company's names; None without a query name.
    score: float | None
    #: One sentence for the recruiter saying why, naming the CATS company.
    reason: str
    #: How the card words the confidence ("Match", "Likely match", ...): `CONFIDENCE_LABELS`.
    label: str = ""


class DuplicateWarning(BaseModel):
    """A reason to look twice before creating or choosing a company."""

    model_config = ConfigDict(frozen=True)

    kind: WarningKind
    message: str
    company_ids: list[int]
    score: float | None = None


class MatchResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    level: DuplicateLevel
    match: CompanyMatch | None
    warnings: list[DuplicateWarning]


class MatchThresholds(BaseModel):
    """Match-score cut-offs (0-100, `scoring.match_scores`: the match model's probability times 100).

    Calibrated with `cats-companion bench match-quality` on its development set of real pairs and real
    names not in the cache: `similar_match` and `similar_likely` by `--fit` (companion.bench.match_model:
    the lowest cut-offs at which at most 6% of the names not in the cache that the model was not
    fitted on get a match, and at most 1% a likely one); `similar_warning` is the lowest cut-off at which
    at most 15% of the names not in the cache get a look-alike on seed 2, whose names the model was not
    fitted on (`LOOKALIKE_TARGET` in companion/bench/match_quality.py, which prints the trade-off against
    hit@5 for every cut-off it sweeps).
    """

    model_config = ConfigDict(frozen=True)

    #: A similar name at least this close is warned about.
    similar_warning: float = Field(default=36.0, ge=0, le=100)
    #: A similar name at least this close may be the match (a possible match) when nothing exact matched.
    similar_match: float = Field(default=63.0, ge=0, le=100)
    #: A similar name at least this close, when it is the match, is a likely match rather than a possible one.
    similar_likely: float = Field(default=89.0, ge=0, le=100)
    #: Another CATS company whose name is at least this similar (`scoring.name_similarity`, the look-alike
    #: score) to the matched company's is named as its possible duplicate inside CATS.
    duplicate_similarity: float = Field(default=88.0, ge=0, le=100)
    #: At most this many similar-name warnings (the closest), so the card stays readable.
    max_similar: int = Field(default=5, ge=1, le=50)
