"""Read-merge-write: the PUT (and sub-record requests) that bring an existing CATS record up to date.

`plan_merge(existing, desired, record_type, settings)` takes the record as CATS returned it (GET
read shape) and the person's write body (what `build_write` gives) and plans the update:

* The PUT body starts from the record's whole writable form (`to_update()`), so fields the person
  has nothing for are sent back unchanged and a PUT can never blank them (REFERENCE.md §6.4).
* Each field the person has a value for is overlaid, except protected fields
  (`sync.<type>.protected_fields`): never overwritten when CATS already holds a value; with
  `only_fill_when_blank` written when the record's value is empty. A protected field that would
  have changed is listed in `skipped_protected`. A blank desired value never clears anything.
* The owner of an existing record is never changed by a merge -- the record belongs to whoever
  owns it; an owner is only filled in when the record has none (reported like a protected field).
* Multi-valued fields are merged by identity, never duplicated and never shortened: emails
  (case-insensitive), phones (`same_phone`), `social_media_urls` (`url_identity`), custom fields by
  definition id (a list value, i.e. checkboxes, gains the new options and keeps the old ones).
  The record's primary email stays primary.
* Candidates: CATS's PUT has no emails/phones, so new ones become `SubrecordOp`s
  (`POST /candidates/{id}/emails|phones`). Contacts: the PUT carries the complete lists.
* The PUT carries the required fields (first and last name; for contacts owner and company).
* `body` is None when no PUT-able field changes, so no request is spent on it; `changed_fields`
  names every field that changes (sub-records included) for the sync log.
"""

from __future__ import annotations

from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict

from companion.cats.models import (
    CandidateRead,
    CandidateUpdate,
    ContactRead,
    ContactWrite,
)
from companion.rules.person import RecordType
from companion.rules.phones import same_phone
from companion.rules.urls import url_identity
from companion.rules.values import is_blank
from companion.settings.fields import custom_ref
from companion.settings.models import Settings

__all__ = ["MergePlan", "SubrecordOp", "plan_merge"]

#: Fields a merge only fills when the record has none, whatever the settings (module docstring).
KEPT_ON_MERGE: Final = frozenset({"owner_id"})
#: Read-shape phone keys (an open map, REFERENCE.md §6.1) to the type they are written back as.
_PHONE_KEYS: Final = {
    "cell": "mobile",
    "mobile": "mobile",
    "home": "home",
    "work": "work",
    "main": "main",
    "fax": "fax",
}
_REQUIRED: Final[dict[RecordType, tuple[str, ...]]] = {
    "candidates": ("first_name", "last_name"),
    "contacts": ("first_name", "last_name", "owner_id", "company_id"),
}


