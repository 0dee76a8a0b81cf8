"""What the outbox worker needs of the team's person claims (docs/teams.md, "Each person created once").

The worker depends on this Protocol only; companion.team.claims_link implements it on the team
database. Every method raises TeamError (or a subclass) when the database cannot answer in its short
bound: the worker then falls back to creating with CATS's duplicate check and says so on the item.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Protocol

from companion.settings.fields import RecordType
from companion.team.claims import Claim, ClaimResult

#: Called with a claim's id when the team database announces a change of it (created, abandoned).
ClaimChanged = Callable[[int], None]


class TeamClaims(Protocol):
    """Person claims as one member of the team makes and follows them."""

    @property
    def member(self) -> str:
        """This member's login role: the `claimed_by` of its own claims."""

    def on_change(self, callback: ClaimChanged | None) -> None:
        """Call `callback` on every announced change of a claim (the worker's waiting items wake)."""

    async def claim(self, keys: Iterable[str], record_type: RecordType) -> ClaimResult: ...

    async def get(self, claim_id: int) -> Claim | None: ...

    async def renew(self, claim: Claim) -> Claim: ...

    async def record_created(
        self, claim: Claim, cats_id: int, written: Mapping[str, str] | None = None
    ) -> bool: ...

    async def abandon(self, claim: Claim) -> None: ...
