"""The identity keys a team claims before creating a person in CATS: LinkedIn member URL and emails.

A key is `linkedin:<linkedin_identity>` (companion.rules.urls: `uk.linkedin.com/in/Ada/?trk=x`,
`m.linkedin.com/in/ada/details/skills` and `www.linkedin.com/in/ada` are all
`linkedin:linkedin.com/in/ada`) or `email:<address, NFC, case-folded>`. One person has every key
known for them; a claim covers all of them at once (companion.team.claims), so a claim by email
and a claim by URL collide as soon as one push knows both. Names, phones and other profile URLs
are not keys: two people can share them. A person with no key cannot be claimed; the caller falls
back to CATS's own duplicate check.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

from companion.rules.person import Person, is_email
from companion.rules.urls import linkedin_identity

LINKEDIN_PREFIX: Final = "linkedin:"
EMAIL_PREFIX: Final = "email:"
#: The shape of a key (the team schema's CHECK says the same): a prefix, no whitespace, and
#: nothing that case-folding or NFC would still change (checked in `is_claim_key`).
_SHAPE: Final = re.compile(r"^(linkedin:linkedin\.com/(in|pub|sales/lead)/\S+|email:[^@\s]+@[^@\s]+)$")


def linkedin_claim_key(url: str) -> str | None:
    """`https://uk.linkedin.com/in/Ada/?trk=x` -> `linkedin:linkedin.com/in/ada`; None if not a member."""
    identity = linkedin_identity(url)
    return f"{LINKEDIN_PREFIX}{identity}" if identity is not None else None


def email_claim_key(email: str) -> str | None:
    """` Ada@Example.COM ` -> `email:ada@example.com`; None when it is not an email address."""
    text = email.strip()
    if not is_email(text):
        return None
    return f"{EMAIL_PREFIX}{unicodedata.normalize('NFC', text).casefold()}"


def person_claim_keys(person: Person) -> tuple[str, ...]:
    """Every key of `person`, sorted and without repeats; () when there is none."""
    keys: set[str] = set()
    url = person.linkedin_url()
    if url is not None:
        linkedin = linkedin_claim_key(url)
        if linkedin is not None:
            keys.add(linkedin)
    for email in person.all_emails():
        key = email_claim_key(email)
        if key is not None:
            keys.add(key)
    return tuple(sorted(keys))


def is_claim_key(text: str) -> bool:
    """True when `text` is a key as the functions above make it (what companion.team.claims accepts)."""
    if not _SHAPE.match(text) or text.endswith("/"):
        return False
    body = text.removeprefix(LINKEDIN_PREFIX).removeprefix(EMAIL_PREFIX)
    if text.startswith(EMAIL_PREFIX):
        return unicodedata.normalize("NFC", body).casefold() == body
    return unicodedata.normalize("NFC", body).lower() == body
