"""The CRM search: filters checked before any request, one CATS request per page, rows linking to CATS."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from companion.cats.client import CatsClient
from companion.errors import BadRequestError
from companion.server.daemon import RunningDaemon
from companion.services.cats_site import cached_subdomain, record_url, remember_subdomain
from companion.services.company_records import company_row
from companion.services.crm_filters import Filter, build_filter_body, condition, filter_fields
from companion.services.crm_search import SearchParams, describe_fields, search
from companion.settings.catalogue import Catalogue, CatalogueUser, CustomField
from companion.settings.models import Settings
from companion.store import Database
from companion.store.companies import CompanyCache
from tests.fixtures.daemon import DaemonFactory, dispatch
from tests.fixtures.sandbox import SandboxHandle

#: A catalogue as a refresh would leave it: one dropdown, one date and one number custom field, two users.
CATALOGUE = Catalogue(
    fetched_at=datetime(2026, 1, 1, tzinfo=UTC),
    custom_fields={
        "candidates": [
            CustomField(id=88001, name="Seniority", type="dropdown", options=["Junior", "Medior", "Senior"]),
            CustomField(id=88002, name="Last interview", type="date"),
            CustomField(id=88003, name="Years of experience", type="number"),
            CustomField(id=88004, name="Headshot", type="textarea"),
        ],
        "contacts": [],
        "companies": [],
    },
    users=[CatalogueUser(id=4001, name="Ada Admin"), CatalogueUser(id=4006, name="Rita Recruiter")],
)


def settings_with(candidate_filters: list[str]) -> Settings:
    return Settings.model_validate({"sync": {"candidates": {"filterable_fields": candidate_filters}}})


SETTINGS = settings_with(["title", "owner_id", "is_hot", "custom:88001", "custom:88002", "custom:88003"])


@pytest.fixture
async def client(sandbox: SandboxHandle) -> AsyncIterator[CatsClient]:
    async with CatsClient(sandbox.url, sandbox.key) as cats:
        yield cats


# --- the fields the page offers ------------------------------------------------------------------


def test_each_filterable_field_gets_the_widget_of_its_type_with_its_options() -> None:
    described = describe_fields("candidates", SETTINGS, CATALOGUE)
    widgets = {f.field: (f.widget, [o.label for o in f.options]) for f in described.fields}
    assert widgets == {
        "title": ("text", []),
        "owner_id": ("user", ["Ada Admin", "Rita Recruiter"]),
        "is_hot": ("checkbox", []),
        "custom:88001": ("option", ["Junior", "Medior", "Senior"]),
        "custom:88002": ("date", []),
        "custom:88003": ("number", []),
    }
    date_field = next(f for f in described.fields if f.field == "custom:88002")
    assert "between" in date_field.operators and "contains" not in date_field.operators
    assert [c.key for c in described.columns] == Settings().sync.candidates.displayed_fields


def test_a_custom_field_missing_from_the_catalogue_is_listed_as_unusable_with_the_fix() -> None:
    usable, unusable = filter_fields("candidates", ["title", "custom:99999"], CATALOGUE)
    assert [f.field for f in usable] == ["title"]
    assert unusable[0].field == "custom:99999"
    assert "refresh" in unusable[0].reason


# --- checking filters (pure) -----------------------------------------------------------------------


def body(*filters: dict[str, Any]) -> dict[str, Any] | None:
    refs = list(SETTINGS.sync.candidates.filterable_fields)
    return build_filter_body("candidates", [Filter.model_validate(f) for f in filters], refs, CATALOGUE)


def test_filters_become_one_and_group_with_cats_field_names() -> None:
    built = body(
        {"field": "title", "op": "contains", "value": " engineer "},
        {"field": "custom:88001", "op": "exactly", "value": "Senior"},
        {"field": "custom:88002", "op": "between", "value": ["2026-01-01", "2026-03-31"]},
        {"field": "owner_id", "op": "exactly", "value": 4006},
        {"field": "is_hot", "op": "exactly", "value": True},
        {"field": "custom:88003", "op": "is_empty"},
    )
    assert built == {
        "and": [
            {"field": "title", "filter": "contains", "value": "engineer"},
            {"field": "custom_fields.88001", "filter": "exactly", "value": "Senior"},
            {"field": "custom_fields.88002", "filter": "between", "value": ["2026-01-01", "2026-03-31"]},
            {"field": "owner_id", "filter": "exactly", "value": 4006},
            {"field": "is_hot", "filter": "exactly", "value": True},
            {"field": "custom_fields.88003", "filter": "is_empty", "value": True},
        ]
    }
    assert body() is None


@pytest.mark.parametrize(
    ("flt", "complaint"),
    [
        ({"field": "key_skills", "op": "contains", "value": "rust"}, "not one of the team's filterable"),
        ({"field": "title", "op": "greater_than", "value": "a"}, "does not apply"),
        ({"field": "title", "op": "contains", "value": "   "}, "enter some text"),
        ({"field": "custom:88001", "op": "exactly", "value": "Principal"}, "not one of its options"),
        ({"field": "custom:88002", "op": "greater_than", "value": "31/12/2026"}, "not a date"),
        (
            {"field": "custom:88002", "op": "between", "value": ["2026-03-01", "2026-01-01"]},
            "must not be after",
        ),
        ({"field": "custom:88003", "op": "less_than", "value": "ten"}, "enter a number"),
        ({"field": "custom:88003", "op": "less_than", "value": True}, "enter a number"),
        ({"field": "owner_id", "op": "exactly", "value": 9999}, "no CATS user 9999"),
        ({"field": "is_hot", "op": "exactly", "value": "yes"}, "choose yes or no"),
    ],
)
def test_a_bad_filter_is_refused_with_what_is_wrong(flt: dict[str, Any], complaint: str) -> None:
    with pytest.raises(BadRequestError, match=complaint):
        body(flt)


def test_timestamps_are_sent_as_rfc3339_instants() -> None:
    catalogue = CATALOGUE.model_copy(
        update={
            "custom_fields": {
                **CATALOGUE.custom_fields,
                "contacts": [CustomField(id=77001, name="Met at", type="date")],
            }
        }
    )
    usable, _ = filter_fields("contacts", ["custom:77001"], catalogue)
    assert usable[0].widget == "date"
    stamp = usable[0].model_copy(update={"field": "date_created"})
    cond = condition(stamp, "timestamp", Filter(field="date_created", op="greater_than", value="2026-02-01"))
    assert cond == {"field": "date_created", "filter": "greater_than", "value": "2026-02-01T00:00:00+00:00"}


# --- against the sandbox ------------------------------------------------------------------------------


async def test_a_filter_the_team_did_not_allow_costs_no_request(
    sandbox: SandboxHandle, client: CatsClient, db: Database
) -> None:
    await sandbox.control.reset_counters()
    params = SearchParams(
        record_type="candidates", filters=[Filter(field="key_skills", op="contains", value="rust")]
    )
    with pytest.raises(BadRequestError, match="key_skills"):
        await search(params, client=client, db=db, settings=SETTINGS, catalogue=CATALOGUE)
    assert (await sandbox.control.counters())["requests_total"] == 0


async def test_a_search_page_is_one_post_request_and_its_rows_link_to_cats(
    sandbox: SandboxHandle, client: CatsClient, db: Database
) -> None:
    await remember_subdomain(db, client.base_url, "acme")
    await sandbox.control.reset_counters()
    params = SearchParams(
        record_type="candidates",
        filters=[Filter(field="title", op="contains", value="engineer")],
        per_page=3,
    )
    result = await search(params, client=client, db=db, settings=SETTINGS, catalogue=CATALOGUE)

    counters = await sandbox.control.counters()
    assert counters["requests"] == {"POST /v3/candidates/search": 1}
    expected = [
        doc["id"]
        for doc in sandbox.store.list_records("candidates", 1, 100).items
        if "engineer" in (doc["title"] or "").lower()
    ]
    assert len(expected) > 3, "the seed should hold more engineers than one page"
    assert [row.id for row in result.rows] == expected[:3]
    assert (result.total, result.pages, result.has_next) == (len(expected), -(-len(expected) // 3), True)
    first = result.rows[0]
    stored = sandbox.store.get_record("candidates", first.id)
    assert first.url == f"https://acme.catsone.com/index.php?m=candidates&a=show&candidateID={first.id}"
    assert first.name == f"{stored['first_name']} {stored['last_name']}"
    assert first.cells["title"] == stored["title"]
    assert first.cells["emails"] == stored["emails"]["primary"]


async def test_the_site_is_asked_for_once_per_install_then_each_page_is_one_request(
    sandbox: SandboxHandle, client: CatsClient, db: Database
) -> None:
    await sandbox.control.reset_counters()
    params = SearchParams(record_type="contacts", per_page=5)
    first = await search(params, client=client, db=db, settings=SETTINGS, catalogue=CATALOGUE)
    assert (await sandbox.control.counters())["requests"] == {"GET /v3/contacts": 1, "GET /v3/site": 1}
    assert first.site_known and await cached_subdomain(db, client.base_url) == "sandbox"

    await sandbox.control.reset_counters()
    second = await search(
        params.model_copy(update={"page": 2}), client=client, db=db, settings=SETTINGS, catalogue=CATALOGUE
    )
    assert (await sandbox.control.counters())["requests"] == {"GET /v3/contacts": 1}
    assert {r.id for r in first.rows}.isdisjoint({r.id for r in second.rows})
    assert second.rows[0].url is not None and "m=contacts&a=show&contactID=" in second.rows[0].url


async def test_the_last_page_says_there_is_no_next(
    sandbox: SandboxHandle, client: CatsClient, db: Database
) -> None:
    total = sandbox.store.record_counts()["contacts"]
    last = -(-total // 4)
    result = await search(
        SearchParams(record_type="contacts", per_page=4, page=last),
        client=client,
        db=db,
        settings=SETTINGS,
        catalogue=CATALOGUE,
    )
    assert (result.total, result.pages, result.has_next) == (total, last, False)
    assert len(result.rows) == total - 4 * (last - 1)


async def test_free_text_alone_uses_the_query_search(
    sandbox: SandboxHandle, client: CatsClient, db: Database
) -> None:
    await remember_subdomain(db, client.base_url, "sandbox")
    someone = sandbox.store.list_records("candidates", 1, 1).items[0]
    await sandbox.control.reset_counters()
    result = await search(
        SearchParams(record_type="candidates", query=someone["last_name"]),
        client=client,
        db=db,
        settings=SETTINGS,
        catalogue=CATALOGUE,
    )
    assert (await sandbox.control.counters())["requests"] == {"GET /v3/candidates/search": 1}
    assert someone["id"] in [row.id for row in result.rows]


async def test_owner_and_company_columns_show_names_not_ids(
    sandbox: SandboxHandle, client: CatsClient, db: Database
) -> None:
    settings = Settings.model_validate(
        {"sync": {"contacts": {"displayed_fields": ["company_id", "owner_id"]}}}
    )
    contact = sandbox.store.list_records("contacts", 1, 1).items[0]
    company = sandbox.store.get_record("companies", contact["company_id"])
    row = company_row(company)
    assert row is not None
    async with db.transaction() as conn:
        await CompanyCache(db).upsert(conn, [row], synced_at=datetime(2026, 1, 1, tzinfo=UTC))
    catalogue = CATALOGUE.model_copy(
        update={"users": [CatalogueUser(id=contact["owner_id"], name="Owner Person")]}
    )
    result = await search(
        SearchParams(record_type="contacts", per_page=1),
        client=client,
        db=db,
        settings=settings,
        catalogue=catalogue,
    )
    assert result.rows[0].cells == {"company_id": company["name"], "owner_id": "Owner Person"}


def test_links_need_a_plausible_subdomain() -> None:
    assert (
        record_url("acme", "contacts", 7)
        == "https://acme.catsone.com/index.php?m=contacts&a=show&contactID=7"
    )
    assert record_url(None, "contacts", 7) is None
    assert record_url("evil.com/x?", "contacts", 7) is None


# --- as native messages through the daemon ----------------------------------------------------------


async def native(daemon: RunningDaemon, type_: str, params: dict[str, Any]) -> dict[str, Any]:
    envelope = json.dumps({"id": 1, "type": type_, "params": params}).encode()
    return await dispatch(daemon, envelope)


async def test_crm_fields_answers_from_the_settings_without_asking_cats(
    daemon_factory: DaemonFactory, sandbox: SandboxHandle
) -> None:
    daemon = await daemon_factory(key=sandbox.key, cats_base_url=sandbox.url, check_connection=False)
    await sandbox.control.reset_counters()
    reply = await native(daemon, "crm.fields", {"record_type": "contacts"})
    assert reply["ok"], reply
    assert [f["field"] for f in reply["data"]["fields"]] == Settings().sync.contacts.filterable_fields
    assert {f["field"]: f["widget"] for f in reply["data"]["fields"]}["company_id"] == "company"
    assert (await sandbox.control.counters())["requests_total"] == 0


async def test_crm_search_through_the_daemon_returns_a_page(
    daemon_factory: DaemonFactory, sandbox: SandboxHandle
) -> None:
    daemon = await daemon_factory(key=sandbox.key, cats_base_url=sandbox.url, check_connection=False)
    reply = await native(
        daemon,
        "crm.search",
        {"record_type": "candidates", "filters": [{"field": "title", "op": "contains", "value": "data"}]},
    )
    assert reply["ok"], reply
    titles = [row["cells"]["title"] for row in reply["data"]["rows"]]
    assert titles and all("data" in t.lower() for t in titles)


async def test_crm_search_refuses_unknown_params_and_bad_filters_as_invalid_requests(
    daemon_factory: DaemonFactory, sandbox: SandboxHandle
) -> None:
    daemon = await daemon_factory(key=sandbox.key, cats_base_url=sandbox.url, check_connection=False)
    await sandbox.control.reset_counters()
    unknown = await native(daemon, "crm.search", {"record_type": "candidates", "sort": "name"})
    bad = await native(
        daemon, "crm.search", {"record_type": "candidates", "filters": [{"field": "notes", "op": "contains"}]}
    )
    assert unknown["error"]["code"] == bad["error"]["code"] == "request.invalid"
    assert "notes" in bad["error"]["message"]
    assert (await sandbox.control.counters())["requests_total"] == 0


async def test_crm_search_without_an_api_key_says_how_to_fix_it(daemon: RunningDaemon) -> None:
    reply = await native(daemon, "crm.search", {"record_type": "contacts"})
    assert reply["error"]["code"] == "key.missing"
    assert "settings window" in reply["error"]["message"]
