"""Properties over generated people, records, settings and event sequences (hypothesis)."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from companion.cats.models import CandidateRead, CandidateUpdate, CandidateWrite, ContactRead, ContactWrite
from companion.errors import PushRefusedError
from companion.rules.merge import MergePlan, plan_merge
from companion.rules.payload import build_write
from companion.rules.person import CampaignRules, Person, PersonSyncState, RecordType
from companion.rules.triggers import decide
from companion.rules.values import is_blank
from companion.settings.models import Settings
from tests.rules.builders import OWNER, catalogue, event, settings

#: Derandomised: the same examples on every run, so a failure is reproducible and CI is deterministic.
FAST = hyp_settings(
    max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)

words = st.text(alphabet="abcdefghij ", min_size=1, max_size=12).filter(lambda s: s.strip() != "")
maybe_words = st.none() | words
emails = st.from_regex(r"[a-e]{1,4}@(x|y)\.(org|nl)", fullmatch=True)
phones = st.sampled_from(
    ["+31 6 1234 5678", "+31612345679", "0031201234567", "(020) 123 4567", "+1 650 253 0000"]
)
urls = st.sampled_from(
    [
        "linkedin.com/in/ada",
        "https://uk.linkedin.com/in/ADA/",
        "github.com/ada",
        "https://x.com/ada",
        "ada.dev",
    ]
)
record_types: st.SearchStrategy[RecordType] = st.sampled_from(["candidates", "contacts"])

#: Typed values, valid and not, for fields of both record types.
FIELD_VALUES = [
    ("title", "CTO"),
    ("address.city", "Utrecht"),
    ("is_hot", "yes"),
    ("is_hot", "maybe"),
    ("country_code", "nl"),
    ("country_code", "Holland"),
    ("notes", "Met at a conference"),
    ("custom:88005", "citizen"),
    ("custom:88005", "Tourist"),
    ("custom:88007", ["Go", "SQL"]),
    ("custom:88009", "12"),
    ("custom:99001", "Bo"),
    ("owner_id", OWNER),
    ("owner_id", 31337),
    ("company_id", 23),
    ("first_name", ""),
]


@st.composite
def people(draw: st.DrawFn) -> Person:
    return Person(
        full_name=draw(words),
        first_name=draw(maybe_words),
        last_name=draw(maybe_words),
        title=draw(maybe_words),
        headline=draw(maybe_words),
        current_company=draw(maybe_words),
        location=draw(maybe_words),
        summary=draw(maybe_words),
        source=draw(maybe_words),
        emails=draw(st.lists(emails, max_size=3)),
        phones=draw(st.lists(phones, max_size=3)),
        skills=draw(st.lists(st.sampled_from(["Python", "SQL", "Go", "Cobol"]), max_size=4)),
        languages=draw(st.lists(words, max_size=2)),
        linkedin=draw(st.none() | st.just("https://www.linkedin.com/in/ada-l")),
        github=draw(st.none() | st.just("github.com/ada")),
        website=draw(st.none() | urls),
        field_values=dict(draw(st.lists(st.sampled_from(FIELD_VALUES), max_size=4))),
    )


@st.composite
def mappings(draw: st.DrawFn) -> Settings:
    return settings(
        mapping__candidates__skills={
            "targets": draw(
                st.sampled_from([["key_skills"], ["custom:88007"], ["custom:88001", "key_skills"]])
            ),
            "joiner": draw(st.sampled_from([", ", None])),
        },
        mapping__candidates__headline=draw(st.sampled_from([None, "title", "custom:88002"])),
        sync__contacts__default_owner_id=draw(st.sampled_from([None, OWNER])),
    )


@FAST
@given(person=people(), record_type=record_types, config=mappings(), company_id=st.sampled_from([None, 17]))
def test_build_write_returns_a_valid_cats_body_or_refuses_cleanly(
    person: Person, record_type: RecordType, config: Settings, company_id: int | None
) -> None:
    try:
        body = build_write(person, record_type, config, catalogue(), company_id=company_id, owner_id=None)
    except PushRefusedError as exc:
        assert exc.message and exc.code.startswith("push.")
        return
    model = CandidateWrite if record_type == "candidates" else ContactWrite
    assert model.model_validate(body).to_body() == body
    if body.get("emails"):
        assert [row["is_primary"] for row in body["emails"]].count(True) == 1
    ids = [row["id"] for row in body.get("custom_fields", [])]
    assert len(ids) == len(set(ids))


# --- merge --------------------------------------------------------------------------------------------

SCALARS = ["title", "current_employer", "key_skills", "source", "website"]
CUSTOM_IDS = [88001, 88002, 88007]


def custom_value(definition_id: int) -> st.SearchStrategy[Any]:
    if definition_id == 88007:
        return st.lists(st.sampled_from(["Python", "SQL", "Go"]), min_size=1, max_size=3, unique=True)
    return words


@st.composite
def records(draw: st.DrawFn, record_type: RecordType) -> dict[str, Any]:
    primary = draw(st.none() | emails)
    record: dict[str, Any] = {
        "id": 100,
        "first_name": draw(words),
        "last_name": draw(words),
        "title": draw(maybe_words),
        "emails": {"primary": primary, "secondary": draw(emails) if primary else None},
        "phones": {"cell": draw(st.none() | phones), "work": draw(st.none() | phones)},
        "address": {"city": draw(maybe_words), "street": draw(maybe_words)},
        "social_media_urls": draw(st.lists(urls, max_size=2)),
        "owner_id": draw(st.sampled_from([None, OWNER])) if record_type == "candidates" else OWNER,
        "_embedded": {
            "custom_fields": [
                {"id": definition_id, "value": draw(custom_value(definition_id))}
                for definition_id in draw(st.lists(st.sampled_from(CUSTOM_IDS), unique=True, max_size=3))
            ]
        },
    }
    if record_type == "candidates":
        record.update({key: draw(maybe_words) for key in SCALARS if key != "title"})
    else:
        record["company_id"] = 17
    return record


@st.composite
def desires(draw: st.DrawFn, record_type: RecordType) -> dict[str, Any]:
    desired: dict[str, Any] = {"first_name": draw(words), "last_name": draw(words)}
    keys = SCALARS if record_type == "candidates" else ["title"]
    for key in draw(st.lists(st.sampled_from(keys), unique=True)):
        desired[key] = draw(words)
    if draw(st.booleans()):
        desired["address"] = {"city": draw(words)}
    addresses = draw(st.lists(emails, max_size=2, unique_by=str.casefold))
    if addresses:
        desired["emails"] = [{"email": e, "is_primary": i == 0} for i, e in enumerate(addresses)]
    numbers = draw(st.lists(phones, max_size=2, unique=True))
    if numbers:
        desired["phones"] = [{"number": n, "type": "other"} for n in numbers]
    if draw(st.booleans()):
        desired["social_media_urls"] = draw(st.lists(urls, min_size=1, max_size=2))
    chosen = draw(st.lists(st.sampled_from(CUSTOM_IDS), unique=True, max_size=3))
    if chosen:
        desired["custom_fields"] = [{"id": i, "value": draw(custom_value(i))} for i in chosen]
    desired["owner_id"] = OWNER + draw(st.integers(0, 1))
    if record_type == "contacts":
        desired["company_id"] = draw(st.sampled_from([17, 18]))
    return desired


PROTECTABLE = [
    "title",
    "address.city",
    "emails",
    "phones",
    "social_media_urls",
    "custom:88001",
    "custom:88007",
]


@st.composite
def merge_cases(draw: st.DrawFn) -> tuple[RecordType, dict[str, Any], dict[str, Any], Settings]:
    record_type = draw(record_types)
    protected = [
        {"field": ref, "only_fill_when_blank": draw(st.booleans())}
        for ref in draw(st.lists(st.sampled_from(PROTECTABLE), unique=True))
    ]
    config = settings(**{f"sync__{record_type}__protected_fields": protected})
    return record_type, draw(records(record_type)), draw(desires(record_type)), config


def _read(record: dict[str, Any], record_type: RecordType) -> CandidateRead | ContactRead:
    model = CandidateRead if record_type == "candidates" else ContactRead
    return model.model_validate(record)


def _current(record: dict[str, Any], record_type: RecordType, ref: str) -> Any:
    read = _read(record, record_type)
    if ref.startswith("custom:"):
        return read.custom_field_values().get(int(ref.split(":")[1]))
    if ref == "address.city":
        return read.address.city if read.address else None
    rows = record.get("_embedded", {}).get(ref, [])
    if ref == "emails":
        found = [e for e in (read.emails.primary, read.emails.secondary) if e] + [r["email"] for r in rows]
        return {e.casefold() for e in found}
    if ref == "phones":
        found = [p for p in read.phones.values() if p] + [r["number"] for r in rows]
        return {"".join(c for c in p if c.isdigit()).lstrip("0") for p in found}
    return getattr(read, ref)


def _stripped(value: Any) -> Any:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, list):
        return [_stripped(item) for item in value]
    return value


def _planned(plan: MergePlan, record: dict[str, Any], record_type: RecordType, ref: str) -> Any:
    """The value `ref` has once the plan is applied."""
    return _current(apply(plan, record, record_type), record_type, ref)


def apply(plan: MergePlan, record: dict[str, Any], record_type: RecordType) -> dict[str, Any]:
    """What CATS would hold after the plan's requests (write shape back to read shape)."""
    after = copy.deepcopy(record)
    body = plan.body or {}
    for key, value in body.items():
        if key == "custom_fields":
            after["_embedded"]["custom_fields"] = [{"id": row["id"], "value": row["value"]} for row in value]
        elif key == "emails":
            after["emails"] = {"primary": None, "secondary": None}
            after["_embedded"]["emails"] = [dict(row) for row in value]
        elif key == "phones":
            after["phones"] = {}
            after["_embedded"]["phones"] = [dict(row) for row in value]
        else:
            after[key] = value
    for op in plan.subrecords:
        after["_embedded"].setdefault(op.kind, []).append(dict(op.body))
    return after


