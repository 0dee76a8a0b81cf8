"""Note rules: which campaign events become CATS activities, with which activity type, text and date.

Each event maps to one rule of `settings.general.notes_upon`: an outreach event to the rule of its
outreach type (email_sent, linkedin_connection_request, linkedin_message, inmail, call,
text_message), `replied` to `reply_received`, `interested` and `meeting_booked` to their own.
`added` and `not_interested` have no rule and never become notes. A rule with
`create_note = false` makes no note. The note's date is the event's date, never "now", so a
backfilled note lands where it happened in the record's history. The text is readable in CATS:
"LinkedIn message sent (campaign: Q3 data): Hi Ada" -- the campaign part only when the campaign
has a name, the colon and text only when the event carries one.
"""

from __future__ import annotations

from typing import Any, Final

from pydantic import AwareDatetime, BaseModel, ConfigDict

from companion.cats.models import ActivityType, ActivityWrite
from companion.rules.person import CampaignEvent, EventType
from companion.settings.models import ActivityTypeName, NoteRule, Settings

__all__ = ["NOTE_LABELS", "NoteSpec", "note_for", "note_kind", "note_text"]

#: Readable text per rule key, as it starts the note in CATS.
NOTE_LABELS: Final[dict[str, str]] = {
    "email_sent": "Email sent",
    "linkedin_connection_request": "LinkedIn connection request sent",
    "linkedin_message": "LinkedIn message sent",
    "inmail": "InMail sent",
    "call": "Call",
    "text_message": "Text message sent",
    "reply_received": "Reply received",
    "interested": "Marked as interested",
    "meeting_booked": "Meeting booked",
}

_KIND_OF_TYPE: Final[dict[EventType, str]] = {
    EventType.REPLIED: "reply_received",
    EventType.INTERESTED: "interested",
    EventType.MEETING_BOOKED: "meeting_booked",
}


class NoteSpec(BaseModel):
    """One note to add to the person's CATS record (an activity on it)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: str
    #: The `notes_upon` rule that made it (email_sent, reply_received, ...), for the sync log.
    kind: str
    activity_type: ActivityTypeName
    notes: str
    date: AwareDatetime

    def body(self) -> dict[str, Any]:
        """The exact body of `POST /{candidates|contacts}/{id}/activities`."""
        return ActivityWrite(
            type=ActivityType(self.activity_type), notes=self.notes, date=self.date
        ).to_body()


def note_kind(event: CampaignEvent) -> str | None:
    """The `notes_upon` rule key of an event, or None for events that never become notes."""
    if event.type is EventType.OUTREACH:
        return event.outreach.value if event.outreach is not None else None
    return _KIND_OF_TYPE.get(event.type)


def note_text(kind: str, event: CampaignEvent, campaign_name: str | None = None) -> str:
    """ "LinkedIn message sent (campaign: Q3 data): Hi Ada" (module docstring)."""
    text = NOTE_LABELS[kind]
    if campaign_name and campaign_name.strip():
        text += f" (campaign: {campaign_name.strip()})"
    if event.text:
        text += f": {event.text}"
    return text


def _rule(settings: Settings, kind: str) -> NoteRule:
    rule = getattr(settings.general.notes_upon, kind)
    assert isinstance(rule, NoteRule)
    return rule


def note_for(settings: Settings, event: CampaignEvent, campaign_name: str | None = None) -> NoteSpec | None:
    """The note an event makes under the settings, or None when it makes none."""
    kind = note_kind(event)
    if kind is None:
        return None
    rule = _rule(settings, kind)
    if not rule.create_note:
        return None
    return NoteSpec(
        event_id=event.id,
        kind=kind,
        activity_type=rule.activity_type,
        notes=note_text(kind, event, campaign_name),
        date=event.at,
    )
