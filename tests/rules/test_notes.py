"""Note rules and backfill: which events become CATS activities, when, with which type, text and date."""

from __future__ import annotations

from datetime import timedelta

import pytest

from companion.cats.models import ActivityWrite
from companion.rules.notes import NOTE_LABELS, note_for, note_text
from companion.rules.person import CampaignRules, PersonSyncState
from companion.rules.triggers import Decision, decide, decide_push
from tests.rules.builders import LATER, T0, event, settings

#: event kind -> (notes_upon rule, default activity type, text start)
RULES = [
    ("email_sent", "email_sent", "email", "Email sent"),
    (
        "linkedin_connection_request",
        "linkedin_connection_request",
        "other",
        "LinkedIn connection request sent",
    ),
    ("linkedin_message", "linkedin_message", "other", "LinkedIn message sent"),
    ("inmail", "inmail", "other", "InMail sent"),
    ("call", "call", "call_talked", "Call"),
    ("text_message", "text_message", "text_message", "Text message sent"),
    ("replied", "reply_received", "other", "Reply received"),
    ("interested", "interested", "other", "Marked as interested"),
    ("meeting_booked", "meeting_booked", "other", "Meeting booked"),
]


@pytest.mark.parametrize(("kind", "rule", "activity_type", "label"), RULES)
def test_each_event_type_makes_a_note_with_its_rules_activity_type(
    kind: str, rule: str, activity_type: str, label: str
) -> None:
    note = note_for(settings(), event("e1", kind, hours=5, text="Hello"), "Q3 data")

    assert note is not None
    assert (note.kind, note.activity_type) == (rule, activity_type)
    assert note.notes == f"{label} (campaign: Q3 data): Hello"
    assert note.date == T0 + timedelta(hours=5)
    assert note.event_id == "e1"


@pytest.mark.parametrize(("kind", "rule", "activity_type", "label"), RULES)
def test_activity_type_comes_from_the_settings(kind: str, rule: str, activity_type: str, label: str) -> None:
    config = settings(**{f"general__notes_upon__{rule}__activity_type": "call_lvm"})

    note = note_for(config, event("e1", kind))

    assert note is not None and note.activity_type == "call_lvm"


@pytest.mark.parametrize(("kind", "rule", "activity_type", "label"), RULES)
def test_a_rule_without_create_note_makes_no_note(
    kind: str, rule: str, activity_type: str, label: str
) -> None:
    config = settings(**{f"general__notes_upon__{rule}__create_note": False})

    assert note_for(config, event("e1", kind)) is None


@pytest.mark.parametrize("kind", ["added", "not_interested"])
def test_events_without_a_rule_never_become_notes(kind: str) -> None:
    assert note_for(settings(), event("e1", kind)) is None


@pytest.mark.parametrize(
    ("campaign", "text", "expected"),
    [
        ("Q3 data", "Hi Ada", "LinkedIn message sent (campaign: Q3 data): Hi Ada"),
        (None, "Hi Ada", "LinkedIn message sent: Hi Ada"),
        ("Q3 data", None, "LinkedIn message sent (campaign: Q3 data)"),
        ("  ", None, "LinkedIn message sent"),
    ],
)
def test_note_text_is_readable(campaign: str | None, text: str | None, expected: str) -> None:
    assert note_text("linkedin_message", event("e1", "linkedin_message", text=text), campaign) == expected


def test_note_body_is_the_exact_activity_create_body() -> None:
    note = note_for(settings(), event("e1", "call", hours=2, text="Talked"))
    assert note is not None

    body = note.body()

    assert body == {"type": "call_talked", "notes": "Call: Talked", "date": "2026-03-02T11:00:00Z"}
    ActivityWrite.model_validate(body)
    assert set(NOTE_LABELS) == {rule for _kind, rule, _type, _label in RULES}


# --- notes along a campaign ------------------------------------------------------------------------


def _run(trigger: str, only_synced: bool, kinds: list[str]) -> list[Decision]:
    """Feed events in order, storing each decision's state as the caller would."""
    config = settings(sync__candidates__only_notes_for_synced=only_synced)
    campaign = CampaignRules(sync_trigger=trigger, name="Q3")
    state = PersonSyncState()
    decisions = []
    for index, kind in enumerate(kinds):
        decision = decide(config, campaign, state, event(f"e{index}", kind, hours=index))
        decisions.append(decision)
        state = decision.state_after
    return decisions


SEQUENCE = ["added", "email_sent", "linkedin_message", "replied", "call", "interested", "meeting_booked"]

