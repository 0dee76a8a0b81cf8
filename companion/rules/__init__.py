"""Pure rules of pushing people to CATS: person model, sync triggers, notes, write body, search, merge.

No I/O anywhere in this package: plain functions over pydantic models, so every rule is unit-tested
on its own (tests/rules/). The push services (companion.services) store the results and talk to CATS.

    person    Person, CampaignEvent, PersonSyncState, CampaignRules (the inputs)
    triggers  decide(settings, campaign, state, event) -> Decision; decide_push for a manual push
    notes     which events become notes (NoteSpec), with which activity type, text and date
    payload   build_write (the create body), missing_mandatory, wanted_values
    search    search_plan / search_steps (finding an existing record), pick_existing (judging hits)
    merge     plan_merge: the read-merge-write update of an existing record (MergePlan)
    values, phones, urls   one field value, phone number, profile URL in the form CATS takes
"""

from __future__ import annotations

from companion.rules.merge import MergePlan, SubrecordOp, plan_merge
from companion.rules.notes import NoteSpec, note_for
from companion.rules.payload import build_write, missing_mandatory, wanted_values
from companion.rules.person import (
    CampaignEvent,
    CampaignRules,
    EventType,
    OutreachType,
    Person,
    PersonSyncState,
    RecordType,
)
from companion.rules.search import SearchStep, pick_existing, search_plan, search_steps
from companion.rules.triggers import Decision, decide, decide_push, effective_trigger

__all__ = [
    "CampaignEvent",
    "CampaignRules",
    "Decision",
    "EventType",
    "MergePlan",
    "NoteSpec",
    "OutreachType",
    "Person",
    "PersonSyncState",
    "RecordType",
    "SearchStep",
    "SubrecordOp",
    "build_write",
    "decide",
    "decide_push",
    "effective_trigger",
    "missing_mandatory",
    "note_for",
    "pick_existing",
    "plan_merge",
    "search_plan",
    "search_steps",
    "wanted_values",
]
