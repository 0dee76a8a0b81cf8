"""The CATS account's own operations: the account probe (`cats-companion cats probe` through the daemon)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from companion.protocol import JsonObject
from companion.server.operations.base import Call


class ProbeParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    #: Also the write probes on one probe company, deleted afterwards (asked for explicitly).
    write_probes: bool = False


async def probe(call: Call, params: ProbeParams) -> JsonObject:
    """Probe this CATS account, store the answers as its profile and follow them at once."""
    report = await call.companion.check_account(write_probes=params.write_probes)
    return report.model_dump(mode="json")
