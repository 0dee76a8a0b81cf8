"""The team database's policy for the settings window: read with its revision, and an admin's write.

The window edits the policy it read and sends it back with that revision; the write is conditional
on it (companion.team.policy.write_policy), so an edit made over another admin's is refused with
policy.conflict (who changed it, when, the revision now) and nothing changes. PostgreSQL decides who
may write: a member's credentials are refused there (team.privileges), whatever team.json says.
The password is the keyring's (companion.team.credentials), or the daemon's `--team-password-file`;
it never reaches the window.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field

from companion.errors import TeamNotJoinedError, UnauthorizedError
from companion.protocol import JsonObject, NoParams
from companion.secret import DatabasePassword
from companion.server.operations.base import Call
from companion.settings.policy import POLICY_VERSION
from companion.team.local import TeamRecord
from companion.team.policy import PolicyRow, read_policy, write_policy

#: How long a write waits for this companion's own follower to apply it, so the answer shows it in force.
APPLY_WAIT: Final = 2.0


class PolicyWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: The whole policy in the site file's form: {"version", "defaults", "locked"}.
    policy: dict[str, Any]
    #: The revision the edit started from (what team.policy.get answered).
    revision: int = Field(ge=0)


def _record(call: Call) -> TeamRecord:
    link = call.companion.team
    if link is None:
        raise TeamNotJoinedError(
            "this companion is in no team; an admin invites you and you join with `cats-companion team join`"
        )
    return link.record


async def _password(call: Call, record: TeamRecord) -> DatabasePassword:
    # The keyring's, or the one the daemon was given (`serve --team-password-file`).
    password = await call.companion.config.team_password_source(record)()
    if password is None:
        raise TeamNotJoinedError(
            f"no password for the team database {record.dsn} is in the keyring; "
            "join the team again (`cats-companion team join`)"
        )
    return password


def _describe(record: TeamRecord, row: PolicyRow) -> JsonObject:
    empty = {"version": POLICY_VERSION, "defaults": {}, "locked": []}
    return {
        "team_id": record.team_id,
        "role": record.role,
        # What team.json says; PostgreSQL has the last word on a write.
        "editable": record.access == "admin",
        "policy": row.document or empty,
        "revision": row.revision,
        "changed_by": row.changed_by,
        "changed_at": row.changed_at.isoformat(),
    }


async def policy_get(call: Call, params: NoParams) -> JsonObject:
    """The team database's policy now, with the revision an edit of it starts from and who changed it last."""
    record = _record(call)
    return _describe(record, await read_policy(record.team_dsn(), await _password(call, record)))


async def policy_put(call: Call, params: PolicyWrite) -> JsonObject:
    """(settings window only) Replace the team database's policy if it is still at `revision`."""
    if not call.window:
        # The team's defaults and locks bind every member: only a person at the settings window edits them.
        raise UnauthorizedError("the team policy is edited in the settings window only")
    record = _record(call)
    row = await write_policy(
        record.team_dsn(), await _password(call, record), params.policy, expected_revision=params.revision
    )
    follower = call.companion.team_policy
    if follower is not None:
        # NOTIFY brings it back to this companion as to every other; wait briefly so the answer (and the
        # window's next read of the settings) shows it in force. Applied later if the wait runs out.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(APPLY_WAIT):
                await follower.wait_for_revision(row.revision)
    return {**_describe(record, row), "team": call.companion.team_status()}