@FAST
@given(case=merge_cases())
def test_plan_merge_never_overwrites_a_protected_value(
    case: tuple[RecordType, dict[str, Any], dict[str, Any], Settings],
) -> None:
    record_type, record, desired, config = case
    plan = plan_merge(record, desired, record_type, config)

    for rule in config.sync.for_record(record_type).protected_fields:
        before = _current(record, record_type, rule.field)
        if not is_blank(before):
            # The write models trim whitespace: "a " written back as "a" is the same value.
            assert _stripped(_planned(plan, record, record_type, rule.field)) == _stripped(before), rule.field
    if plan.body is not None:
        model = CandidateUpdate if record_type == "candidates" else ContactWrite
        model.model_validate(plan.body)


@FAST
@given(case=merge_cases())
def test_plan_merge_never_blanks_what_the_record_had(
    case: tuple[RecordType, dict[str, Any], dict[str, Any], Settings],
) -> None:
    record_type, record, desired, config = case
    plan = plan_merge(record, desired, record_type, config)
    if plan.body is None:
        return

    existing = _read(record, record_type).to_update().to_body()
    for key, value in existing.items():
        assert not is_blank(plan.body.get(key)), key
        if isinstance(value, list) and key != "custom_fields":
            assert len(plan.body[key]) >= len(value), key
    kept_ids = {row["id"] for row in plan.body.get("custom_fields", [])}
    assert {row["id"] for row in existing.get("custom_fields", [])} <= kept_ids