class SubrecordOp(BaseModel):
    """One request on a record's email or phone sub-records (REFERENCE.md §9)."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["emails", "phones"]
    method: Literal["POST"] = "POST"
    #: Relative to the API root, e.g. `/candidates/700123/emails`.
    path: str
    body: dict[str, Any]


class MergePlan(BaseModel):
    model_config = ConfigDict(frozen=True)

    #: The `PUT /{r}/{id}` body; None = nothing to change, send no PUT.
    body: dict[str, Any] | None
    changed_fields: list[str]
    subrecords: list[SubrecordOp]
    skipped_protected: list[str]

    @property
    def requests(self) -> int:
        """CATS requests this plan costs."""
        return (1 if self.body is not None else 0) + len(self.subrecords)


def _fold(value: Any) -> Any:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return str(int(value)) if float(value).is_integer() else str(value)
    return value


def _same(old: Any, new: Any) -> bool:
    if isinstance(old, list) and isinstance(new, list):
        return {str(_fold(v)) for v in old} == {str(_fold(v)) for v in new}
    return bool(_fold(old) == _fold(new))


class _Planner:
    """Collects the outcome of each field's merge; one instance per plan."""

    def __init__(self, settings: Settings, record_type: RecordType) -> None:
        rules = settings.sync.for_record(record_type).protected_fields
        self.protected: dict[str, bool] = {rule.field: rule.only_fill_when_blank for rule in rules}
        self.protected.update(dict.fromkeys(KEPT_ON_MERGE, True))
        self.changed: list[str] = []
        self.skipped: list[str] = []

    def may_write(self, ref: str, old: Any) -> bool:
        """Whether a changed value may be written to `ref` (records a protected skip)."""
        if ref not in self.protected:
            return True
        if self.protected[ref] and is_blank(old):
            return True
        self.skipped.append(ref)
        return False

    def scalar(self, ref: str, old: Any, new: Any) -> Any:
        """The value to PUT for `ref`."""
        if is_blank(new) or _same(old, new) or not self.may_write(ref, old):
            return old
        self.changed.append(ref)
        return new

    def listing(self, ref: str, old: list[Any] | None, new: list[Any], key: Any = _fold) -> list[Any] | None:
        """`old` plus the entries of `new` it lacks (by `key`)."""
        current = list(old or [])
        seen = {key(item) for item in current}
        added: list[Any] = []
        for item in new:
            if key(item) not in seen:
                seen.add(key(item))
                added.append(item)
        if not added or not self.may_write(ref, current):
            return old
        self.changed.append(ref)
        return current + added


