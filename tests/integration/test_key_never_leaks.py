"""The API key never appears anywhere the companion writes, whatever goes wrong.

Provokes the failures a real day brings — a refused key, CATS down, 5xx with HTML bodies, resets
after a create, hangs, validation errors, the CLI fed a bad key — with distinctive keys, then
scans everything written: log records at DEBUG, stdout and stderr, every file under the
companion's home (database, WAL, runtime file, token), every daemon response and every error's
text, repr, wire form and traceback.
"""

from __future__ import annotations

import asyncio
import io
import logging
import sys
import traceback
from pathlib import Path

import aiohttp
import pytest

from companion import cli, paths
from companion.cats.client import CatsClient
from companion.cats.retry import RetryPolicy
from companion.errors import CompanionError
from companion.secret import ApiKey
from tests.fixtures.daemon import DaemonFactory, auth_headers
from tests.fixtures.sandbox import SandboxFactory

GOOD_KEY = "canary-good-key-5d1c9e77a0b24f13"
WRONG_KEY = "canary-wrong-key-8e2f4b6a91c3d705"
CANARIES = (GOOD_KEY, WRONG_KEY)


class Evidence:
    """Everything written during the test, to be scanned for the keys at the end."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def error(self, exc: BaseException) -> None:
        self.texts += [str(exc), repr(exc), "".join(traceback.format_exception(exc))]
        if isinstance(exc, CompanionError):
            self.texts.append(repr(exc.to_dict()))

    def leaks(self, *, extra: list[str], home: Path) -> list[str]:
        found = [
            f"text #{i}" for i, text in enumerate(self.texts + extra) if any(c in text for c in CANARIES)
        ]
        for file in sorted(p for p in home.rglob("*") if p.is_file() and not p.is_socket()):
            data = file.read_bytes()
            if any(c.encode() in data for c in CANARIES):
                found.append(str(file))
        return found


async def _provoke_client_failures(url: str, evidence: Evidence) -> None:
    quick = RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.02, max_total_wait=0.1)
    async with CatsClient(url, ApiKey(WRONG_KEY), timeout=2.0, retry=quick) as client:
        with pytest.raises(CompanionError) as refused:
            await client.get_record("companies", 9001)
        evidence.error(refused.value)
    async with CatsClient(url, ApiKey(GOOD_KEY), timeout=0.5, retry=quick) as client:
        with pytest.raises(CompanionError) as invalid:
            await client.create_record("companies", {"name": ""}, check_duplicate=True)
        evidence.error(invalid.value)
        with pytest.raises(CompanionError) as missing:
            await client.get_record("candidates", 1)
        evidence.error(missing.value)


@pytest.mark.timeout(60)
async def test_the_key_appears_in_no_log_file_response_or_error(
    sandbox_factory: SandboxFactory,
    daemon_factory: DaemonFactory,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    evidence = Evidence()
    sandbox = await sandbox_factory(api_key=GOOD_KEY, seed=3, rate_limit=0)

    # The daemon with the right key, then with a refused one: both report through /api/status.
    for key in (GOOD_KEY, WRONG_KEY):
        daemon = await daemon_factory(key=ApiKey(key), cats_base_url=sandbox.url)
        assert daemon.companion.check_task is not None
        await daemon.companion.check_task
        async with (
            aiohttp.ClientSession(headers=auth_headers(daemon.token)) as http,
            http.get(f"{daemon.url}/api/status") as response,
        ):
            evidence.texts.append(await response.text())
            evidence.texts.append(repr(dict(response.headers)))
        await daemon.close()

    # The CATS client through refusals, validation errors and every transport fault.
    await _provoke_client_failures(sandbox.url, evidence)
    quick = RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.02, max_total_wait=0.1)
    async with CatsClient(sandbox.url, ApiKey(GOOD_KEY), timeout=0.5, retry=quick) as client:
        for kind in ("500", "503", "reset_after", "hang", "429"):
            await sandbox.control.set_faults(
                script=[{"kind": kind}] * 3, hang_seconds=2, retry_after_seconds=1
            )
            for call in (
                client.get_record("companies", 9001),
                client.create_record(
                    "companies", {"name": "Leak Test BV", "owner_id": 4001}, check_duplicate=True
                ),
            ):
                try:
                    await call
                except CompanionError as exc:
                    evidence.error(exc)
        await sandbox.control.clear_faults()

    # CATS entirely down.
    down_url = sandbox.url
    await sandbox.running.close()
    async with CatsClient(down_url, ApiKey(GOOD_KEY), timeout=0.5, retry=quick) as client:
        with pytest.raises(CompanionError) as unreachable:
            await client.get_record("companies", 9001)
        evidence.error(unreachable.value)

    # The CLI, given a key on stdin and on the command line by mistake.
    live = await sandbox_factory(api_key=GOOD_KEY, rate_limit=0)
    for argv, stdin in (
        (["key", "set", "--cats-url", live.url], WRONG_KEY + "\n"),
        (["key", "set", "--cats-url", live.url, WRONG_KEY], ""),
        (["key", "set", "--cats-url", down_url], GOOD_KEY + "\n"),
        (["key", "status", "--cats-url", live.url], ""),
    ):
        sys.stdin = io.StringIO(stdin)
        try:
            await asyncio.to_thread(cli.main, argv)
        except SystemExit:
            pass
        finally:
            sys.stdin = sys.__stdin__

    captured = capsys.readouterr()
    logged = [caplog.text] + [repr(record.__dict__) for record in caplog.records]
    leaks = evidence.leaks(extra=[captured.out, captured.err, *logged], home=paths.data_dir().parent)
    assert leaks == []
    # The scan saw real traffic: the errors, the status bodies and the CLI's own words.
    assert len(evidence.texts) >= 20
    assert "refused" in captured.err.lower() or "invalid" in captured.err.lower()
