"""CATS company records become cache rows: read as CompanyRead reads them, typed as CompanyRow."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from pydantic import BaseModel

from companion.cats.models import CompanyCacheRead, CompanyRead
from companion.sandbox.seed import seed
from companion.sandbox.store import SandboxStore
from companion.services.company_records import company_row, company_rows
from companion.store.companies import CompanyRow

_SHARED_FIELDS = [name for name in CompanyCacheRead.model_fields if name != "embedded"]
_ADDRESS_FIELDS = ("street", "city", "state", "postal_code")


def _value(model: BaseModel, name: str) -> object:
    value = getattr(model, name)
    if name == "address" and value is not None:
        return tuple(getattr(value, field) for field in _ADDRESS_FIELDS)
    return value


@pytest.fixture(scope="module")
def records() -> list[dict[str, Any]]:
    """Company records as the CATS sandbox serves them: links, embedded phones, status, custom fields."""
    store = SandboxStore()
    seed(store, companies=300, random_seed=5)
    return [*store.list_records("companies", 1, 100).items, *store.list_records("companies", 2, 100).items]


def test_the_cache_read_agrees_with_company_read_on_every_field_it_keeps(
    records: list[dict[str, Any]],
) -> None:
    assert len(records) == 200
    for record in records:
        full, cache = CompanyRead.model_validate(record), CompanyCacheRead.model_validate(record)
        for name in _SHARED_FIELDS:
            assert _value(cache, name) == _value(full, name), name
        assert [(v.id, v.value) for v in cache.custom_fields] == [(v.id, v.value) for v in full.custom_fields]


def test_cats_leniencies_are_read_as_company_read_reads_them() -> None:
    record: dict[str, Any] = {
        "id": "123",
        "name": "Northwind Ltd",
        "owner_id": "",
        "phones": [],
        "address": [],
        "social_media_urls": None,
        "_links": [],
        "_embedded": [],
        "date_created": "",
    }
    full, cache = CompanyRead.model_validate(record), CompanyCacheRead.model_validate(record)
    assert (cache.id, cache.owner_id, cache.phones, cache.address, cache.custom_fields) == (
        123,
        None,
        {},
        None,
        [],
    )
    assert all(_value(cache, name) == _value(full, name) for name in _SHARED_FIELDS)


def test_rows_are_exactly_what_validating_them_would_give(records: list[dict[str, Any]]) -> None:
    rows = company_rows(records)
    assert len(rows) == len(records)
    assert any(row.custom_fields for row in rows) and any(row.domain for row in rows)
    for row in rows:
        # Built without validation: it must survive validation unchanged, types included.
        again = CompanyRow.model_validate(row.model_dump())
        assert again == row
        assert {name: type(value) for name, value in again} == {name: type(value) for name, value in row}


@pytest.mark.parametrize(
    "bad",
    [
        {"name": "No Id Ltd"},
        {"id": "not-an-id", "name": "Bad Id Ltd"},
        {"id": 5, "name": "Bad Owner Ltd", "owner_id": {"id": 1}},
        {"id": 6, "name": "Bad Date Ltd", "date_modified": "yesterday"},
        {"id": 7, "name": "   "},
        {"id": 8},
    ],
)
def test_an_unreadable_record_is_skipped_with_a_warning_and_the_page_goes_on(
    bad: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    good = {"id": 9, "name": "Northwind Ltd", "website": "https://www.northwind.co.uk/about"}
    with caplog.at_level(logging.WARNING, logger="companion.services.company_records"):
        assert company_row(bad) is None
        rows = company_rows([bad, good])
    assert [(row.id, row.name_key, row.domain) for row in rows] == [(9, "northwind", "northwind.co.uk")]
    assert any("skipped" in message for message in caplog.messages)