def _embedded_rows(existing: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    embedded = existing.get("_embedded")
    rows = embedded.get(kind) if isinstance(embedded, dict) else None
    return [row for row in rows if isinstance(row, dict)] if isinstance(rows, list) else []


def _existing_emails(existing: dict[str, Any], read: CandidateRead | ContactRead) -> list[str]:
    """The record's addresses, primary first: the sub-record rows, then any the read shape adds.

    Entries are kept as CATS has them (even repeated): a merge adds, it never tidies away.
    """
    rows = sorted(_embedded_rows(existing, "emails"), key=lambda row: not row.get("is_primary"))
    emails = [
        row["email"].strip() for row in rows if isinstance(row.get("email"), str) and row["email"].strip()
    ]
    known = {email.casefold() for email in emails}
    primary, secondary = (read.emails.primary or "").strip(), (read.emails.secondary or "").strip()
    if primary and primary.casefold() not in known:
        emails.insert(0, primary)
    if secondary and secondary.casefold() not in known:
        emails.append(secondary)
    return emails


def _existing_phones(existing: dict[str, Any], read: CandidateRead | ContactRead) -> list[dict[str, Any]]:
    """The record's phones in write shape: the sub-record rows (they keep type and extension), then any
    number of the read shape's map they lack; kept as CATS has them, like emails."""
    phones: list[dict[str, Any]] = []
    for row in _embedded_rows(existing, "phones"):
        if isinstance(row.get("number"), str) and row["number"].strip():
            phone = {"number": row["number"].strip(), "type": str(row.get("type") or "other").lower()}
            if row.get("extension"):
                phone["extension"] = str(row["extension"])
            phones.append(phone)
    from_rows = list(phones)
    for key, number in read.phones.items():
        if number and number.strip() and not any(same_phone(number, row["number"]) for row in from_rows):
            phones.append({"number": number.strip(), "type": _PHONE_KEYS.get(key.lower(), "other")})
    return phones


def _read(
    existing: dict[str, Any], desired: dict[str, Any], record_type: RecordType
) -> tuple[CandidateRead | ContactRead, list[str]]:
    """The record, and the required fields it lacked and took from the person (CATS needs them on a PUT)."""
    model = CandidateRead if record_type == "candidates" else ContactRead
    read = model.model_validate(existing)
    missing = {
        ref: desired[ref]
        for ref in _REQUIRED[record_type]
        if is_blank(getattr(read, ref)) and not is_blank(desired.get(ref))
    }
    return (read.model_copy(update=missing) if missing else read), list(missing)


def _merge_customs(
    planner: _Planner, base: dict[str, Any], desired: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    rows = {int(row["id"]): row["value"] for row in base.get("custom_fields") or []}
    for row in desired:
        definition_id = int(row["id"])
        ref = custom_ref(definition_id)
        old, new = rows.get(definition_id), row["value"]
        if isinstance(new, list):
            current = old if isinstance(old, list) else ([] if is_blank(old) else [old])
            merged = planner.listing(ref, current, new)
            if ref in planner.changed:
                rows[definition_id] = merged
        else:
            value = planner.scalar(ref, old, new)
            if value is not None:
                rows[definition_id] = value
    return [{"id": definition_id, "value": value} for definition_id, value in rows.items()]


def _email_key(email: Any) -> Any:
    return email.casefold() if isinstance(email, str) else email


def _phone_key(phones: list[dict[str, Any]]) -> Any:
    def key(phone: dict[str, Any]) -> str:
        for known in phones:
            if same_phone(known["number"], phone["number"]):
                return str(known["number"])
        return str(phone["number"])

    return key


def plan_merge(
    existing: dict[str, Any], desired: dict[str, Any], record_type: RecordType, settings: Settings
) -> MergePlan:
    """The update that merges `desired` into the `existing` record (module docstring)."""
    read, filled = _read(existing, desired, record_type)
    base = read.to_update().to_body()
    planner = _Planner(settings, record_type)
    planner.changed.extend(filled)
    body = dict(base)

    for key, new in desired.items():
        if key in ("emails", "phones"):
            continue
        if key == "address" and isinstance(new, dict):
            address = dict(base.get("address") or {})
            for part, value in new.items():
                address[part] = planner.scalar(f"address.{part}", address.get(part), value)
            address = {part: value for part, value in address.items() if value is not None}
            if address:
                body["address"] = address
        elif key == "custom_fields" and isinstance(new, list):
            body["custom_fields"] = _merge_customs(planner, base, new) or None
        elif key == "social_media_urls" and isinstance(new, list):
            body[key] = planner.listing(key, base.get(key), new, key=url_identity)
        else:
            body[key] = planner.scalar(key, base.get(key), new)

    subrecords: list[SubrecordOp] = []
    old_emails = _existing_emails(existing, read)
    new_emails = [row["email"] for row in desired.get("emails") or []]
    merged_emails = planner.listing("emails", old_emails, new_emails, key=_email_key) or old_emails
    old_phones = _existing_phones(existing, read)
    merged_phones = (
        planner.listing("phones", old_phones, list(desired.get("phones") or []), key=_phone_key(old_phones))
        or old_phones
    )
    if record_type == "candidates":
        path = f"/candidates/{read.id}"
        for index, email in enumerate(merged_emails[len(old_emails) :]):
            is_primary = not old_emails and index == 0
            subrecords.append(
                SubrecordOp(
                    kind="emails", path=f"{path}/emails", body={"email": email, "is_primary": is_primary}
                )
            )
        for phone in merged_phones[len(old_phones) :]:
            subrecords.append(SubrecordOp(kind="phones", path=f"{path}/phones", body=dict(phone)))
    else:
        if merged_emails:
            body["emails"] = [{"email": e, "is_primary": i == 0} for i, e in enumerate(merged_emails)]
        if merged_phones:
            body["phones"] = merged_phones

    put_changes = [
        ref for ref in planner.changed if not (record_type == "candidates" and ref in ("emails", "phones"))
    ]
    put_body: dict[str, Any] | None = None
    if put_changes:
        model = CandidateUpdate if record_type == "candidates" else ContactWrite
        put_body = model.model_validate({k: v for k, v in body.items() if v is not None}).to_body()
    return MergePlan(
        body=put_body,
        changed_fields=_unique(planner.changed),
        subrecords=subrecords,
        skipped_protected=_unique(planner.skipped),
    )


def _unique(refs: list[str]) -> list[str]:
    return list(dict.fromkeys(refs))