#: (trigger, only_notes_for_synced) -> (index of the syncing event, ids backfilled, ids noted "now")
CAMPAIGNS = [
    ("on_add", False, 0, [], ["e1", "e2", "e3", "e4", "e5", "e6"]),
    ("on_add", True, 0, [], ["e1", "e2", "e3", "e4", "e5", "e6"]),
    ("on_reply", False, 3, ["e1", "e2"], ["e3", "e4", "e5", "e6"]),
    ("on_reply", True, 3, [], ["e3", "e4", "e5", "e6"]),
    ("when_interested", False, 5, ["e1", "e2", "e3", "e4"], ["e5", "e6"]),
    ("when_interested", True, 5, [], ["e5", "e6"]),
    ("never", False, None, [], []),
    ("never", True, None, [], []),
]


@pytest.mark.parametrize(("trigger", "only_synced", "sync_at", "backfilled", "noted_now"), CAMPAIGNS)
def test_campaign_notes_across_triggers_and_only_notes_for_synced(
    trigger: str, only_synced: bool, sync_at: int | None, backfilled: list[str], noted_now: list[str]
) -> None:
    decisions = _run(trigger, only_synced, SEQUENCE)

    syncs = [index for index, decision in enumerate(decisions) if decision.sync_now]
    assert syncs == ([sync_at] if sync_at is not None else [])
    assert [note.event_id for d in decisions for note in d.backfill] == backfilled
    assert [note.event_id for d in decisions for note in d.notes_now] == noted_now
    # Backfill only ever comes with the decision that syncs.
    assert all(not d.backfill for index, d in enumerate(decisions) if index != sync_at)


def test_backfill_keeps_the_events_dates_and_comes_oldest_first() -> None:
    config = settings(sync__candidates__only_notes_for_synced=False)
    campaign = CampaignRules(sync_trigger="on_reply")
    state = PersonSyncState()
    # Arrive out of order: an import may deliver older events late.
    for kind, event_id, hours in [("call", "late", 5), ("email_sent", "early", 1)]:
        state = decide(config, campaign, state, event(event_id, kind, hours=hours)).state_after

    decision = decide(config, campaign, state, event("reply", "replied", hours=9))

    assert [(n.event_id, n.date) for n in decision.backfill] == [
        ("early", T0 + timedelta(hours=1)),
        ("late", T0 + timedelta(hours=5)),
    ]
    assert decision.state_after.events_so_far == []
    assert decision.state_after.notes_sent == {"early", "late", "reply"}


def test_unsynced_member_keeps_events_that_can_become_notes() -> None:
    decisions = _run("never", False, ["added", "email_sent", "not_interested", "call"])

    kept = decisions[-1].state_after.events_so_far
    assert [e.id for e in kept] == ["e1", "e3"]  # 'added' and 'not interested' never become notes


def test_backfill_applies_the_note_rules_in_force_at_the_sync() -> None:
    state = _run("never", False, ["email_sent", "call"])[-1].state_after
    config = settings(general__notes_upon__call__create_note=False)

    decision = decide_push(config, CampaignRules(), state, at=LATER)

    assert [n.event_id for n in decision.backfill] == ["e0"]


@pytest.mark.parametrize(("only_synced", "expected"), [(False, ["e0", "e1"]), (True, [])])
def test_manual_push_backfills_per_only_notes_for_synced(only_synced: bool, expected: list[str]) -> None:
    state = _run("never", only_synced, ["email_sent", "inmail"])[-1].state_after
    config = settings(sync__candidates__only_notes_for_synced=only_synced)

    decision = decide_push(config, CampaignRules(), state, at=LATER)

    assert [n.event_id for n in decision.backfill] == expected
    assert decision.notes_now == []
    assert decision.state_after.events_so_far == []


def test_manual_push_of_a_synced_member_backfills_nothing() -> None:
    state = PersonSyncState(synced=True, cats_id=5, notes_sent={"e0"})

    decision = decide_push(settings(), CampaignRules(), state, at=LATER)

    assert decision.backfill == [] and decision.notes_now == []


def test_an_event_is_never_noted_twice() -> None:
    config = settings()
    campaign = CampaignRules(sync_trigger="on_add")
    state = PersonSyncState(synced=True, cats_id=9)
    message = event("m1", "linkedin_message", text="Hi")

    first = decide(config, campaign, state, message)
    replay = decide(config, campaign, first.state_after, message)

    assert [n.event_id for n in first.notes_now] == ["m1"]
    assert replay.notes_now == [] and replay.backfill == []


