"""Realistic, reproducible sandbox data: users, custom fields, companies from real names, their people.

Company names come from the IEEE registry extract in ``data/organisations.txt`` (see
``data/SOURCE.md``); people, places and notes are drawn from ``data/vocabulary.json`` with a
seeded random generator, so one ``random_seed`` always gives the same data. About 2% of the
companies are deliberate near-duplicates of another one ("Cisco Systems, Inc" next to
"Cisco Systems Inc", the same website twice), because a real CATS account has them and the
companion must spot them.

Everything is written through the store's own create methods inside one `bulk()` transaction,
so seeded data passes the same validation as data written over HTTP.
"""

from __future__ import annotations

import functools
import random
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any, Final

from anyascii import anyascii
from pydantic import BaseModel, ConfigDict

from companion.sandbox.store import SandboxStore

#: Share of companies that are near-duplicates of an earlier one.
NEAR_DUPLICATE_RATE: Final = 0.02
#: Share of new companies seeded without a website (CATS leaves it optional; many records lack one).
NO_WEBSITE_RATE: Final = 0.08

_ACTIVITY_TYPES: Final = (
    "email",
    "meeting",
    "call_talked",
    "call_lvm",
    "call_missed",
    "text_message",
    "other",
)
_SELECTION_TYPES: Final = frozenset({"dropdown", "radio", "checkboxes"})
#: Reserved example domains for candidates' private addresses, so no generated address is real.
_PERSONAL_DOMAINS: Final = ("example.com", "example.org", "example.net")
#: Trailing legal forms, stripped (repeatedly: "Co., Ltd.") to derive a website from a name.
_LEGAL_FORM: Final = re.compile(
    r"[\s,]*\b(?:inc|incorporated|ltd|limited|llc|llp|plc|gmbh|ag|kg|co|corp|corporation|company|"
    r"b\.?v|n\.?v|s\.?a|s\.?a\.?s|s\.?r\.?l|s\.?p\.?a|ab|oy|as|asa|a/s|pty|pte|jsc|k\.?k|sdn bhd|"
    r"group|holdings?)\b\.?\s*$",
    re.IGNORECASE,
)
#: The legal form at the end of a name, with what separates it, to spell it another way.
_SUFFIX: Final = re.compile(
    r"(?P<sep>,?\s+)(?P<suffix>(?:inc|ltd|llc|gmbh|b\.?v|ag|s\.?a|corp|co|limited|corporation|ab|oy)\.?)$",
    re.IGNORECASE,
)


