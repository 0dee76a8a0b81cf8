"""Company lookups from the cache only: the match, look-alikes with reasons, the card's fields, the cache age.

    service = await CompanyLookupService.open(db)          # builds the trigram index from SQLite
    result = service.lookup(CompanyQuery(name="Acme Inc", website="https://acme.com"))
    hits = service.search("acm", limit=10)                  # company pickers

Nothing here asks CATS, so lookups answer the same with CATS unreachable. Only the trigram index (names)
lives in memory; exact lookups (domain, name key, LinkedIn page, id), company fields and aliases are
read from the indexed SQLite columns through a `CacheReader`, synchronously (each query takes
microseconds: cheaper than any thread hop). The sync keeps the index current through
`CompanySync.on_change(service.apply_changes)`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final, Literal, Protocol

from pydantic import BaseModel, ConfigDict

from companion.errors import BadRequestError
from companion.matching import (
    NORMALISER_VERSION,
    CachedCompany,
    CompanyMatch,
    CompanyQuery,
    DuplicateLevel,
    DuplicateWarning,
    MatchBasis,
    MatchThresholds,
    TrigramIndex,
    match_company,
    normalize_name,
    own_acronym,
    split_legal_forms,
)
from companion.matching.scoring import shipped_model
from companion.services.aliases import AliasService, alias_keys
from companion.services.company_display import DisplayedField, displayed_fields
from companion.settings.catalogue import CustomField
from companion.settings.models import GeneralSettings
from companion.settings.service import SettingsService
from companion.store.aliases import AliasStore
from companion.store.companies import CompanyCache, CompanyRow
from companion.store.db import Database
from companion.store.lookup_reader import CacheReader, MatchRow, PrefixRow
from companion.store.meta import get_meta, set_meta

log = logging.getLogger(__name__)

#: Distinct names reranked per similar-name search, and trigram postings counted to choose them (see
#: companion.matching.index). Measured with `cats-companion bench lookup`: at 100k companies these keep
#: recall of brute force's top-5 look-alikes above 0.97 at about a quarter of a millisecond a search.
LOOKUP_CANDIDATES: Final = 200
LOOKUP_POSTING_BUDGET: Final = 2000
MAX_SEARCH_LIMIT: Final = 50
_DEFAULT_FIELDS: Final = tuple(GeneralSettings().displayed_company_info)


class IndexTuning(Protocol):
    """What the process does around an index build (companion.tuning.INDEX_TUNING in the daemon)."""

    def before_build(self) -> None: ...

    def after_build(self) -> None: ...


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class LookupSettings:
    """What the settings decide about a lookup (names as in companion.settings.models.GeneralSettings)."""

    displayed_company_info: tuple[str, ...] = _DEFAULT_FIELDS
    company_warning_level: DuplicateLevel = DuplicateLevel.SIMILAR
    #: The companies' custom-field definitions by id (the field catalogue), for their names and types.
    custom_fields: Mapping[int, CustomField] = field(default_factory=dict)
    thresholds: MatchThresholds = field(default_factory=MatchThresholds)


def settings_source(settings: SettingsService) -> Callable[[], LookupSettings]:
    """LookupSettings as the effective settings and the field catalogue say at every call.

    Both are immutable objects that the settings service replaces when a file or the catalogue
    changes, so the LookupSettings made from them is kept until either is replaced: a lookup only
    checks that the files are unchanged.
    """
    made: list[tuple[object, object, LookupSettings]] = []

    def current() -> LookupSettings:
        effective = settings.effective
        catalogue = settings.catalogue.current
        if made and made[0][0] is effective and made[0][1] is catalogue:
            return made[0][2]
        general = effective.settings.general
        fresh = LookupSettings(
            displayed_company_info=tuple(general.displayed_company_info),
            company_warning_level=DuplicateLevel(general.company_warning_level),
            custom_fields={custom.id: custom for custom in catalogue.custom_fields.get("companies", [])},
        )
        made[:] = [(effective, catalogue, fresh)]
        return fresh

    return current


CacheState = Literal["never_synced", "empty", "ready", "offline"]
#: Why the cache cannot be brought up to date now: CATS unreachable, the key refused, the hourly
#: budget spent, or (a team member that does not sync itself) the team's database unreachable.
OfflineReason = Literal["network", "bad_key", "rate_limited", "team_offline"]
_OFFLINE_WHY: Final[dict[OfflineReason, str]] = {
    "network": "CATS cannot be reached",
    "bad_key": "CATS refuses the API key",
    "rate_limited": "the hourly CATS request budget is spent",
    "team_offline": "the team's database cannot be reached",
}


class CacheInfo(BaseModel):
    """How fresh the answer is: the extension says so when the cache is old, empty or never synced."""

    model_config = ConfigDict(frozen=True)

    state: CacheState
    companies: int
    last_success_at: datetime | None
    #: Seconds since the last successful sync; None when the cache was never synced.
    age_seconds: float | None
    #: A sentence for the recruiter when the answer cannot be trusted to be complete, else None.
    message: str | None = None
    #: Set with state "offline": why the companies are those of `last_success_at`, not today's.
    offline_reason: OfflineReason | None = None


class LookupResult(BaseModel):
    """The answer to "which CATS company is this, and are there look-alikes?"."""

    model_config = ConfigDict(frozen=True)

    level: DuplicateLevel
    match: CompanyMatch | None
    #: The match came from a recruiter's confirmation (an alias).
    confirmed: bool
    #: Who confirmed it: a team member's login role; None when confirmed on this companion outside a
    #: team (or not confirmed).
    confirmed_by: str | None = None
    #: When it was confirmed; None when not confirmed.
    confirmed_at: datetime | None = None
    warnings: list[DuplicateWarning]
    #: The matched company's fields chosen by "Displayed company info", in its order; [] without a match.
    company: list[DisplayedField]
    cache: CacheInfo


class CompanyHit(BaseModel):
    """A company as a picker lists it."""

    model_config = ConfigDict(frozen=True)

    id: int
    name: str
    website: str | None
    city: str | None
    country_code: str | None


class SearchResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    query: str
    companies: list[CompanyHit]
    cache: CacheInfo


def _company(row: MatchRow) -> CachedCompany:
    # Rows come from our own cache, validated when they were written.
    return CachedCompany.model_construct(id=row[0], name=row[1], domain=row[2], linkedin_slug=row[3])


class CacheLookup:
    """matching.CompanyLookup over the SQLite cache (exact keys) and the in-memory index (similar names)."""

    def __init__(self, reader: CacheReader, index: TrigramIndex, candidates: int) -> None:
        self._reader = reader
        self._index = index
        self._candidates = candidates

    def get(self, company_id: int) -> CachedCompany | None:
        row = self._reader.match_row(company_id)
        return None if row is None else _company(row)

    def by_domain(self, domain: str) -> list[CachedCompany]:
        return [_company(row) for row in self._reader.by_domain(domain)]

    def by_linkedin_slug(self, slug: str) -> list[CachedCompany]:
        return [_company(row) for row in self._reader.by_linkedin_slug(slug)]

    def by_normalized_name(self, key: str) -> list[CachedCompany]:
        return [_company(row) for row in self._reader.by_name_key(key)]

    def similar(self, name: str, *, limit: int, min_score: float) -> list[tuple[CachedCompany, float]]:
        hits = self._index.search(name, limit=limit, min_score=min_score, candidates=self._candidates)
        rows = self._reader.match_rows([hit.company_id for hit in hits])
        # A company the sync deleted a moment ago may still be indexed: the cache has the last word.
        return [(_company(rows[hit.company_id]), hit.score) for hit in hits if hit.company_id in rows]

    def ranked(self, name: str, *, limit: int, min_score: float) -> list[tuple[CachedCompany, float]]:
        hits = self._index.rank_key(
            normalize_name(name),
            limit=limit,
            min_score=min_score,
            candidates=self._candidates,
            acronym=own_acronym(name),
        )
        rows = self._reader.match_rows([hit.company_id for hit in hits])
        return [(_company(rows[hit.company_id]), hit.score) for hit in hits if hit.company_id in rows]


def prefix_words(text: str) -> list[str]:
    """The normalised words of a name without stripping legal forms ("The Acme Co" -> ["acme", "co"])."""
    base, legal = split_legal_forms(text)
    return [*base, *legal]


#: The `meta` key holding the `NORMALISER_VERSION` the cached name keys were computed with.
NAME_KEY_VERSION_META: Final = "name_key_version"
#: The same for the confirmed name aliases: its own key, because caches re-keyed by a version that
#: did not re-key aliases yet (normaliser 2's first release) must still have their aliases re-keyed.
ALIAS_KEY_VERSION_META: Final = "alias_key_version"


async def refresh_name_keys(db: Database) -> int:
    """Re-key the cached names and confirmed name aliases when another normaliser version keyed them.

    Returns how many company name keys changed.
    The version is written only once every key is fresh, so a stop midway re-keys again at the next
    start (re-keying is idempotent).
    """
    changed = 0
    if await get_meta(db, NAME_KEY_VERSION_META) != str(NORMALISER_VERSION):
        changed = await CompanyCache(db).rekey_names(normalize_name)
        await set_meta(db, NAME_KEY_VERSION_META, str(NORMALISER_VERSION))
        if changed:
            log.info(
                "company name keys re-computed for normaliser version %d: %d changed",
                NORMALISER_VERSION,
                changed,
            )
    if await get_meta(db, ALIAS_KEY_VERSION_META) != str(NORMALISER_VERSION):
        # A confirmed name keyed the old way would no longer meet the lookups' keys either.
        aliases = await AliasStore(db).rekey_names(normalize_name)
        await set_meta(db, ALIAS_KEY_VERSION_META, str(NORMALISER_VERSION))
        if aliases:
            log.info(
                "confirmed name aliases re-keyed for normaliser version %d: %d", NORMALISER_VERSION, aliases
            )
    return changed


def build_index(reader: CacheReader, *, posting_budget: int = LOOKUP_POSTING_BUDGET) -> TrigramIndex:
    """The trigram index of every cached company (their stored name keys: nothing is normalised again)."""
    index = TrigramIndex(posting_budget=posting_budget)
    for batch in reader.name_keys():
        index.add_keys(batch)
    # The match model is compiled on first use (~50 ms): here, off the event loop, rather than in the
    # first card's lookup.
    shipped_model()
    return index


class CompanyLookupService:
    """Lookups, picker searches and confirmations against one company cache."""

    def __init__(
        self,
        reader: CacheReader,
        index: TrigramIndex,
        aliases: AliasService,
        *,
        settings: Callable[[], LookupSettings] = LookupSettings,
        now: Callable[[], datetime] = utc_now,
        candidates: int = LOOKUP_CANDIDATES,
    ) -> None:
        self.reader = reader
        self.index = index
        self.aliases = aliases
        self._settings = settings
        self._now = now
        self._lookup = CacheLookup(reader, index, candidates)
        #: Seconds the index took to build at start-up (None when it was handed over ready).
        self.build_seconds: float | None = None
        #: Why the cache cannot be synced now, None while it can; the composition root sets it from
        #: what the CATS connection and the sync last learnt, so answers say "offline" and recover alone.
        self.offline: Callable[[], OfflineReason | None] = lambda: None

    @classmethod
    async def open(
        cls,
        db: Database,
        *,
        settings: Callable[[], LookupSettings] = LookupSettings,
        now: Callable[[], datetime] = utc_now,
        candidates: int = LOOKUP_CANDIDATES,
        tuning: IndexTuning | None = None,
    ) -> CompanyLookupService:
        """Open a reader on `db`'s file and build the index from it (in a worker thread).

        `tuning` is the process's own care around the build (companion.tuning: heap trims, freezing the
        index out of the cyclic GC), which the daemon's start-up hands in; a service never tunes the
        process by itself.
        """
        await refresh_name_keys(db)
        reader = await asyncio.to_thread(CacheReader, db.path)
        try:
            started = time.perf_counter()
            if tuning is not None:
                tuning.before_build()
            index = await asyncio.to_thread(build_index, reader)
            elapsed = time.perf_counter() - started
        except BaseException:
            reader.close()
            raise
        if tuning is not None:
            tuning.after_build()
        log.info(
            "company index built: %d companies, %d names, %.2f s", len(index), index.distinct_names, elapsed
        )
        service = cls(
            reader,
            index,
            AliasService(AliasStore(db), reader, now=now),
            settings=settings,
            now=now,
            candidates=candidates,
        )
        service.build_seconds = elapsed
        return service

    def close(self) -> None:
        self.reader.close()

    @property
    def cache_lookup(self) -> CacheLookup:
        """The cache as `matching.CompanyLookup`: exact lookups by key, and similar names (benchmarks)."""
        return self._lookup

    # --- lookups ------------------------------------------------------------------------------------

    def lookup(self, query: CompanyQuery) -> LookupResult:
        """The match, the look-alikes (per the warning level) and the matched company's displayed fields."""
        settings = self._settings()
        with self.reader.snapshot():
            alias = None
            if query.confirmed_company_id is None:
                alias = self.reader.confirmed_alias(alias_keys(query))
                if alias is not None:
                    query = query.model_copy(update={"confirmed_company_id": alias.company_id})
            result = match_company(query, self._lookup, settings.company_warning_level, settings.thresholds)
            company: list[DisplayedField] = []
            if result.match is not None:
                details = self.reader.details(result.match.company_id)
                if details is not None:
                    company = displayed_fields(
                        details,
                        settings.displayed_company_info,
                        settings.custom_fields,
                        self.reader.user_names,
                    )
            cache = self._cache_info()
        confirmed = result.match is not None and result.match.basis is MatchBasis.CONFIRMED_ALIAS
        by_alias = alias if confirmed and alias is not None else None
        return LookupResult(
            level=result.level,
            match=result.match,
            confirmed=confirmed,
            confirmed_by=None if by_alias is None else by_alias.confirmed_by,
            confirmed_at=None if by_alias is None else by_alias.confirmed_at,
            warnings=result.warnings,
            company=company,
            cache=cache,
        )

    def search(self, text: str, limit: int = 10) -> SearchResult:
        """Companies whose name starts with `text` (normalised, and as displayed), best first."""
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_SEARCH_LIMIT:
            raise BadRequestError(f"limit must be between 1 and {MAX_SEARCH_LIMIT}, not {limit!r}")
        if not isinstance(text, str) or len(text) > 500:
            raise BadRequestError("the search text must be a string of at most 500 characters")
        words = prefix_words(text)
        with self.reader.snapshot():
            cache = self._cache_info()
            if not words:
                return SearchResult(query=text, companies=[], cache=cache)
            rows = self._prefix_rows(words, limit)
        folded = text.strip().casefold()
        full = " ".join(words)

        def rank(row: PrefixRow) -> tuple[int, int, str, int]:
            name = row.name.casefold()
            exact = row.name_key == full or name == folded
            starts = name.startswith(folded)
            return (0 if exact else 1 if starts else 2, len(row.name_key), row.name_key, row.id)

        ranked = sorted(rows.values(), key=rank)[:limit]
        hits = [
            CompanyHit(id=r.id, name=r.name, website=r.website, city=r.city, country_code=r.country_code)
            for r in ranked
        ]
        return SearchResult(query=text, companies=hits, cache=cache)

    def _prefix_rows(self, words: list[str], limit: int) -> dict[int, PrefixRow]:
        """Companies whose name key starts with the typed words, or whose key drops a legal form typed."""
        full = " ".join(words)
        # More than `limit`, so that ranking (exact first, then shorter names) has something to choose from.
        fetch = limit * 4
        rows = {row.id: row for row in self.reader.key_prefix(full, fetch)}
        # "Siemens A" should offer "Siemens AG", whose key is "siemens": probe the keys the typed text
        # could be a legal-form continuation of, and keep those whose full words start as typed.
        probes = {normalize_name(full), normalize_name(" ".join(words[:-1]))} - {"", full}
        for probe in sorted(probes):
            for row in self.reader.key_equals(probe, fetch):
                if row.id not in rows and " ".join(prefix_words(row.name)).startswith(full):
                    rows[row.id] = row
        return rows

    def _cache_info(self) -> CacheInfo:
        status = self.reader.status()
        synced = status.last_success_at
        age = None if synced is None else max(0.0, (self._now() - synced).total_seconds())
        state: CacheState
        if synced is None and status.empty:
            state = "never_synced"
            message = "The company cache has not been synced from CATS yet, so no company can be found."
        elif status.empty:
            state, message = "empty", "The company cache is empty: CATS had no companies at the last sync."
        else:
            state, message = "ready", None
            if synced is None:
                message = (
                    "The first sync of the company cache has not finished: some companies may be missing."
                )
        reason = self.offline() if state == "ready" else None
        if reason is not None:
            state = "offline"
            as_of = "the first sync" if synced is None else f"{synced.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
            message = f"Offline: companies as of {as_of} ({_OFFLINE_WHY[reason]})."
        return CacheInfo(
            state=state,
            companies=len(self.index),
            last_success_at=synced,
            age_seconds=age,
            message=message,
            offline_reason=reason,
        )

    def cache_info(self) -> CacheInfo:
        """How fresh the cache is, as every lookup reports it (for the daemon's status)."""
        with self.reader.snapshot():
            return self._cache_info()

    # --- confirmations ------------------------------------------------------------------------------

    async def confirm(self, query: CompanyQuery, company_id: int) -> LookupResult:
        """Confirm that the query's company is CATS company `company_id`; the lookup as it now answers."""
        await self.aliases.confirm(query, company_id)
        return self.lookup(query)

    async def unconfirm(self, query: CompanyQuery, company_id: int | None = None) -> int:
        return await self.aliases.unconfirm(query, company_id)

    # --- keeping current ----------------------------------------------------------------------------

    async def apply_changes(self, rows: Sequence[CompanyRow], removed: Sequence[int]) -> None:
        """The sync's change hook: index what it wrote, forget what it deleted (and aliases to those)."""
        self.index.add_keys([(row.id, row.name_key) for row in rows])
        for company_id in removed:
            self.index.remove(company_id)
        if removed:
            await self.aliases.forget_companies(list(removed))
