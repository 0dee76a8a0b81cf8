"""Turning CATS company records (and users, statuses) into the cache's rows, match keys included."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from pydantic import ValidationError

from companion.cats.models import CompanyCacheRead, UserRead
from companion.cats.record_urls import parse_id
from companion.matching import company_domain, linkedin_company_slug, normalize_name
from companion.store.companies import CompanyRow, StatusRow, UserRow

log = logging.getLogger(__name__)


def _text(value: str | None) -> str | None:
    # CATS sends "" for an empty field; the cache keeps "no value" as NULL.
    if value is None:
        return None
    value = value.strip()
    return value or None


def _linkedin_slug(website: str | None, social_media_urls: Iterable[str]) -> str | None:
    for url in (website or "", *social_media_urls):
        slug = linkedin_company_slug(url) if url else None
        if slug:
            return slug
    return None


def company_row(record: dict[str, Any]) -> CompanyRow | None:
    """The cache row for one CATS company record, or None when it is unreadable (no id or no name)."""
    try:
        company = CompanyCacheRead.model_validate(record)
    except ValidationError:
        log.warning("skipped a CATS company record that could not be read (id %r)", record.get("id"))
        return None
    name = _text(company.name)
    if name is None:
        log.warning("skipped CATS company %d: it has no name", company.id)
        return None
    website = _text(company.website)
    social = [url for url in company.social_media_urls if isinstance(url, str) and url.strip()]
    address = company.address
    # Every value is from the validated record or derived here with the right type: validating the row
    # again would cost as much as reading the record.
    return CompanyRow.model_construct(
        id=company.id,
        name=name,
        website=website,
        phones={kind: number for kind, number in company.phones.items() if number},
        street=_text(address.street) if address else None,
        city=_text(address.city) if address else None,
        state=_text(address.state) if address else None,
        postal_code=_text(address.postal_code) if address else None,
        country_code=_text(company.country_code),
        owner_id=company.owner_id,
        status_id=company.status_id,
        billing_contact_id=company.billing_contact_id,
        notes=_text(company.notes),
        is_hot=company.is_hot,
        key_technologies=_text(company.key_technologies),
        social_media_urls=social,
        custom_fields={value.id: value.value for value in company.custom_fields if value.value is not None},
        date_created=company.date_created,
        date_modified=company.date_modified,
        name_key=normalize_name(name),
        domain=company_domain(website) if website else None,
        linkedin_slug=_linkedin_slug(website, social),
    )


def company_rows(records: Iterable[dict[str, Any]]) -> list[CompanyRow]:
    """The readable records of a page as cache rows (unreadable ones are logged and skipped)."""
    return [row for row in map(company_row, records) if row is not None]


def user_row(user: UserRead) -> UserRow:
    return UserRow(id=user.id, display_name=user.display_name, username=user.username, email=user.email)


def status_rows(records: Iterable[dict[str, Any]]) -> list[StatusRow]:
    """`GET /companies/statuses` items as rows; one without an id or a title is skipped."""
    rows: list[StatusRow] = []
    for record in records:
        title, mapping = record.get("title"), record.get("mapping")
        try:
            status_id = parse_id(record.get("id"))
        except ValueError:
            continue
        if isinstance(title, str) and title.strip():
            rows.append(
                StatusRow(
                    id=status_id, title=title.strip(), mapping=mapping if isinstance(mapping, str) else None
                )
            )
    return rows
