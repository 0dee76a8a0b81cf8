"""Team operations: the company aliases shared with the team, and an undo of one (the settings window's)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from companion.errors import TeamNotJoinedError
from companion.protocol import JsonObject
from companion.server.operations.base import Call
from companion.services.team_aliases import TeamAliases
from companion.store.ids import MAX_ROW_ID

#: The most aliases one `team.aliases` answer lists.
MAX_ALIASES = 500


class AliasListParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    limit: int = Field(default=100, ge=1, le=MAX_ALIASES)
    include_undone: bool = False


class AliasUndoParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    kind: Literal["name", "domain", "linkedin"]
    key: str = Field(min_length=1, max_length=2000)
    company_id: int = Field(ge=1, le=MAX_ROW_ID, strict=True)


def _shared(call: Call) -> TeamAliases:
    if call.companion.team_aliases is None:
        raise TeamNotJoinedError("this companion is not in a team: there are no shared aliases")
    return call.companion.team_aliases


async def aliases(call: Call, params: AliasListParams) -> JsonObject:
    """The company aliases confirmed for the team: who confirmed each and when, and who undid it."""
    found = await _shared(call).shared(params.limit, include_undone=params.include_undone)
    reader = call.companion.lookup.reader
    return {
        "aliases": [
            {
                "kind": alias.kind,
                "key": alias.key,
                "company_id": alias.company_id,
                "company_name": row[1] if (row := reader.match_row(alias.company_id)) else None,
                "confirmed_by": alias.confirmed_by,
                "confirmed_at": alias.confirmed_at.isoformat(),
                "undone_by": alias.undone_by,
                "undone_at": alias.undone_at.isoformat() if alias.undone_at else None,
            }
            for alias in found
        ]
    }


async def alias_undo(call: Call, params: AliasUndoParams) -> JsonObject:
    """Undo a company confirmed for the team (an admin: anyone's; a member: their own)."""
    undone = await _shared(call).undo(params.kind, params.key, params.company_id)
    return {"undone": undone}
