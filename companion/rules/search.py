"""Finding the person's existing CATS record: the search requests to try, and which hit is really them.

`search_steps` gives the bodies of `POST /{candidates|contacts}/search`, strongest evidence first,
one request each; the caller stops at the first step whose hits `pick_existing` accepts:

1. email: every address of the person in ONE request (an `or` of `exactly` conditions) on
   `emails.primary` -- and, for contacts, `emails.secondary`, which CATS documents as filterable
   for contacts only (REFERENCE.md §11.2). At most `MAX_EMAILS` addresses.
2. LinkedIn: `social_media_urls` `contains` the normalised member URL (`linkedin.com/in/<slug>`).
   Whether CATS filters on `social_media_urls` is [INFERRED]: the step names its field in
   `SearchStep.fields` so a caller can skip it against an account that answers 400.
3. name with company: `first_name` and `last_name` `exactly`, plus `company_id` `exactly` for a
   contact. Candidates have no filterable company field, so the company (`current_employer`) is
   checked on the hits by `pick_existing`. Without a company (or a first AND last name) there is
   no name step: a bare name is too weak to merge into someone's record.

`contains` matches substrings ("linkedin.com/in/ada" is in ".../in/adam"), and the name step
returns namesakes at other companies, so hits are never trusted blindly: `pick_existing` accepts a
record only when an email is equal (case-insensitive), a LinkedIn URL has the same identity, or
first name, last name and company all agree -- and prefers them in that order, then the oldest
record (lowest id) among equals.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict

from companion.matching.normalize import normalize_name
from companion.rules.person import Person, RecordType
from companion.rules.urls import linkedin_identity, linkedin_member_path

__all__ = ["MAX_EMAILS", "SearchBy", "SearchStep", "pick_existing", "search_plan", "search_steps"]

SearchBy = Literal["email", "linkedin", "name"]
MAX_EMAILS: Final = 5
_STRENGTH: Final[dict[SearchBy, int]] = {"email": 3, "linkedin": 2, "name": 1}


class SearchStep(BaseModel):
    """One `POST /{r}/search` request: the evidence it looks for, its filter body, the fields it filters."""

    model_config = ConfigDict(frozen=True)

    by: SearchBy
    body: dict[str, Any]
    fields: list[str]


def _exactly(field: str, value: object) -> dict[str, Any]:
    return {"field": field, "filter": "exactly", "value": value}


def _all_of(conditions: list[dict[str, Any]], key: str) -> dict[str, Any]:
    return conditions[0] if len(conditions) == 1 else {key: conditions}


def _text(value: object) -> str | None:
    return (value.strip() or None) if isinstance(value, str) else None


def _company_name(person: Person) -> str | None:
    return _text(person.field_values.get("current_employer")) or person.current_company


def search_steps(person: Person, record_type: RecordType, *, company_id: int | None) -> list[SearchStep]:
    """The searches to try, in order (module docstring)."""
    steps: list[SearchStep] = []
    emails = person.all_emails()[:MAX_EMAILS]
    if emails:
        fields = ["emails.primary", "emails.secondary"] if record_type == "contacts" else ["emails.primary"]
        conditions = [_exactly(field, email) for email in emails for field in fields]
        steps.append(SearchStep(by="email", body=_all_of(conditions, "or"), fields=fields))
    linkedin = person.linkedin_url()
    member = linkedin_member_path(linkedin) if linkedin is not None else None
    if member is not None:
        # As written in URLs (percent-encoded, any case): `contains` is case-insensitive.
        body = {"field": "social_media_urls", "filter": "contains", "value": f"linkedin.com/{member}"}
        steps.append(SearchStep(by="linkedin", body=body, fields=["social_media_urls"]))
    first, last = person.pushed_names()
    if first and last:
        conditions = [_exactly("first_name", first), _exactly("last_name", last)]
        if record_type == "contacts" and company_id is not None:
            conditions.append(_exactly("company_id", company_id))
            steps.append(
                SearchStep(
                    by="name",
                    body=_all_of(conditions, "and"),
                    fields=["first_name", "last_name", "company_id"],
                )
            )
        elif record_type == "candidates" and _company_name(person):
            steps.append(
                SearchStep(by="name", body=_all_of(conditions, "and"), fields=["first_name", "last_name"])
            )
    return steps


def search_plan(person: Person, record_type: RecordType, *, company_id: int | None) -> list[dict[str, Any]]:
    """The filter bodies of `search_steps`, in order: email, LinkedIn URL, name with company."""
    return [step.body for step in search_steps(person, record_type, company_id=company_id)]


# --- judging the hits --------------------------------------------------------------------------------


def _record_emails(record: dict[str, Any]) -> set[str]:
    found: set[str] = set()
    emails = record.get("emails")
    if isinstance(emails, dict):
        found.update(v for v in emails.values() if isinstance(v, str))
    embedded = record.get("_embedded")
    rows = embedded.get("emails") if isinstance(embedded, dict) else None
    for row in rows if isinstance(rows, list) else []:
        if isinstance(row, dict) and isinstance(row.get("email"), str):
            found.add(row["email"])
    return {email.strip().casefold() for email in found if email.strip()}


def _record_linkedin(record: dict[str, Any]) -> set[str]:
    urls = record.get("social_media_urls")
    keys = (
        {linkedin_identity(url) for url in urls if isinstance(url, str)} if isinstance(urls, list) else set()
    )
    return {key for key in keys if key is not None}


def _fold(value: object) -> str:
    return value.strip().casefold() if isinstance(value, str) else ""


def _same_company(
    record: dict[str, Any], record_type: RecordType, person: Person, company_id: int | None
) -> bool:
    if record_type == "contacts":
        return company_id is not None and str(record.get("company_id")) == str(company_id)
    wanted = normalize_name(_company_name(person) or "")
    employer = record.get("current_employer")
    return bool(wanted) and isinstance(employer, str) and normalize_name(employer) == wanted


def _strength(record: dict[str, Any], person: Person, record_type: RecordType, company_id: int | None) -> int:
    emails = {email.casefold() for email in person.all_emails()}
    if emails & _record_emails(record):
        return _STRENGTH["email"]
    linkedin = person.linkedin_key()
    if linkedin is not None and linkedin in _record_linkedin(record):
        return _STRENGTH["linkedin"]
    first, last = person.pushed_names()
    if (
        first
        and last
        and _fold(record.get("first_name")) == first.casefold()
        and _fold(record.get("last_name")) == last.casefold()
        and _same_company(record, record_type, person, company_id)
    ):
        return _STRENGTH["name"]
    return 0


def _record_id(record: dict[str, Any]) -> int | None:
    value = record.get("id")
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def pick_existing(
    person: Person, record_type: RecordType, records: Iterable[dict[str, Any]], *, company_id: int | None
) -> int | None:
    """The id of the hit that is really this person (module docstring), or None when none is."""
    best: tuple[int, int] | None = None  # (-strength, id): the smallest wins
    for record in records:
        record_id = _record_id(record)
        if record_id is None:
            continue
        strength = _strength(record, person, record_type, company_id)
        if strength and (best is None or (-strength, record_id) < best):
            best = (-strength, record_id)
    return best[1] if best is not None else None
