"""Sync triggers: when a campaign member is created in CATS, per record type and per campaign."""

from __future__ import annotations

import pytest

from companion.rules.person import CampaignRules, PersonSyncState
from companion.rules.triggers import decide, decide_push, effective_trigger
from tests.rules.builders import LATER, event, settings

KINDS = ("added", "email_sent", "replied", "interested", "not_interested", "meeting_booked")

#: trigger -> the event kinds that sync an unsynced member who has not replied before.
FIRES: dict[str, set[str]] = {
    "on_add": {"added", "email_sent", "replied", "interested", "meeting_booked"},
    "on_reply": {"replied", "interested", "meeting_booked"},
    "when_interested": {"interested", "meeting_booked"},
    "never": set(),
}


@pytest.mark.parametrize("record_type", ["candidates", "contacts"])
@pytest.mark.parametrize("trigger", list(FIRES))
@pytest.mark.parametrize("kind", KINDS)
def test_trigger_from_settings_fires_exactly_at_its_events(record_type: str, trigger: str, kind: str) -> None:
    config = settings(**{f"sync__{record_type}__campaign_sync_trigger": trigger})
    state = PersonSyncState(record_type=record_type)

    decision = decide(config, CampaignRules(), state, event("e1", kind))

    assert decision.sync_now is (kind in FIRES[trigger])
    assert decision.state_after.synced is decision.sync_now


@pytest.mark.parametrize("trigger", list(FIRES))
@pytest.mark.parametrize("kind", KINDS)
def test_campaign_trigger_overrides_the_settings(trigger: str, kind: str) -> None:
    # The settings say the opposite of the campaign wherever they can.
    config = settings(sync__candidates__campaign_sync_trigger="never" if trigger != "never" else "on_add")

    decision = decide(config, CampaignRules(sync_trigger=trigger), PersonSyncState(), event("e1", kind))

    assert decision.sync_now is (kind in FIRES[trigger])


def test_each_record_type_uses_its_own_trigger_setting() -> None:
    config = settings(
        sync__candidates__campaign_sync_trigger="on_add", sync__contacts__campaign_sync_trigger="never"
    )
    added = event("e1", "added")

    assert decide(config, CampaignRules(), PersonSyncState(record_type="candidates"), added).sync_now
    assert not decide(config, CampaignRules(), PersonSyncState(record_type="contacts"), added).sync_now
    assert effective_trigger(config, CampaignRules(), PersonSyncState(record_type="contacts")) == "never"


@pytest.mark.parametrize(
    ("trigger", "known", "fires"),
    [
        ("on_reply", {"replied": True}, True),
        ("on_reply", {"interested": True}, True),
        ("when_interested", {"replied": True}, False),
        ("when_interested", {"interested": True}, True),
        ("never", {"interested": True}, False),
    ],
)
def test_what_the_state_already_knows_counts_at_the_next_event(
    trigger: str, known: dict[str, bool], fires: bool
) -> None:
    # e.g. the member replied while the campaign's trigger was "never", then it became "on_reply".
    state = PersonSyncState(**known)

    decision = decide(settings(), CampaignRules(sync_trigger=trigger), state, event("e9", "call"))

    assert decision.sync_now is fires


@pytest.mark.parametrize("trigger", list(FIRES))
def test_not_interested_never_triggers_even_after_a_reply(trigger: str) -> None:
    state = PersonSyncState(replied=True, interested=True)

    decision = decide(settings(), CampaignRules(sync_trigger=trigger), state, event("e1", "not_interested"))

    assert not decision.sync_now
    assert "never triggers" in decision.reason


@pytest.mark.parametrize("trigger", list(FIRES))
@pytest.mark.parametrize("kind", KINDS)
def test_a_synced_member_is_never_created_again(trigger: str, kind: str) -> None:
    state = PersonSyncState(synced=True, cats_id=700123, replied=True)

    decision = decide(settings(), CampaignRules(sync_trigger=trigger), state, event("e5", kind))

    assert not decision.sync_now
    assert decision.reason.startswith("already synced")
    assert decision.state_after.synced


@pytest.mark.parametrize("trigger", list(FIRES))
@pytest.mark.parametrize("synced", [False, True])
def test_a_manual_push_always_syncs(trigger: str, synced: bool) -> None:
    config = settings(sync__candidates__campaign_sync_trigger=trigger)

    decision = decide_push(
        config, CampaignRules(sync_trigger=trigger), PersonSyncState(synced=synced), at=LATER
    )

    assert decision.sync_now
    assert decision.state_after.synced
    assert decision.reason.startswith("manual push")


def test_never_trigger_explains_that_only_a_manual_push_syncs() -> None:
    decision = decide(
        settings(), CampaignRules(sync_trigger="never"), PersonSyncState(), event("e1", "replied")
    )

    assert "manual push" in decision.reason


def test_waiting_reason_names_what_is_awaited() -> None:
    decision = decide(
        settings(), CampaignRules(sync_trigger="when_interested"), PersonSyncState(), event("e1", "replied")
    )

    assert decision.reason == "trigger 'when_interested': waiting for interest"


@pytest.mark.parametrize(
    ("kind", "replied", "interested"),
    [
        ("added", False, False),
        ("email_sent", False, False),
        ("replied", True, False),
        ("interested", True, True),
        ("meeting_booked", True, True),
    ],
)
def test_state_after_records_replies_and_interest(kind: str, replied: bool, interested: bool) -> None:
    decision = decide(settings(), CampaignRules(sync_trigger="never"), PersonSyncState(), event("e1", kind))

    assert (decision.state_after.replied, decision.state_after.interested) == (replied, interested)


def test_not_interested_withdraws_interest_but_keeps_the_reply() -> None:
    state = PersonSyncState(replied=True, interested=True)

    after = decide(
        settings(), CampaignRules(sync_trigger="never"), state, event("e1", "not_interested")
    ).state_after

    assert (after.replied, after.interested) == (True, False)


def test_decide_leaves_the_given_state_untouched() -> None:
    state = PersonSyncState()

    decide(settings(), CampaignRules(sync_trigger="on_add"), state, event("e1", "email_sent"))

    assert state == PersonSyncState()


def test_campaign_record_type_is_the_default_for_new_members() -> None:
    assert CampaignRules().effective_record_type() == "candidates"
    assert CampaignRules(record_type="contacts").effective_record_type() == "contacts"
    assert CampaignRules(record_type="contacts").effective_record_type("candidates") == "candidates"
