"""The soak's short form in each sandbox quirk, the account probed first: pushes through faults and a daemon
kill reach CATS exactly once however the account answers."""

from __future__ import annotations

import pytest

from companion.bench.soak import SoakConfig, soak
from companion.sandbox.quirks import Quirk

PUSHES = 12


@pytest.mark.timeout(120)
@pytest.mark.parametrize("quirk", list(Quirk), ids=lambda q: q.value)
async def test_the_short_soak_loses_and_doubles_nothing_in_each_quirk(quirk: Quirk) -> None:
    config = SoakConfig(
        pushes=PUSHES, fault_rate=0.2, kills=1, seed=5, deadline=90, quirks=frozenset({quirk})
    )
    result = await soak(config)
    assert result.kills == 1
    assert not result.deadline_reached
    assert result.accepted == PUSHES and result.refused == 0
    assert (result.lost, result.duplicates) == (0, 0)
    assert result.notes_found == result.notes_expected == PUSHES
    assert result.records_found == PUSHES
    assert result.synced == PUSHES and result.failed_items == 0
