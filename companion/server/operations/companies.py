"""Company operations: lookups and searches from the cache only, and the recruiter's confirmations.

Lookups answer models: the native protocol serialises them straight to JSON
(protocol.encode_ok_reply), which is a visible part of a lookup's round trip when done as
model_dump + json.dumps.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from companion.errors import BadRequestError
from companion.matching import CompanyQuery
from companion.protocol import JsonObject
from companion.server.operations.base import Call
from companion.services.company_lookup import MAX_SEARCH_LIMIT, LookupResult, SearchResult
from companion.store.ids import MAX_ROW_ID


class LookupParams(BaseModel):
    """The company seen on a profile: any of its name, website, e-mail address and LinkedIn page."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    name: str | None = Field(default=None, max_length=500)
    website: str | None = Field(default=None, max_length=2000)
    email: str | None = Field(default=None, max_length=320)
    linkedin_url: str | None = Field(default=None, max_length=2000)

    def query(self) -> CompanyQuery:
        try:
            return CompanyQuery(
                name=self.name, website=self.website, email=self.email, linkedin_url=self.linkedin_url
            )
        except ValidationError:
            raise BadRequestError(
                "a company lookup needs a name, website, e-mail address or LinkedIn company URL"
            ) from None


class ConfirmParams(LookupParams):
    company_id: int = Field(ge=1, le=MAX_ROW_ID, strict=True)


class UnconfirmParams(LookupParams):
    #: Only forget confirmations to this company (any, when absent).
    company_id: int | None = Field(default=None, ge=1, le=MAX_ROW_ID, strict=True)


class SearchParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    q: str = Field(max_length=500)
    limit: int = Field(default=10, ge=1, le=MAX_SEARCH_LIMIT)


async def lookup(call: Call, params: LookupParams) -> LookupResult:
    """The CATS company a profile's company is, its look-alikes, its card fields and the cache's age."""
    return call.companion.lookup.lookup(params.query())


async def search(call: Call, params: SearchParams) -> SearchResult:
    """Cached companies whose name starts with `q`, for company pickers."""
    return call.companion.lookup.search(params.q, params.limit)


async def confirm(call: Call, params: ConfirmParams) -> LookupResult:
    """Remember that the profile's company is CATS company `company_id`; answers the new lookup."""
    return await call.companion.lookup.confirm(params.query(), params.company_id)


async def unconfirm(call: Call, params: UnconfirmParams) -> JsonObject:
    """Forget a confirmation made with `company.confirm`."""
    return {"removed": await call.companion.lookup.unconfirm(params.query(), params.company_id)}
