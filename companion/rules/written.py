"""Fingerprints of the fields a create wrote, so a teammate can tell its merge would change nothing.

The member that creates a person under a team claim records, with the CATS id, one salted hash per
top-level field of its create's body (companion.team.claims). A teammate that lost the claim and
holds the same person compares its own body with them: when each of its fields was written with
the same value moments ago, a merge into that record could add nothing (companion.rules.merge
writes only what differs), so it spends neither the GET nor the PUT. Any field the winner did not
write, or wrote otherwise, and the teammate merges as always. Hashes, not values: the team
database shows no person's details; a hash only confirms a value someone already guessed (which a
team member could read in CATS anyway).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any, Final

#: Hex digits kept of each SHA-256: 96 bits, far beyond any chance of two values colliding.
DIGEST_LENGTH: Final = 24


def _digest(salt: str, field: str, value: Any) -> str:
    # Canonical JSON: the same value gives the same text whatever order its keys were built in.
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    text = f"{salt}\x00{field}\x00{canonical}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:DIGEST_LENGTH]


def claim_salt(claim_id: int) -> str:
    """The salt of a team claim's fingerprint: its id, so equal values on two claims hash apart."""
    return f"claim:{claim_id}"


def fingerprint(body: Mapping[str, Any], salt: str) -> dict[str, str]:
    """Each field of `body` -> its salted digest (the salt: the claim, so digests do not compare across)."""
    return {field: _digest(salt, field, value) for field, value in body.items()}


def already_written(body: Mapping[str, Any], written: Mapping[str, str], salt: str) -> bool:
    """Whether every field of `body` is in `written` with the same value: a merge would change nothing."""
    return all(written.get(field) == _digest(salt, field, value) for field, value in body.items())
