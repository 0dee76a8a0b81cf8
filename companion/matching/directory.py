"""An in-memory company directory: exact lookups by domain, LinkedIn page and normalised name, plus the index.

It implements `warnings.CompanyLookup`. The store can load every cached company into one at start-up and
keep it current with `upsert`/`remove` as the sync applies changes; an exact lookup is then a dict hit
(a few microseconds) and never a thread hop into SQLite.
"""

from __future__ import annotations

from bisect import insort
from collections.abc import Iterable

from companion.matching.index import DEFAULT_POSTING_BUDGET, TrigramIndex
from companion.matching.models import CachedCompany
from companion.matching.normalize import normalize_name, own_acronym


class CompanyDirectory:
    """CATS companies by id, domain, LinkedIn slug, normalised name and name similarity."""

    def __init__(
        self, companies: Iterable[CachedCompany] = (), *, posting_budget: int = DEFAULT_POSTING_BUDGET
    ) -> None:
        self._companies: dict[int, CachedCompany] = {}
        # Ascending id lists rather than sets: most keys have one company, and a list costs a third of a set.
        self._by_domain: dict[str, list[int]] = {}
        self._by_slug: dict[str, list[int]] = {}
        self._by_key: dict[str, list[int]] = {}
        self._index = TrigramIndex(posting_budget=posting_budget)
        for company in companies:
            self.upsert(company)

    def __len__(self) -> int:
        return len(self._companies)

    def __contains__(self, company_id: object) -> bool:
        return company_id in self._companies

    def upsert(self, company: CachedCompany) -> None:
        """Add a company or replace the cached version of it."""
        old_key = self._index.key_of(company.id)
        # The index validates first, so a refused company changes nothing; it also normalises the name
        # once for both the index and the exact-name table.
        self._index.add(company.id, company.name)
        old = self._companies.get(company.id)
        if old is not None and old_key is not None:
            self._unlink(old, old_key)
        self._companies[company.id] = company
        for table, value in self._keys(company, self._index.key_of(company.id) or ""):
            insort(table.setdefault(value, []), company.id)

    def remove(self, company_id: int) -> bool:
        """Forget a company deleted in CATS; False when it was not cached."""
        company = self._companies.pop(company_id, None)
        if company is None:
            return False
        self._unlink(company, self._index.key_of(company_id) or "")
        self._index.remove(company_id)
        return True

    def _keys(self, company: CachedCompany, key: str) -> list[tuple[dict[str, list[int]], str]]:
        keys = [(self._by_key, key)]
        if company.domain:
            keys.append((self._by_domain, company.domain))
        if company.linkedin_slug:
            keys.append((self._by_slug, company.linkedin_slug))
        return keys

    def _unlink(self, company: CachedCompany, key: str) -> None:
        for table, value in self._keys(company, key):
            ids = table[value]
            ids.remove(company.id)
            if not ids:
                del table[value]

    def _many(self, ids: list[int] | None) -> list[CachedCompany]:
        return [self._companies[company_id] for company_id in ids or ()]

    # --- CompanyLookup ---------------------------------------------------------------------------

    def get(self, company_id: int) -> CachedCompany | None:
        return self._companies.get(company_id)

    def by_domain(self, domain: str) -> list[CachedCompany]:
        return self._many(self._by_domain.get(domain))

    def by_linkedin_slug(self, slug: str) -> list[CachedCompany]:
        return self._many(self._by_slug.get(slug))

    def by_normalized_name(self, key: str) -> list[CachedCompany]:
        # The empty key is shared by every name without letters or digits: it identifies nothing.
        return self._many(self._by_key.get(key)) if key else []

    def similar(self, name: str, *, limit: int, min_score: float) -> list[tuple[CachedCompany, float]]:
        hits = self._index.search(name, limit=limit, min_score=min_score)
        return [(self._companies[hit.company_id], hit.score) for hit in hits]

    def ranked(self, name: str, *, limit: int, min_score: float) -> list[tuple[CachedCompany, float]]:
        hits = self._index.rank_key(
            normalize_name(name), limit=limit, min_score=min_score, acronym=own_acronym(name)
        )
        return [(self._companies[hit.company_id], hit.score) for hit in hits]
