"""Company matching: name normalisation, company domains, the candidate index and duplicate warnings.

Pure Python, no I/O beyond the libraries' bundled data. The store keeps companies in SQLite and feeds them
to a `CompanyDirectory` (or its own `CompanyLookup`); services call `match_company`.
"""

from __future__ import annotations

from companion.matching.directory import CompanyDirectory
from companion.matching.domains import (
    company_domain,
    is_generic_domain,
    linkedin_company_slug,
    registrable_domain,
)
from companion.matching.index import SimilarName, TrigramIndex
from companion.matching.models import (
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
    NORMALISER_VERSION,
    legal_forms,
    literal_key,
    name_tokens,
    normalize_name,
    own_acronym,
    split_legal_forms,
)
from companion.matching.scoring import match_score, match_scores, name_similarity, similarities
from companion.matching.warnings import CompanyLookup, match_company

__all__ = [
    "NORMALISER_VERSION",
    "CachedCompany",
    "CompanyDirectory",
    "CompanyLookup",
    "CompanyMatch",
    "CompanyQuery",
    "Confidence",
    "DuplicateLevel",
    "DuplicateWarning",
    "MatchBasis",
    "MatchResult",
    "MatchThresholds",
    "SimilarName",
    "TrigramIndex",
    "WarningKind",
    "company_domain",
    "is_generic_domain",
    "legal_forms",
    "linkedin_company_slug",
    "literal_key",
    "match_company",
    "match_score",
    "match_scores",
    "name_similarity",
    "name_tokens",
    "normalize_name",
    "own_acronym",
    "registrable_domain",
    "similarities",
    "split_legal_forms",
]
