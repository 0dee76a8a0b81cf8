"""`cats-companion demo --team`: a private PostgreSQL cluster, the sandbox and three daemons that joined the
team, with what to look at printed; Ctrl-C stops everything and removes its files."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from companion.nmhost.locations import read_daemon_info
from companion.team.local_cluster import find_bindir


async def _ask(home: Path, message_type: str) -> dict[str, Any]:
    """The data of one native message to the daemon whose home is `home`."""
    info = read_daemon_info(str(home / "run"))
    assert info is not None and info.socket is not None
    connector = aiohttp.UnixConnector(path=info.socket)
    headers = {"Authorization": f"Bearer {info.token}"}
    async with aiohttp.ClientSession(connector=connector, headers=headers) as http:
        envelope = {"id": 1, "type": message_type, "params": {}}
        async with http.post("http://localhost/api/native", json=envelope) as response:
            reply = await response.json()
    assert reply["ok"], reply
    data: dict[str, Any] = reply["data"]
    return data


@pytest.mark.timeout(150)
async def test_the_team_demo_starts_three_members_that_joined_says_how_to_open_each_and_stops_on_ctrl_c(
    tmp_path: Path,
) -> None:
    if find_bindir() is None:
        pytest.skip(
            "PostgreSQL's server binaries (initdb, pg_ctl) are not installed; ./dev test installs them"
        )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "companion",
        "demo",
        "--team",
        "--seed",
        "50",
        "--stop-after",
        "100",
        "--no-install-host",
        env={**os.environ, "CATS_COMPANION_HOME": str(tmp_path / "home")},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    lines: list[str] = []
    try:
        async with asyncio.timeout(90):
            while not lines or lines[-1] != "Press Ctrl-C to stop.":
                line = await process.stdout.readline()
                assert line, f"the demo ended early: {''.join(lines)}"
                lines.append(line.decode().rstrip("\n"))
        printed = "\n".join(lines)
        homes = {
            m[0]: Path(m[1])
            for m in re.findall(
                r"^\s+(\w+)\s+\w+\s+role .*\n.*\n.*\n\s+its data and log: (\S+)$", printed, re.M
            )
        }
        assert sorted(homes) == ["alice", "bob", "carol"], printed
        assert re.search(r"CATS_COMPANION_HOME=\S+/alice cats-companion settings --admin$", printed, re.M)
        assert re.search(r"CATS_COMPANION_HOME=\S+/bob cats-companion settings$", printed, re.M)
        assert "kill -9" in printed and "psql postgresql://" in printed

        teams = {name: (await _ask(home, "status"))["team"] for name, home in homes.items()}
        assert all(team["joined"] and team["state"] == "connected" for team in teams.values()), teams
        assert {name: team["access"] for name, team in teams.items()} == {
            "alice": "admin",
            "bob": "member",
            "carol": "member",
        }
        assert sum(bool(team["is_syncer"]) for team in teams.values()) == 1
        # The admin's companion reads the team policy with the password from its file (no keyring).
        assert (await _ask(homes["alice"], "team.policy.get"))["editable"] is True
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
        async with asyncio.timeout(60):
            rest, _ = await process.communicate()
    assert process.returncode == 0
    assert rest.decode().strip().endswith("stopped.")
    assert not any(home.exists() for home in homes.values())
