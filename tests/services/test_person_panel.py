"""The person panel, daemon side: the push form (no CATS request) and "already in CATS" (CATS on demand)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from companion.cats.client import CatsClient
from companion.rules.person import Person
from companion.server.daemon import RunningDaemon
from companion.services.cats_site import remember_subdomain
from companion.services.company_records import company_row
from companion.services.person_form import person_form, person_status, record_form
from companion.settings.catalogue import Catalogue, CatalogueUser, CustomField
from companion.settings.models import Settings
from companion.store import Database
from companion.store.companies import CompanyCache
from companion.store.outbox import Outbox
from companion.store.people import PeopleStore
from tests.fixtures.daemon import DaemonFactory, dispatch
from tests.fixtures.sandbox import SandboxHandle

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
BASE_URL = "http://127.0.0.1:1/v3"
ADA = Person(
    full_name="Ada King Lovelace",
    title="Data Engineer",
    current_company="Analytical Engines",
    linkedin="https://www.linkedin.com/in/ada-l",
    emails=["ada@example.org"],
)
CATALOGUE = Catalogue(
    fetched_at=NOW,
    custom_fields={
        "candidates": [
            CustomField(id=88001, name="Seniority", type="dropdown", options=["Junior", "Senior"])
        ],
        "contacts": [],
        "companies": [],
    },
    users=[CatalogueUser(id=4006, name="Rita Recruiter")],
)


async def test_the_form_marks_required_and_mandatory_fields_and_prefills_the_mapping(db: Database) -> None:
    settings = Settings.model_validate(
        {
            "sync": {
                "candidates": {
                    "displayed_fields": ["emails", "custom:88001", "owner_id"],
                    "mandatory_fields": ["first_name", "custom:88001", "title"],
                }
            }
        }
    )
    form = await record_form(db, ADA, "candidates", settings, CATALOGUE)
    rows = {f.field: f for f in form.fields}
    # CATS's required names first, then the displayed fields, then mandatory ones not displayed.
    assert list(rows) == ["first_name", "last_name", "emails", "custom:88001", "owner_id", "title"]
    assert [f.field for f in form.fields if f.mandatory] == [
        "first_name",
        "last_name",
        "custom:88001",
        "title",
    ]
    assert (rows["first_name"].value, rows["last_name"].value) == ("Ada King", "Lovelace")
    assert rows["emails"].widget == "list" and rows["emails"].value == ["ada@example.org"]
    assert rows["title"].value == "Data Engineer"
    assert rows["custom:88001"].widget == "dropdown"
    assert [o.value for o in rows["custom:88001"].options] == ["Junior", "Senior"]
    assert [(o.value, o.label) for o in rows["owner_id"].options] == [(4006, "Rita Recruiter")]
    assert form.unknown_mandatory == []


async def test_a_mandatory_custom_field_missing_from_the_catalogue_is_named(db: Database) -> None:
    settings = Settings.model_validate(
        {"sync": {"candidates": {"displayed_fields": ["custom:99"], "mandatory_fields": ["custom:99"]}}}
    )
    form = await record_form(db, ADA, "candidates", settings, CATALOGUE)
    assert form.unknown_mandatory == ["custom:99"]
    assert "custom:99" not in [f.field for f in form.fields]


async def test_a_contacts_company_comes_from_the_cache_with_its_name(
    db: Database, sandbox: SandboxHandle
) -> None:
    company = sandbox.store.get_record(
        "companies", sandbox.store.list_records("companies", 1, 1).items[0]["id"]
    )
    row = company_row(company)
    assert row is not None
    async with db.transaction() as conn:
        await CompanyCache(db).upsert(conn, [row], synced_at=NOW)
    person = ADA.model_copy(update={"current_company": company["name"]})
    form = await record_form(db, person, "contacts", Settings(), CATALOGUE)
    field = next(f for f in form.fields if f.field == "company_id")
    assert (field.widget, field.mandatory, field.value, field.hint) == (
        "company",
        True,
        company["id"],
        company["name"],
    )


async def test_the_whole_form_says_where_links_point(db: Database) -> None:
    await remember_subdomain(db, BASE_URL, "acme")
    form = await person_form(db, ADA, Settings(), CATALOGUE, base_url=BASE_URL)
    assert form.site == "acme"
    assert set(form.forms) == {"candidates", "contacts"} and form.default_record_type == "candidates"


async def remember_push(db: Database, person: Person, cats_id: int) -> int:
    people = PeopleStore(db)
    async with db.transaction() as conn:
        person_id = await people.upsert_person(
            conn, identity_key=person.identity_key(), display_name="Ada", data=person.model_dump(), now=NOW
        )
        await people.set_record(conn, person_id, "candidates", cats_id=cats_id, how="created", now=NOW)
        await Outbox(db).enqueue(
            conn,
            person_id=person_id,
            person_key=person.identity_key(),
            kind="note",
            record_type="candidates",
            priority="background",
            payload={"activity_type": "email"},
            now=NOW,
        )
    return person_id


async def test_already_in_cats_comes_from_what_was_pushed_without_a_request(
    db: Database, sandbox: SandboxHandle
) -> None:
    person_id = await remember_push(db, ADA, 700123)
    await remember_subdomain(db, sandbox.url, "acme")
    await sandbox.control.reset_counters()
    status = await person_status(db, ADA, base_url=sandbox.url)
    assert status.person_id == person_id and not status.checked_cats
    [record] = status.records
    assert (record.record_type, record.cats_id, record.how) == ("candidates", 700123, "created")
    assert record.url == "https://acme.catsone.com/index.php?m=candidates&a=show&candidateID=700123"
    assert [(i["kind"], i["status"]) for i in status.items] == [("note", "queued")]
    # Asking CATS about a type already known spends nothing either.
    async with CatsClient(sandbox.url, sandbox.key) as client:
        again = await person_status(db, ADA, base_url=sandbox.url, client=client, record_type="candidates")
    assert not again.checked_cats
    assert (await sandbox.control.counters())["requests_total"] == 0


async def test_check_cats_finds_an_existing_candidate_by_email(db: Database, sandbox: SandboxHandle) -> None:
    existing = sandbox.store.list_records("candidates", 1, 1).items[0]
    person = Person(
        full_name=f"{existing['first_name']} {existing['last_name']}", emails=[existing["emails"]["primary"]]
    )
    stranger = Person(full_name="Nobody Known", emails=["nobody.known@nowhere.example"])
    async with CatsClient(sandbox.url, sandbox.key) as client:
        await sandbox.control.reset_counters()
        found = await person_status(db, person, base_url=sandbox.url, client=client, record_type="candidates")
        first_cost = (await sandbox.control.counters())["requests_total"]
        missing = await person_status(
            db, stranger, base_url=sandbox.url, client=client, record_type="candidates"
        )
    assert found.checked_cats and [(r.cats_id, r.how) for r in found.records] == [(existing["id"], "found")]
    assert found.records[0].url is not None and f"candidateID={existing['id']}" in found.records[0].url
    # One search by email, plus the one-off GET /site the links need.
    assert first_cost == 2
    assert missing.checked_cats and missing.records == []


async def native(daemon: RunningDaemon, type_: str, params: dict[str, Any]) -> dict[str, Any]:
    envelope = json.dumps({"id": 1, "type": type_, "params": params}).encode()
    return await dispatch(daemon, envelope)


async def test_person_form_is_served_to_the_extension(daemon: RunningDaemon) -> None:
    reply = await native(daemon, "person.form", {"person": {"full_name": "Ada Lovelace"}})
    assert reply["ok"], reply
    fields = reply["data"]["forms"]["contacts"]["fields"]
    assert [f["field"] for f in fields if f["mandatory"]] == ["first_name", "last_name", "company_id"]


async def test_person_status_without_a_key_answers_locally_but_refuses_to_check_cats(
    daemon: RunningDaemon,
) -> None:
    person = {"full_name": "Ada Lovelace", "emails": ["ada@example.org"]}
    local = await native(daemon, "person.status", {"person": person})
    assert local["ok"] and local["data"]["records"] == []
    checked = await native(daemon, "person.status", {"person": person, "check_cats": True})
    assert checked["error"]["code"] == "key.missing"


async def test_a_person_with_nothing_to_identify_them_is_refused(daemon_factory: DaemonFactory) -> None:
    daemon = await daemon_factory()
    reply = await native(daemon, "person.form", {"person": {"title": "Engineer"}})
    assert reply["error"]["code"] == "request.invalid"
