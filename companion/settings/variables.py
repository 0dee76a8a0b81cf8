"""Our person variables (what the extension collects about a person): key, kind, value kind and label.

A string variable holds one value and maps to exactly one CATS field; a list variable holds
several values and maps to one or more fields; a social variable is one profile URL and maps to
one field (usually an entry of `social_media_urls`). The field mapping settings have one entry
per variable here, and the push engine reads the person's values under the same keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final


class VariableKind(StrEnum):
    STRING = "string"
    LIST = "list"
    SOCIAL = "social"


class ValueKind(StrEnum):
    """What one value of a variable is, which decides the CATS fields it fits."""

    TEXT = "text"
    EMAIL = "email"
    PHONE = "phone"
    URL = "url"


@dataclass(frozen=True)
class Variable:
    key: str
    kind: VariableKind
    value: ValueKind
    label: str
    description: str


def _string(key: str, label: str, description: str) -> Variable:
    return Variable(key, VariableKind.STRING, ValueKind.TEXT, label, description)


def _list(key: str, value: ValueKind, label: str, description: str) -> Variable:
    return Variable(key, VariableKind.LIST, value, label, description)


def _social(key: str, label: str, description: str) -> Variable:
    return Variable(key, VariableKind.SOCIAL, ValueKind.URL, label, description)


VARIABLES: Final[tuple[Variable, ...]] = (
    _string("first_name", "First name", "Given name"),
    _string("last_name", "Last name", "Family name"),
    _string("full_name", "Full name", "The name as shown on the profile"),
    _string("title", "Job title", "Current job title"),
    _string("headline", "Headline", "The one-line headline under the name"),
    _string("current_company", "Current company", "Name of the current employer"),
    _string("location", "Location", "Where the person is, as shown on the profile"),
    _string("summary", "Summary", "The profile's about / summary text"),
    _string("source", "Source", "Where the person was found, e.g. 'LinkedIn'"),
    _list("emails", ValueKind.EMAIL, "Emails", "Email addresses, the first is the primary one"),
    _list("phones", ValueKind.PHONE, "Phones", "Phone numbers, with their country code"),
    _list("skills", ValueKind.TEXT, "Skills", "Skills listed on the profile"),
    _list("languages", ValueKind.TEXT, "Languages", "Languages the person speaks"),
    _list("education", ValueKind.TEXT, "Education", "Schools and degrees"),
    _social("linkedin", "LinkedIn", "LinkedIn profile URL"),
    _social("twitter", "X / Twitter", "X (Twitter) profile URL"),
    _social("github", "GitHub", "GitHub profile URL"),
    _social("facebook", "Facebook", "Facebook profile URL"),
    _social("website", "Website", "Personal website or portfolio URL"),
)

BY_KEY: Final[dict[str, Variable]] = {variable.key: variable for variable in VARIABLES}


def variables_of(kind: VariableKind) -> tuple[Variable, ...]:
    return tuple(variable for variable in VARIABLES if variable.kind is kind)
