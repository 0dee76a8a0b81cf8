"""The account probe against the sandbox: right answers for the default and each quirk, within its limits."""

from __future__ import annotations

import asyncio
import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from companion.cli import main as cli_main
from companion.sandbox.quirks import Quirk
from companion.services.account_probe import PROBE_NAME, READ_LIMIT, WRITE_LIMIT, probe_account
from companion.store import open_database
from companion.store.cats_profiles import load_profile
from tests.fixtures.daemon import DaemonFactory
from tests.fixtures.sandbox import SandboxFactory, SandboxHandle

#: The answers of the sandbox as it is by default.
DEFAULT_ANSWERS: dict[str, Any] = {
    "date_modified_filter": True,
    "bearer_accepted": False,
    "per_page_max": 100,
    "rate_limit": 500,
    "ids_as_strings": False,
    "duplicate_status": 409,
    "put_clears_omitted": False,
    "meeting_accepted": True,
}
#: What each quirk alone changes in them.
QUIRK_ANSWERS: dict[Quirk, dict[str, Any]] = {
    Quirk.DATE_FILTER_UNSUPPORTED: {"date_modified_filter": False},
    Quirk.BEARER_ACCEPTED: {"bearer_accepted": True},
    Quirk.DUPLICATE_200: {"duplicate_status": 200},
    Quirk.PUT_CLEARS_OMITTED: {"put_clears_omitted": True},
    Quirk.IDS_AS_STRINGS: {"ids_as_strings": True},
    Quirk.PER_PAGE_MAX_50: {"per_page_max": 50},
    Quirk.LIMIT_1500: {"rate_limit": 1500},
}


async def _companies(handle: SandboxHandle) -> list[tuple[int, str]]:
    page = handle.store.list_records("companies", 1, 1000)
    return sorted((int(item["id"]), item["name"]) for item in page.items)


@pytest.mark.parametrize("quirk", [None, *Quirk], ids=lambda q: q.value if q else "default")
async def test_probe_answers_each_quirk_within_its_limits_and_leaves_the_account_as_it_was(
    sandbox_factory: SandboxFactory, quirk: Quirk | None
) -> None:
    handle = await sandbox_factory(seed=120, seed_random=3, quirks=frozenset([quirk] if quirk else []))
    before = await _companies(handle)
    activities = handle.store.list_activities(1, 1).total

    read_only = await probe_account(handle.url, handle.key)
    after_read = (await handle.control.counters())["requests_total"]
    written = await probe_account(handle.url, handle.key, write_probes=True)

    expected = {**DEFAULT_ANSWERS, **(QUIRK_ANSWERS[quirk] if quirk else {})}
    answers = written.answers.model_dump()
    assert {k: answers[k] for k in expected} == expected
    read_expected = {
        k: v
        for k, v in expected.items()
        if k not in ("duplicate_status", "put_clears_omitted", "meeting_accepted")
    }
    read_answers = read_only.answers.model_dump()
    assert {k: read_answers[k] for k in read_expected} == read_expected
    assert read_answers["duplicate_status"] is None
    assert read_only.requests == after_read <= READ_LIMIT
    assert written.requests - read_only.requests <= WRITE_LIMIT
    assert (await handle.control.counters())["requests_total"] == read_only.requests + written.requests
    assert written.writes_left_behind == 0
    assert await _companies(handle) == before
    assert handle.store.list_activities(1, 1).total == activities
    assert not any(PROBE_NAME in name for _, name in before)


async def test_probe_of_a_small_account_still_sees_the_page_cap(sandbox_factory: SandboxFactory) -> None:
    handle = await sandbox_factory(seed=5, seed_random=3, quirks=frozenset({Quirk.PER_PAGE_MAX_50}))
    report = await probe_account(handle.url, handle.key)
    assert report.answers.per_page_max == 50


async def test_probe_with_a_refused_key_says_so_and_stores_nothing(
    sandbox_factory: SandboxFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    handle = await sandbox_factory(seed=5)
    key_file = tmp_path / "key"
    key_file.write_text("not-the-key\n")
    key_file.chmod(stat.S_IRUSR | stat.S_IWUSR)
    status = await asyncio.to_thread(
        cli_main, ["cats", "probe", "--cats-url", handle.url, "--key-file", str(key_file), "--json"]
    )
    assert status == 1
    assert json.loads(capsys.readouterr().out)["error"]["code"] == "cats.bad_key"
    db = await open_database()
    try:
        assert await load_profile(db, handle.url) is None
    finally:
        await db.close()


async def test_cats_probe_command_prints_json_and_stores_the_profile_a_read_only_run_keeps(
    sandbox_factory: SandboxFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    handle = await sandbox_factory(seed=30, quirks=frozenset({Quirk.DUPLICATE_200, Quirk.LIMIT_1500}))
    key_file = tmp_path / "key"
    key_file.write_text(handle.api_key + "\n")
    os.chmod(key_file, 0o600)
    base = ["cats", "probe", "--cats-url", handle.url, "--key-file", str(key_file)]

    assert await asyncio.to_thread(cli_main, [*base, "--write-probes", "--json"]) == 0
    data = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert data["writes_left_behind"] == 0
    assert data["answers"]["duplicate_status"] == 200
    assert data["answers"]["rate_limit"] == 1500
    assert data["requests"] <= READ_LIMIT + WRITE_LIMIT

    assert await asyncio.to_thread(cli_main, base) == 0
    table = capsys.readouterr().out
    assert "status of a duplicate hit" not in table
    assert "rate limit (requests an hour)" in table
    assert "CATS requests" in table

    db = await open_database()
    try:
        profile = await load_profile(db, handle.url)
    finally:
        await db.close()
    assert profile is not None
    # The read-only run kept what the write probes found.
    assert profile.duplicate_status == 200
    assert profile.rate_limit == 1500


async def test_cats_probe_goes_through_the_running_daemon_which_follows_the_answers_at_once(
    sandbox_factory: SandboxFactory, daemon_factory: DaemonFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    quirky = await sandbox_factory(seed=60, quirks=frozenset({Quirk.PER_PAGE_MAX_50}))
    daemon = await daemon_factory(key=quirky.key, cats_base_url=quirky.url)
    assert daemon.companion.client is not None and daemon.companion.client.per_page == 100

    assert await asyncio.to_thread(cli_main, ["cats", "probe", "--json"]) == 0
    data = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert data["answers"]["per_page_max"] == 50
    assert data["answers"]["duplicate_status"] is None
    # The daemon probed on its own client, and pages are now asked for 50 at a time.
    assert daemon.companion.client.per_page == 50
    assert daemon.companion.profile is not None and daemon.companion.profile.per_page_max == 50