def test_a_replayed_event_that_triggers_the_sync_is_noted_once() -> None:
    config = settings(sync__candidates__only_notes_for_synced=False)
    campaign = CampaignRules(sync_trigger="on_reply")
    reply = event("r1", "replied")
    # The reply was first seen while the trigger was 'never', so it was kept for backfill.
    state = decide(config, CampaignRules(sync_trigger="never"), PersonSyncState(), reply).state_after

    decision = decide(config, campaign, state, reply)

    assert decision.sync_now
    assert [n.event_id for n in decision.backfill + decision.notes_now] == ["r1"]


def test_events_kept_before_a_sync_that_bypassed_the_rules_are_backfilled_once() -> None:
    # The caller marked the member synced without decide_push; the kept events are not lost.
    config = settings()
    state = PersonSyncState(synced=True, cats_id=3, events_so_far=[event("old", "email_sent")])

    first = decide(config, CampaignRules(), state, event("new", "call", hours=1))
    second = decide(config, CampaignRules(), first.state_after, event("newer", "call", hours=2))

    assert [n.event_id for n in first.backfill] == ["old"]
    assert [n.event_id for n in first.notes_now] == ["new"]
    assert second.backfill == []


def test_with_only_notes_for_synced_the_kept_events_are_dropped_not_noted_later() -> None:
    config = settings(sync__candidates__only_notes_for_synced=True)
    campaign = CampaignRules(sync_trigger="on_reply")
    decisions = _run("on_reply", True, ["email_sent", "replied", "call"])

    noted = {n.event_id for d in decisions for n in d.notes_now + d.backfill}
    assert noted == {"e1", "e2"}
    again = decide_push(config, campaign, decisions[-1].state_after, at=LATER)
    assert again.backfill == []


def test_the_notes_setting_of_the_persons_record_type_applies() -> None:
    config = settings(
        sync__candidates__only_notes_for_synced=False, sync__contacts__only_notes_for_synced=True
    )
    earlier = [event("e0", "email_sent")]

    for record_type, expected in [("candidates", ["e0"]), ("contacts", [])]:
        state = PersonSyncState(record_type=record_type, events_so_far=earlier)
        decision = decide(
            config, CampaignRules(sync_trigger="on_reply"), state, event("e1", "replied", hours=1)
        )
        assert [n.event_id for n in decision.backfill] == expected


@pytest.mark.parametrize(("only_synced", "noted"), [(True, False), (False, True)])
def test_an_event_from_before_the_sync_arriving_after_it(only_synced: bool, noted: bool) -> None:
    config = settings(sync__candidates__only_notes_for_synced=only_synced)
    campaign = CampaignRules(sync_trigger="on_reply")
    synced = decide(config, campaign, PersonSyncState(), event("reply", "replied", hours=10)).state_after

    late = decide(config, campaign, synced, event("old-call", "call", hours=2))
    after = decide(config, campaign, synced, event("new-call", "call", hours=11))

    assert synced.synced_at == T0 + timedelta(hours=10)
    assert bool(late.notes_now) is noted
    assert [n.event_id for n in after.notes_now] == ["new-call"]


def test_with_only_notes_for_synced_a_replayed_early_event_stays_unnoted() -> None:
    config = settings(sync__candidates__only_notes_for_synced=True)
    campaign = CampaignRules(sync_trigger="on_reply")
    first = event("e1", "email_sent", hours=1)
    state = decide(config, campaign, PersonSyncState(), first).state_after
    state = decide(config, campaign, state, event("e2", "replied", hours=2)).state_after

    assert decide(config, campaign, state, first).notes_now == []


def test_a_manual_push_records_when_it_synced() -> None:
    decision = decide_push(settings(), CampaignRules(), PersonSyncState(), at=LATER)
    again = decide_push(settings(), CampaignRules(), decision.state_after, at=LATER + timedelta(days=1))

    assert decision.state_after.synced_at == LATER
    assert again.state_after.synced_at == LATER


def test_a_manual_push_without_a_time_counts_as_just_after_the_known_events() -> None:
    config = settings(sync__candidates__only_notes_for_synced=True)
    early = event("e1", "email_sent", hours=3)
    state = decide(config, CampaignRules(sync_trigger="never"), PersonSyncState(), early).state_after

    pushed = decide_push(config, CampaignRules(), state).state_after

    assert pushed.synced_at is not None and pushed.synced_at > early.at
    assert decide(config, CampaignRules(), pushed, early).notes_now == []
    assert decide_push(config, CampaignRules(), PersonSyncState()).state_after.synced_at is None
