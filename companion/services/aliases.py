"""Confirmed companies: a recruiter says "this profile's company is CATS company N", and later lookups agree.

Confirming stores an alias for each identifier the profile gave -- its normalised name, its company
domain (website or e-mail) and its LinkedIn company page -- pointing at company N. A later lookup by any
of them makes N the match with confidence "confirmed" (companion.services.company_lookup). Confirming the
same identifiers to another company replaces the aliases; `unconfirm` removes them.

In a team (`shared` set by the composition root), both are also queued for the team's database in
the same transaction, and `shared` is called to send them (companion.services.team_aliases).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict

from companion.errors import BadRequestError
from companion.matching import CompanyQuery, company_domain, linkedin_company_slug, normalize_name
from companion.store.aliases import Alias, AliasKind, AliasStore
from companion.store.lookup_reader import CacheReader


def alias_keys(query: CompanyQuery) -> list[tuple[AliasKind, str]]:
    """The (kind, key) pairs a query can be remembered or recognised by, strongest first.

    Strongest first: a LinkedIn page names one company, a name may be shared by a group's companies,
    a domain by all of them; the website's domain before the e-mail's.
    """
    keys: list[tuple[AliasKind, str]] = []
    slug = linkedin_company_slug(query.linkedin_url or "") or linkedin_company_slug(query.website or "")
    if slug:
        keys.append(("linkedin", slug))
    name_key = normalize_name(query.name or "")
    if name_key:
        keys.append(("name", name_key))
    for value in (query.website, query.email):
        domain = company_domain(value) if value else None
        if domain and ("domain", domain) not in keys:
            keys.append(("domain", domain))
    return keys


class Confirmation(BaseModel):
    """What `confirm` remembered."""

    model_config = ConfigDict(frozen=True)

    company_id: int
    company_name: str
    aliases: list[Alias]


class AliasService:
    """Confirms and unconfirms companies; reads go through the lookup's CacheReader."""

    def __init__(
        self,
        store: AliasStore,
        reader: CacheReader,
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self._reader = reader
        self._now = now
        #: In a team: called after a confirmation or undo was queued for the team. None: no team.
        self.shared: Callable[[], None] | None = None

    async def confirm(self, query: CompanyQuery, company_id: int) -> Confirmation:
        """Remember that the query's company is CATS company `company_id` (which must be in the cache)."""
        keys = self._keys(query)
        if isinstance(company_id, bool) or not isinstance(company_id, int) or company_id < 1:
            raise BadRequestError(f"company_id must be a positive CATS company id, not {company_id!r}")
        row = self._reader.match_row(company_id)
        if row is None:
            raise BadRequestError(
                f"CATS company {company_id} is not in the company cache: choose a company from the list, "
                "or sync the cache if it was created in CATS since the last sync"
            )
        aliases = await self.store.confirm(
            keys, company_id, confirmed_at=self._now(), share=self.shared is not None, raw_name=query.name
        )
        if self.shared is not None:
            self.shared()
        return Confirmation(company_id=company_id, company_name=row[1], aliases=aliases)

    async def unconfirm(self, query: CompanyQuery, company_id: int | None = None) -> int:
        """Forget the query's aliases (only those to `company_id`, when given); how many were removed.

        In a team the undo is sent to the team too; the team's database accepts it for this member's
        own confirmations (an admin's: anyone's) and refuses it for another member's, which then stays
        confirmed for the team and comes back here with its next change.
        """
        share_at = self._now() if self.shared is not None else None
        removed = await self.store.remove(self._keys(query), company_id=company_id, share_at=share_at)
        if removed and self.shared is not None:
            self.shared()
        return removed

    async def forget_companies(self, company_ids: list[int]) -> int:
        """Drop the aliases of companies deleted from CATS."""
        return await self.store.forget_companies(company_ids)

    @staticmethod
    def _keys(query: CompanyQuery) -> list[tuple[AliasKind, str]]:
        keys = alias_keys(query)
        if not keys:
            raise BadRequestError(
                "nothing to remember this company by: give a name with letters or digits, a company "
                "website or e-mail address (not a free-mail one) or a LinkedIn company page"
            )
        return keys
