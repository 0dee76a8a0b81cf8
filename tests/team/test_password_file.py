"""`cats-companion serve --team-password-file`: a daemon with no keyring entry for the team reads the team
database's password from a private file and joins the team; the password stays off its command line."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest

from companion.keystore import normalize_base_url
from companion.secret_file import write_secret_file
from companion.team import admin, local
from companion.team.site import CatsSite
from tests.fixtures.sandbox import SandboxHandle
from tests.team.conftest import ADMIN_PASSWORD, TeamDb


async def _team_state(home: Path) -> str | None:
    runtime = home / "run" / "daemon.json"
    if not runtime.exists():
        return None
    info = json.loads(runtime.read_text())
    connector = aiohttp.UnixConnector(path=info["socket"])
    headers = {"Authorization": f"Bearer {info['token']}"}
    try:
        async with aiohttp.ClientSession(connector=connector, headers=headers) as http:
            envelope = {"id": 1, "type": "status", "params": {}}
            async with http.post("http://localhost/api/native", json=envelope) as response:
                reply = await response.json()
    except aiohttp.ClientError:
        return None
    return str(reply["data"]["team"]["state"])


def _serve(home: Path, cats_url: str, *options: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "companion", "serve", "--cats-url", cats_url, *options],
        env={**os.environ, "CATS_COMPANION_HOME": str(home)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


@pytest.mark.timeout(60)
async def test_serve_with_a_team_password_file_connects_to_the_team_without_a_keyring_entry(
    team_db: TeamDb, sandbox: SandboxHandle, tmp_path: Path
) -> None:
    site = CatsSite(normalize_base_url(sandbox.url), None)
    outcome = await admin.init_team(team_db.dsn(), team_db.admin_password, site, companion_version="test")
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    record = local.TeamRecord(
        dsn=team_db.dsn().url,
        team_id=outcome.team.team_id,
        cats_base_url=site.base_url,
        cats_subdomain=None,
        role=team_db.admin,
        access="admin",
        joined_at=datetime.now(UTC),
    )
    local.save(record, home / "config" / local.TEAM_FILE)
    key_file = write_secret_file(tmp_path / "cats.key", sandbox.api_key)
    password_file = write_secret_file(tmp_path / "team-password", ADMIN_PASSWORD)
    process = _serve(
        home, sandbox.url, "--key-file", str(key_file), "--team-password-file", str(password_file)
    )
    state = None
    try:
        assert ADMIN_PASSWORD not in " ".join(map(str, process.args))  # type: ignore[arg-type]
        async with asyncio.timeout(45):
            while state != "connected":
                state = await _team_state(home)
                await asyncio.sleep(0.05)
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    assert state == "connected"
    assert process.returncode == 0
    assert ADMIN_PASSWORD not in (out + err).decode()
