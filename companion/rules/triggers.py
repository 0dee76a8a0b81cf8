"""Sync triggers: given settings, campaign, a member's state and a new event, what to do in CATS now.

The trigger is the campaign's `sync_trigger` when it sets one, else the setting
`sync.<record type>.campaign_sync_trigger` of the record type the person syncs as. Events reach
levels, each implying the ones below it:

    level 1 "member"      added, any outreach
    level 2 "replied"     replied               (and what was known before: state.replied)
    level 3 "interested"  interested, meeting_booked (state.interested)

`on_add` fires at level 1, `on_reply` at level 2, `when_interested` at level 3, `never` not at all
(only a manual push, `decide_push`, syncs then). `not_interested` never fires any trigger. The
person's level is the higher of the event's and what the state already knows, so a member who
replied before the campaign switched to `on_reply` syncs at their next event.

Once synced (`state.synced`), later events never ask for the record again: `sync_now` stays False
and the event only gets its note. Whether to UPDATE the existing record from fresher data is the
caller's choice (a manual push does it through `decide_push` and plan_merge); these rules never
decide an update on their own.

Notes (companion.rules.notes decides each event's note):

* synced: the event's note is added now (`notes_now`), unless that event was already noted.
* not synced, trigger not reached: no note can exist yet; the event is kept in
  `state_after.events_so_far`.
* the decision that syncs (the trigger fires, or a manual push): the triggering event's own note
  is `notes_now` -- it is written after the record exists -- and the kept earlier events are
  `backfill`, oldest first, when `only_notes_for_synced` is OFF. When it is ON they are dropped and
  never noted: only the triggering event and later ones make notes. The setting in force at the
  moment of the sync decides. The caller sends `backfill` before `notes_now`.

`state_after.synced_at` records when the person was first synced: the triggering event's date, or
the manual push's time. With `only_notes_for_synced` ON, an event dated before it is never noted,
even when it arrives after the sync (a replayed or late-imported event).

An event whose id is in `state.notes_sent` is never noted again. `Decision.state_after` is the
state to store once the decision has been accepted (the record's create and the notes queued).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

from pydantic import BaseModel, ConfigDict

from companion.rules.notes import NoteSpec, note_for, note_kind
from companion.rules.person import CampaignEvent, CampaignRules, EventType, PersonSyncState
from companion.settings.models import Settings, SyncTrigger

__all__ = ["Decision", "decide", "decide_push", "effective_trigger"]

_LEVEL: Final[dict[EventType, int]] = {
    EventType.ADDED: 1,
    EventType.OUTREACH: 1,
    EventType.REPLIED: 2,
    EventType.INTERESTED: 3,
    EventType.MEETING_BOOKED: 3,
    EventType.NOT_INTERESTED: 0,
}
_THRESHOLD: Final[dict[SyncTrigger, int | None]] = {
    "on_add": 1,
    "on_reply": 2,
    "when_interested": 3,
    "never": None,
}
_WAITING_FOR: Final[dict[SyncTrigger, str]] = {
    "on_add": "being added",
    "on_reply": "a reply",
    "when_interested": "interest",
    "never": "a manual push",
}


class Decision(BaseModel):
    """What to do in CATS for one event (or a manual push), and the member's state afterwards."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Create the record now (or, with merging, find and update it); never True once synced, except
    #: for a manual push.
    sync_now: bool
    #: Why, in words for the sync log.
    reason: str
    #: Notes for events happening now (after `backfill`, after the record exists).
    notes_now: list[NoteSpec]
    #: Notes for earlier events, oldest first, sent once the record exists.
    backfill: list[NoteSpec]
    #: The member's state to store once this decision has been queued.
    state_after: PersonSyncState


def effective_trigger(settings: Settings, campaign: CampaignRules, state: PersonSyncState) -> SyncTrigger:
    if campaign.sync_trigger is not None:
        return campaign.sync_trigger
    return settings.sync.for_record(state.record_type).campaign_sync_trigger


def _level(state: PersonSyncState, event: CampaignEvent) -> int:
    known = 3 if state.interested else 2 if state.replied else 0
    return max(_LEVEL[event.type], known)


def _backfill(
    settings: Settings, campaign: CampaignRules, state: PersonSyncState, *, skip: str | None
) -> list[NoteSpec]:
    if settings.sync.for_record(state.record_type).only_notes_for_synced:
        return []
    earlier = sorted(
        (e for e in state.events_so_far if e.id != skip and e.id not in state.notes_sent),
        key=lambda e: e.at,
    )
    notes: list[NoteSpec] = []
    seen: set[str] = set()
    for event in earlier:
        note = note_for(settings, event, campaign.name)
        if note is not None and event.id not in seen:
            seen.add(event.id)
            notes.append(note)
    return notes