@FAST
@given(case=merge_cases())
def test_merging_the_same_data_twice_costs_nothing_the_second_time(
    case: tuple[RecordType, dict[str, Any], dict[str, Any], Settings],
) -> None:
    record_type, record, desired, config = case
    first = plan_merge(record, desired, record_type, config)

    second = plan_merge(apply(first, record, record_type), desired, record_type, config)

    assert second.body is None and second.subrecords == [], second


@FAST
@given(record_type=record_types, data=st.data())
def test_merging_a_record_into_itself_changes_nothing(record_type: RecordType, data: st.DataObject) -> None:
    record = data.draw(records(record_type))
    read = _read(record, record_type)
    desired = read.to_update().to_body()
    desired["emails"] = [
        {"email": e, "is_primary": i == 0}
        for i, e in enumerate(x for x in (read.emails.primary, read.emails.secondary) if x)
    ]
    desired["phones"] = [{"number": p, "type": "other"} for p in read.phones.values() if p]

    plan = plan_merge(record, desired, record_type, settings())

    assert (plan.body, plan.subrecords, plan.changed_fields) == (None, [], [])


# --- campaign decisions -----------------------------------------------------------------------------

KINDS = [
    "added",
    "email_sent",
    "linkedin_message",
    "call",
    "replied",
    "interested",
    "not_interested",
    "meeting_booked",
]


@FAST
@given(
    trigger=st.sampled_from(["on_add", "on_reply", "when_interested", "never"]),
    only_synced=st.booleans(),
    kinds=st.lists(st.sampled_from(KINDS), max_size=12),
    replays=st.lists(st.integers(0, 11), max_size=4),
)
def test_campaign_decisions_sync_once_and_note_each_event_at_most_once(
    trigger: str, only_synced: bool, kinds: list[str], replays: list[int]
) -> None:
    config = settings(sync__candidates__only_notes_for_synced=only_synced)
    campaign = CampaignRules(sync_trigger=trigger)
    events = [event(f"e{i}", kind, hours=i) for i, kind in enumerate(kinds)]
    # Some events arrive twice (a retried import, a reconnecting extension).
    stream = events + [events[i] for i in replays if i < len(events)]
    state = PersonSyncState()
    noted: list[str] = []
    sync_at: int | None = None
    for position, item in enumerate(stream):
        decision = decide(config, campaign, state, item)
        if decision.sync_now:
            assert sync_at is None, "a second create was asked for"
            sync_at = position
        if sync_at is None:
            assert decision.notes_now == [] and decision.backfill == []
        if only_synced:
            assert decision.backfill == []
        noted += [note.event_id for note in decision.backfill + decision.notes_now]
        state = decision.state_after

    assert len(noted) == len(set(noted))
    if only_synced and sync_at is not None:
        earlier = {e.id for e in stream[:sync_at]}
        assert not earlier & set(noted)
