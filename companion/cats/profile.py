"""The account profile: what the probe found out about one CATS account, and how a client follows it.

Every answer is optional: None means "not probed (or the probe could not tell)", and the companion
then behaves as it does without a profile.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from companion.cats.client import CatsClient


class AccountProfile(BaseModel):
    """The probe's answers for one account (the `answers` of `cats probe --json`)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    #: `POST /companies/search` accepts a `date_modified` filter.
    date_modified_filter: bool | None = None
    #: `Authorization: Bearer <key>` works as well as `Token <key>`.
    bearer_accepted: bool | None = None
    #: The largest `per_page` the account honours.
    per_page_max: int | None = Field(default=None, ge=1)
    #: Requests an hour, from `X-Rate-Limit-Limit`; None when CATS sends no such header.
    rate_limit: int | None = Field(default=None, ge=1)
    #: Ids come as JSON strings.
    ids_as_strings: bool | None = None
    #: Status of a `check_duplicate=true` hit (write probes only).
    duplicate_status: int | None = None
    #: PUT resets the fields its body leaves out (write probes only).
    put_clears_omitted: bool | None = None
    #: The account takes a `meeting` activity (write probes only).
    meeting_accepted: bool | None = None
    #: The keys of an event item, as `GET /events` showed them (None when no event was seen).
    event_keys: list[str] | None = None

    def merged_over(self, older: AccountProfile | None) -> AccountProfile:
        """This profile, with `older`'s answers where this one could not tell (a read-only probe
        keeps what an earlier write probe found)."""
        if older is None:
            return self
        fields: dict[str, Any] = older.model_dump()
        fields.update({k: v for k, v in self.model_dump().items() if v is not None})
        return AccountProfile.model_validate(fields)

    def apply_to(self, client: CatsClient) -> None:
        """Make `client` follow the profile: its page size and, until a header says otherwise, its limit."""
        if self.per_page_max is not None:
            client.per_page = min(client.per_page, self.per_page_max)
        if self.rate_limit is not None:
            client.budget.assume_limit(self.rate_limit)