def _state_after(
    state: PersonSyncState,
    event: CampaignEvent | None,
    *,
    synced: bool,
    notes: list[NoteSpec],
    synced_at: datetime | None = None,
) -> PersonSyncState:
    replied, interested = state.replied, state.interested
    kept = list(state.events_so_far)
    if event is not None:
        replied = replied or _LEVEL[event.type] >= 2
        if event.type is EventType.NOT_INTERESTED:
            interested = False
        elif _LEVEL[event.type] >= 3:
            interested = True
        known = {e.id for e in kept} | state.notes_sent
        if not synced and note_kind(event) is not None and event.id not in known:
            kept.append(event)
    return state.model_copy(
        update={
            "synced": synced,
            "synced_at": state.synced_at or synced_at,
            "replied": replied,
            "interested": interested,
            # Once synced, every kept event has been backfilled or dropped.
            "events_so_far": [] if synced else kept,
            "notes_sent": state.notes_sent | {note.event_id for note in notes},
        }
    )


def _event_note(
    settings: Settings, campaign: CampaignRules, state: PersonSyncState, event: CampaignEvent
) -> list[NoteSpec]:
    if event.id in state.notes_sent:
        return []
    only_synced = settings.sync.for_record(state.record_type).only_notes_for_synced
    if only_synced and state.synced_at is not None and event.at < state.synced_at:
        return []  # it happened before the record existed (a replay, or a late import)
    note = note_for(settings, event, campaign.name)
    return [note] if note is not None else []


def decide(
    settings: Settings, campaign: CampaignRules, state: PersonSyncState, event: CampaignEvent
) -> Decision:
    """The decision for one campaign event (module docstring)."""
    trigger = effective_trigger(settings, campaign, state)
    if state.synced:
        # Events kept before a sync that bypassed these rules are backfilled now, once.
        backfill = _backfill(settings, campaign, state, skip=event.id)
        notes_now = _event_note(settings, campaign, state, event)
        return Decision(
            sync_now=False,
            reason="already synced: the event only adds its note (an update is the caller's choice)",
            notes_now=notes_now,
            backfill=backfill,
            state_after=_state_after(state, event, synced=True, notes=backfill + notes_now),
        )
    threshold = _THRESHOLD[trigger]
    if event.type is EventType.NOT_INTERESTED:
        reason = "'not interested' never triggers a sync"
    elif threshold is None:
        reason = "the sync trigger is 'never': only a manual push syncs this person"
    elif _level(state, event) >= threshold:
        backfill = _backfill(settings, campaign, state, skip=event.id)
        notes_now = _event_note(settings, campaign, state, event)
        return Decision(
            sync_now=True,
            reason=f"trigger {trigger!r} reached by the {_describe(event)} event",
            notes_now=notes_now,
            backfill=backfill,
            state_after=_state_after(
                state, event, synced=True, notes=backfill + notes_now, synced_at=event.at
            ),
        )
    else:
        reason = f"trigger {trigger!r}: waiting for {_WAITING_FOR[trigger]}"
    return Decision(
        sync_now=False,
        reason=reason,
        notes_now=[],
        backfill=[],
        state_after=_state_after(state, event, synced=False, notes=[]),
    )


def decide_push(
    settings: Settings, campaign: CampaignRules, state: PersonSyncState, *, at: datetime | None = None
) -> Decision:
    """A manual push at `at` (the caller's clock): always syncs -- a create, or an update when synced.

    On the first sync the kept events are backfilled as for a trigger (module docstring). Without
    `at`, the push counts as happening just after the latest event it knows of.
    """
    if at is None and state.events_so_far:
        at = max(e.at for e in state.events_so_far) + timedelta(microseconds=1)
    backfill = _backfill(settings, campaign, state, skip=None)
    return Decision(
        sync_now=True,
        reason="manual push" if not state.synced else "manual push: update the existing record",
        notes_now=[],
        backfill=backfill,
        state_after=_state_after(state, None, synced=True, notes=backfill, synced_at=at),
    )


def _describe(event: CampaignEvent) -> str:
    if event.outreach is not None:
        return f"{event.outreach.value} outreach"
    return repr(event.type.value)
