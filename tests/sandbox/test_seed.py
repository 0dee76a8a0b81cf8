"""Seeding: reproducible, realistic data from real organisation names, with deliberate near-duplicates."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime
from importlib import resources
from typing import Any

import pytest

from companion.sandbox.seed import near_duplicate_name, organisation_names, seed, website_for
from companion.sandbox.store import SandboxStore

NOW = datetime(2025, 5, 1, 12, 0, tzinfo=UTC)
NINE_TYPES = {"text", "textarea", "checkbox", "date", "dropdown", "radio", "checkboxes", "user", "number"}


@pytest.fixture
def store() -> Iterator[SandboxStore]:
    store = SandboxStore(clock=lambda: NOW)
    yield store
    store.close()


def _all(store: SandboxStore, resource: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    page = 1
    while True:
        batch = store.list_records(resource, page, 100)
        items.extend(batch.items)
        if len(items) >= batch.total:
            return items
        page += 1


def _without_ids(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k not in ("_links", "_embedded")} for r in records]


def test_same_seed_gives_the_same_data() -> None:
    snapshots = []
    for _ in range(2):
        store = SandboxStore(clock=lambda: NOW)
        summary = seed(store, companies=40, random_seed=11, now=NOW)
        snapshots.append(
            (summary, *(_without_ids(_all(store, r)) for r in ("companies", "contacts", "candidates")))
        )
        store.close()
    assert snapshots[0] == snapshots[1]


def test_different_seeds_give_different_companies(store: SandboxStore) -> None:
    other = SandboxStore(clock=lambda: NOW)
    seed(store, companies=10, random_seed=1, now=NOW)
    seed(other, companies=10, random_seed=2, now=NOW)
    assert {c["name"] for c in _all(store, "companies")} != {c["name"] for c in _all(other, "companies")}
    other.close()


def test_counts_match_the_summary(store: SandboxStore) -> None:
    summary = seed(store, companies=60, random_seed=5, now=NOW)
    counts = store.record_counts()
    assert summary.companies == counts["companies"] == 60
    assert (summary.contacts, summary.candidates, summary.activities) == (
        counts["contacts"],
        counts["candidates"],
        counts["activities"],
    )
    assert summary.users == counts["users"] >= 5
    assert summary.custom_fields == counts["custom_fields"] == 27
    assert summary.contacts > 0 and summary.candidates > 0 and summary.activities > 0


def test_all_nine_custom_field_types_exist_on_each_record_type(store: SandboxStore) -> None:
    seed(store, companies=1, random_seed=0, now=NOW)
    for resource in ("candidates", "contacts", "companies"):
        definitions = store.list_custom_fields(resource, 1, 100).items
        assert {d["field"]["type"] for d in definitions} == NINE_TYPES
        for definition in definitions:
            if definition["field"]["type"] in ("dropdown", "radio", "checkboxes"):
                assert len(definition["field"]["selections"]) >= 2


def test_companies_look_real(store: SandboxStore) -> None:
    seed(store, companies=80, random_seed=3, now=NOW)
    names = set(organisation_names())
    users = {u["id"] for u in store.list_users(1, 100).items}
    companies = _all(store, "companies")
    contacts = {c["id"]: c for c in _all(store, "contacts")}
    assert sum(c["name"] in names for c in companies) >= 70  # the rest are near-duplicate spellings
    assert all(c["owner_id"] in users for c in companies)
    assert all(c["address"]["city"] and c["country_code"] for c in companies)
    assert all(c["phones"]["work"].startswith("+") for c in companies)
    with_site = [c for c in companies if c["website"]]
    assert len(with_site) > len(companies) * 0.8
    assert all(c["website"].startswith("https://www.") for c in with_site)
    assert len({c["status_id"] for c in companies}) > 1
    assert any(c["_embedded"]["custom_fields"] for c in companies)
    keyed = [c for c in companies if c["billing_contact_id"]]
    assert keyed
    assert all(contacts[c["billing_contact_id"]]["company_id"] == c["id"] for c in keyed)
    assert all(contact["company_id"] in {c["id"] for c in companies} for contact in contacts.values())


def test_people_belong_to_the_seeded_companies(store: SandboxStore) -> None:
    seed(store, companies=50, random_seed=8, now=NOW)
    companies = {c["name"].strip() for c in _all(store, "companies")}
    candidates = _all(store, "candidates")
    assert all(c["current_employer"] in companies for c in candidates)
    assert all(c["emails"]["primary"].rsplit("@", 1)[1].startswith("example.") for c in candidates)
    by_id = {c["id"]: c for c in _all(store, "companies")}
    for contact in _all(store, "contacts"):
        website = by_id[contact["company_id"]]["website"]
        if website and contact["emails"]["primary"]:
            assert contact["emails"]["primary"].endswith("@" + website.split("www.", 1)[1])


def test_near_duplicates_are_seeded_and_share_the_website(store: SandboxStore) -> None:
    summary = seed(store, companies=400, random_seed=1, now=NOW)
    assert 2 <= len(summary.near_duplicates) <= 25
    for original_id, duplicate_id in summary.near_duplicates:
        original = store.get_record("companies", original_id)
        duplicate = store.get_record("companies", duplicate_id)
        assert original["name"] != duplicate["name"]
        assert _letters(original["name"]).startswith(_letters(duplicate["name"])[:4])
        assert original["website"] == duplicate["website"]


def _letters(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


def test_a_second_seed_reuses_users_and_custom_fields(store: SandboxStore) -> None:
    seed(store, companies=5, random_seed=1, now=NOW)
    counts = store.record_counts()
    summary = seed(store, companies=5, random_seed=2, now=NOW)
    assert (summary.users, summary.custom_fields) == (0, 0)
    after = store.record_counts()
    assert (after["users"], after["custom_fields"], after["companies"]) == (
        counts["users"],
        counts["custom_fields"],
        10,
    )


def test_negative_company_count_is_refused_and_writes_nothing(store: SandboxStore) -> None:
    with pytest.raises(ValueError):
        seed(store, companies=-1)
    assert store.record_counts()["users"] == 0


@pytest.mark.timeout(120)
def test_ten_thousand_companies_seed_with_their_near_duplicates(store: SandboxStore) -> None:
    # Speed is reported by benchmarks/sandbox_seed_bench.py, not asserted here.
    summary = seed(store, companies=10_000, random_seed=0, now=NOW)
    assert store.record_counts()["companies"] == 10_000
    assert len(summary.near_duplicates) > 100


# --- the pieces ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "website"),
    [
        ("Cisco Systems, Inc", "https://www.ciscosystems.com"),
        ("HUAWEI TECHNOLOGIES CO.,LTD", "https://www.huaweitechnologies.com"),
        ("Apple, Inc.", "https://www.apple.com"),
        ("Weidmüller Interface GmbH & Co. KG", "https://www.weidmullerinterface.com"),
        ("Ltd", "https://www.ltd.com"),
    ],
)
def test_website_is_derived_from_the_name_without_its_legal_form(name: str, website: str) -> None:
    assert website_for(name, "com") == website


def test_near_duplicate_names_are_other_spellings_of_the_same_name() -> None:
    rng = random.Random(0)
    variants = {near_duplicate_name("Cisco Systems, Inc", rng) for _ in range(50)}
    assert "Cisco Systems Inc" in variants
    assert "Cisco Systems, Inc." in variants
    assert "Cisco Systems" in variants
    assert "CISCO SYSTEMS, INC" in variants
    assert "Cisco Systems, Inc" not in variants
    assert near_duplicate_name("Acme", random.Random(1)) in {"Acme Inc.", "ACME"}


def test_organisation_names_file_is_clean_and_documented() -> None:
    names = organisation_names()
    assert 20_000 <= len(names) <= 30_000
    assert len(set(names)) == len(names)
    assert all(name == name.strip() and "  " not in name for name in names)
    assert "Private" not in names
    assert {"Cisco Systems, Inc", "Cisco Systems Inc"} <= set(names)  # natural variants kept
    source = resources.files("companion.sandbox").joinpath("data/SOURCE.md").read_text("utf-8")
    assert "ieee-data" in source and "public domain" in source.lower()
