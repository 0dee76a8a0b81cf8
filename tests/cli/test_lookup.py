"""`cats-companion lookup`: the card's answer in a terminal, asked of the running daemon (its cache, no CATS
request), as text or as the extension's JSON, and a clear failure when the lookup is refused."""

from __future__ import annotations

import asyncio
import io
import json

import pytest

from companion.cli.lookup import lookup_command
from companion.cli.sync import sync_command
from tests.fixtures.daemon import DaemonFactory
from tests.fixtures.sandbox import SandboxFactory, SandboxHandle


async def lookup(name: str, *, as_json: bool = False) -> tuple[int, str]:
    out = io.StringIO()
    status = await asyncio.to_thread(lookup_command, name, as_json=as_json, out=out)
    return status, out.getvalue()


@pytest.fixture
async def synced(daemon_factory: DaemonFactory, sandbox_factory: SandboxFactory) -> SandboxHandle:
    sandbox = await sandbox_factory(seed=0, rate_limit=0)
    owner = sandbox.store.create_user(username="owner", first_name="Olive", last_name="Owner")
    for name in ("Steelcase Inc.", "Lutron Electronics Co., Inc.", "LUTRON ELECTRONICS CO., INC."):
        sandbox.store.create_record("companies", {"name": name, "owner_id": owner})
    await daemon_factory(key=sandbox.key, cats_base_url=sandbox.url, check_connection=False)
    status = await asyncio.to_thread(sync_command, cats_url=None, full=True, out=io.StringIO(), poll=0.02)
    assert status == 0
    return sandbox


async def test_a_name_in_the_cache_prints_the_match_its_card_fields_and_the_cache(
    synced: SandboxHandle,
) -> None:
    await synced.control.reset_counters()
    status, text = await lookup("Steelcase")
    assert status == 0, text
    lines = text.splitlines()
    assert lines[0].endswith(": Steelcase Inc. (CATS company 9001)")
    assert any(line.strip().startswith("Name:") and "Steelcase Inc." in line for line in lines)
    assert "Warning" not in text
    assert lines[-1].startswith("Cache: ready, 3 companies")
    # From the daemon's cache only: CATS is not asked.
    assert (await synced.control.counters())["requests_total"] == 0


async def test_a_look_alike_is_printed_as_a_warning_naming_the_other_company(synced: SandboxHandle) -> None:
    status, text = await lookup("Lutron Electronics")
    assert status == 0, text
    warnings = [line for line in text.splitlines() if line.startswith("Warning: ")]
    assert len(warnings) == 1 and "LUTRON ELECTRONICS CO., INC." in warnings[0]


async def test_json_is_the_daemons_reply_as_the_extension_gets_it(synced: SandboxHandle) -> None:
    status, text = await lookup("Steelcase", as_json=True)
    assert status == 0, text
    reply = json.loads(text)
    assert reply["match"]["company_name"] == "Steelcase Inc."
    assert reply["cache"]["state"] == "ready" and reply["warnings"] == []


async def test_a_name_not_in_the_cache_says_so(synced: SandboxHandle) -> None:
    status, text = await lookup("Nowhere Widgets Ltd")
    assert status == 0
    assert text.startswith("No CATS company matches 'Nowhere Widgets Ltd'.")


async def test_a_refused_lookup_fails_with_the_daemons_error(
    synced: SandboxHandle, capsys: pytest.CaptureFixture[str]
) -> None:
    status, text = await lookup("x" * 501, as_json=True)
    assert status == 1
    assert json.loads(text)["error"]["code"]
    assert "cats-companion lookup:" in capsys.readouterr().err