class _Country(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str
    tld: str
    dial: str
    number_first: bool
    weight: int
    #: (city, state or region, postal-code pattern: # a digit, @ a capital letter)
    cities: list[tuple[str, str, str]]
    streets: list[str]


class _FieldDefinition(BaseModel):
    name: str
    type: str
    selections: list[str] = []


class _Vocabulary(BaseModel):
    """``data/vocabulary.json``: the hand-written word lists the generator draws from."""

    model_config = ConfigDict(frozen=True)

    countries: list[_Country]
    first_names: list[str]
    last_names: list[str]
    users: list[tuple[str, str, str]]
    contact_titles: list[str]
    candidate_titles: list[str]
    technologies: list[str]
    company_notes: list[str]
    activity_notes: list[str]
    candidate_sources: list[str]
    custom_fields: dict[str, list[_FieldDefinition]]


def _data_file(name: str) -> str:
    return resources.files("companion.sandbox").joinpath(f"data/{name}").read_text("utf-8")


@functools.cache
def organisation_names() -> tuple[str, ...]:
    """The real organisation names shipped with the sandbox (see data/SOURCE.md)."""
    return tuple(line for line in _data_file("organisations.txt").splitlines() if line.strip())


@functools.cache
def _vocabulary() -> _Vocabulary:
    return _Vocabulary.model_validate_json(_data_file("vocabulary.json"))


@dataclass
class SeedSummary:
    """What one `seed()` call created."""

    users: int = 0
    custom_fields: int = 0
    companies: int = 0
    contacts: int = 0
    candidates: int = 0
    activities: int = 0
    #: (original id, near-duplicate id) pairs, so tests and demos can find them.
    near_duplicates: list[tuple[int, int]] = field(default_factory=list)


def website_for(name: str, tld: str) -> str:
    """A plausible website from a company name: legal form dropped, ASCII, first two words."""
    base = name
    while (stripped := _LEGAL_FORM.sub("", base)) != base and stripped.strip():
        base = stripped
    words = re.findall(r"[a-z0-9]+", anyascii(base).lower())
    slug = "".join(words[:2]) or "company"
    return f"https://www.{slug}.{tld}"


def near_duplicate_name(name: str, rng: random.Random) -> str:
    """Another spelling of the same organisation, the kind people type into a CRM."""
    variants: list[str] = []
    match = _SUFFIX.search(name)
    if match:
        head, sep, suffix = name[: match.start()], match.group("sep"), match.group("suffix")
        variants.append(f"{head}{' ' if ',' in sep else ', '}{suffix}")  # comma or none
        variants.append(f"{head}{sep}{suffix[:-1] if suffix.endswith('.') else suffix + '.'}")  # dot or none
        variants.append(head)  # legal form left out
    else:
        variants.append(f"{name} Inc.")  # legal form added
    if "&" in name:
        variants.append(name.replace("&", "and"))
    elif " and " in name:
        variants.append(name.replace(" and ", " & "))
    variants.append(name.upper() if name != name.upper() else name.title())  # shouted, or not
    return rng.choice([v for v in variants if v.strip() and v != name])


def _fill(pattern: str, rng: random.Random) -> str:
    return "".join(
        str(rng.randrange(10)) if ch == "#" else chr(65 + rng.randrange(26)) if ch == "@" else ch
        for ch in pattern
    )


def _email_local(first: str, last: str) -> str:
    return re.sub(r"[^a-z0-9.]", "", anyascii(f"{first}.{last}").lower())


@dataclass
class _Company:
    id: int
    name: str
    website: str | None
    owner_id: int
    country: _Country


class _Seeder:
    def __init__(self, store: SandboxStore, rng: random.Random, now: datetime) -> None:
        self.store = store
        self.rng = rng
        self.now = now
        self.words = _vocabulary()
        self.summary = SeedSummary()
        self.user_ids: list[int] = []
        #: resource -> [(definition id, type, selection labels)]
        self.fields: dict[str, list[tuple[int, str, list[str]]]] = {}
        self._country_weights = [c.weight for c in self.words.countries]
        # Companies start in the first status; some move on, as accounts do.
        self._later_statuses = [s["id"] for s in store.list_statuses("companies")[1:]]

    # --- what every record refers to -------------------------------------------------------

    def users(self) -> None:
        existing = self.store.list_users(1, 100).items
        if existing:
            self.user_ids = [user["id"] for user in existing]
            return
        for first, last, title in self.words.users:
            username = _email_local(first, last) + "@sandbox.example"
            self.user_ids.append(
                self.store.create_user(username=username, first_name=first, last_name=last, title=title)
            )
            self.summary.users += 1

    def custom_fields(self) -> None:
        for resource, definitions in self.words.custom_fields.items():
            existing = self.store.list_custom_fields(resource, 1, 100).items
            if existing:
                # A later seed fills in whatever definitions are there, whoever made them.
                self.fields[resource] = [
                    (d["id"], d["field"]["type"], [s["label"] for s in d["field"].get("selections", [])])
                    for d in existing
                ]
                continue
            self.fields[resource] = []
            for definition in definitions:
                field_id = self.store.create_custom_field(
                    resource,
                    name=definition.name,
                    field_type=definition.type,
                    selections=definition.selections or None,
                    comment=f"Seeded {definition.type} field",
                )
                self.fields[resource].append((field_id, definition.type, definition.selections))
                self.summary.custom_fields += 1

    # --- pieces of records ------------------------------------------------------------------

    def _custom_values(self, resource: str) -> list[dict[str, Any]]:
        rng = self.rng
        values: list[dict[str, Any]] = []
        for field_id, field_type, labels in self.fields[resource]:
            if rng.random() < 0.4 or (field_type in _SELECTION_TYPES and not labels):
                continue
            value: Any
            if field_type == "text":
                value = f"{chr(65 + rng.randrange(26))}{rng.randrange(1000, 9999)}"
            elif field_type == "textarea":
                value = rng.choice(self.words.activity_notes)
            elif field_type == "checkbox":
                value = rng.random() < 0.5
            elif field_type == "date":
                value = (self.now - timedelta(days=rng.randrange(-90, 900))).date().isoformat()
            elif field_type in ("dropdown", "radio"):
                value = rng.choice(labels)
            elif field_type == "checkboxes":
                chosen = set(rng.sample(labels, rng.randrange(1, len(labels) + 1)))
                value = [label for label in labels if label in chosen]
            elif field_type == "user":
                value = rng.choice(self.user_ids)
            else:
                value = rng.randrange(1, 5000)
            values.append({"id": field_id, "value": value})
        return values

    def _address(self, country: _Country) -> dict[str, Any]:
        city, state, postal = self.rng.choice(country.cities)
        number, street = self.rng.randrange(1, 400), self.rng.choice(country.streets)
        return {
            "street": f"{number} {street}" if country.number_first else f"{street} {number}",
            "city": city,
            "state": state,
            "postal_code": _fill(postal, self.rng),
        }

    def _phone(self, country: _Country, kind: str) -> dict[str, Any]:
        # CATS parses a number correctly only when it starts with the country code.
        digits = _fill("### ####" if kind == "main" else "## ### ####", self.rng)
        return {"number": f"+{country.dial} {self.rng.randrange(10, 99)} {digits}", "type": kind}

    def _person(self) -> tuple[str, str]:
        return self.rng.choice(self.words.first_names), self.rng.choice(self.words.last_names)

    def _maybe_activity(self, resource: str, record_id: int) -> None:
        if self.rng.random() >= 0.15:
            return
        when = self.now - timedelta(days=self.rng.randrange(0, 365), minutes=self.rng.randrange(0, 1440))
        self.store.create_activity(
            resource,
            record_id,
            {
                "type": self.rng.choice(_ACTIVITY_TYPES),
                "notes": self.rng.choice(self.words.activity_notes),
                "date": when.replace(microsecond=0).isoformat(),
            },
        )
        self.summary.activities += 1

    # --- records ----------------------------------------------------------------------------

    def company(self, name: str, website: str | None, country: _Country) -> _Company:
        rng = self.rng
        owner_id = rng.choice(self.user_ids)
        body: dict[str, Any] = {
            "name": name,
            "owner_id": owner_id,
            "entered_by_id": rng.choice(self.user_ids),
            "address": self._address(country),
            "country_code": country.code,
            "phones": [self._phone(country, "main")],
            "notes": rng.choice(self.words.company_notes),
            "is_hot": rng.random() < 0.1,
            "key_technologies": ", ".join(rng.sample(self.words.technologies, rng.randrange(1, 4))),
            "custom_fields": self._custom_values("companies"),
        }
        if website is not None:
            body["website"] = website
        company_id = self.store.create_record("companies", body)
        self.summary.companies += 1
        if self._later_statuses and rng.random() < 0.15:
            self.store.change_status("companies", company_id, {"status_id": rng.choice(self._later_statuses)})
        return _Company(company_id, name, website, owner_id, country)

    def contacts(self, company: _Company) -> list[int]:
        rng = self.rng
        domain = company.website.split("www.", 1)[-1] if company.website else None
        ids: list[int] = []
        for _ in range(rng.choices((0, 1, 2, 3), weights=(5, 3, 1, 1))[0]):
            first, last = self._person()
            body: dict[str, Any] = {
                "first_name": first,
                "last_name": last,
                "title": rng.choice(self.words.contact_titles),
                "owner_id": company.owner_id,
                "company_id": company.id,
                "address": self._address(company.country),
                "country_code": company.country.code,
                "phones": [self._phone(company.country, "work")],
                "custom_fields": self._custom_values("contacts"),
            }
            if rng.random() < 0.5:
                body["phones"].append(self._phone(company.country, "mobile"))
            if domain:
                # The company's own domain: that is how a person's email leads to their company.
                body["emails"] = [{"email": f"{_email_local(first, last)}@{domain}", "is_primary": True}]
            if ids and rng.random() < 0.5:
                body["reports_to_id"] = ids[0]
            contact_id = self.store.create_record("contacts", body)
            ids.append(contact_id)
            self.summary.contacts += 1
            self._maybe_activity("contacts", contact_id)
        if ids and rng.random() < 0.5:
            # The key contact can only be named once the contact exists, as in CATS.
            self.store.update_record(
                "companies",
                company.id,
                {"name": company.name, "owner_id": company.owner_id, "billing_contact_id": ids[0]},
            )
        return ids

    def candidates(self, company: _Company, contact_ids: list[int]) -> None:
        rng = self.rng
        for _ in range(rng.choices((0, 1, 2), weights=(7, 2, 1))[0]):
            first, last = self._person()
            address = f"{_email_local(first, last)}{rng.randrange(1, 999)}@{rng.choice(_PERSONAL_DOMAINS)}"
            body: dict[str, Any] = {
                "first_name": first,
                "last_name": last,
                "title": rng.choice(self.words.candidate_titles),
                "current_employer": company.name,
                "emails": [{"email": address, "is_primary": True}],
                "phones": [self._phone(company.country, "mobile")],
                "address": self._address(company.country),
                "country_code": company.country.code,
                "key_skills": ", ".join(rng.sample(self.words.technologies, rng.randrange(2, 5))),
                "source": rng.choice(self.words.candidate_sources),
                "owner_id": rng.choice(self.user_ids),
                "is_hot": rng.random() < 0.1,
                "is_willing_to_relocate": rng.random() < 0.3,
                "desired_pay": str(rng.randrange(40, 160) * 1000),
                "custom_fields": self._custom_values("candidates"),
            }
            if contact_ids and rng.random() < 0.3:
                body["contact_id"] = rng.choice(contact_ids)
            candidate_id = self.store.create_record("candidates", body)
            self.summary.candidates += 1
            self._maybe_activity("candidates", candidate_id)

    def run(self, companies: int) -> None:
        rng = self.rng
        names = list(organisation_names())
        rng.shuffle(names)
        originals: list[_Company] = []
        qualifiers = ("", " Europe", " Americas", " Asia Pacific", " Holdings", " Group")
        for index in range(companies):
            if originals and rng.random() < NEAR_DUPLICATE_RATE:
                original = rng.choice(originals)
                company = self.company(
                    near_duplicate_name(original.name, rng), original.website, original.country
                )
                self.summary.near_duplicates.append((original.id, company.id))
            else:
                country = rng.choices(self.words.countries, weights=self._country_weights)[0]
                # More companies than names: go round again with a regional qualifier.
                lap, position = divmod(index, len(names))
                name = names[position] + qualifiers[lap % len(qualifiers)]
                website = website_for(name, "com" if rng.random() < 0.5 else country.tld)
                company = self.company(name, None if rng.random() < NO_WEBSITE_RATE else website, country)
                originals.append(company)
            self.candidates(company, self.contacts(company))


def seed(
    store: SandboxStore, *, companies: int, random_seed: int = 0, now: datetime | None = None
) -> SeedSummary:
    """Fill `store` with `companies` companies and the people around them; same seed, same data.

    Users and custom-field definitions are created only when the store has none; otherwise the
    new records use the ones there. All writes share one transaction.
    """
    if companies < 0:
        raise ValueError("the number of companies cannot be negative")
    seeder = _Seeder(store, random.Random(random_seed), now or datetime.now(UTC))
    with store.bulk():
        seeder.users()
        seeder.custom_fields()
        seeder.run(companies)
    return seeder.summary
