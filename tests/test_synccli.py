"""`cats-companion sync`: progress output, exit codes, the daemon path, the in-process path, and a resume
after the process is killed mid-scan."""

from __future__ import annotations

import asyncio
import io
import os
import signal
import socket
import sqlite3
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from companion import cli, paths
from companion.cli.sync import ProgressPrinter, sync_command
from companion.keystore import SERVICE_NAME, KeyringKeyStore, normalize_base_url
from companion.services.sync_scheduler import SyncPolicy
from companion.services.sync_state import SyncProgress
from companion.store import open_database
from companion.store.companies import CompanyCache
from companion.store.db import DB_FILE_NAME
from tests.fixtures.daemon import DaemonFactory
from tests.fixtures.sandbox import SandboxFactory, SandboxHandle
from tests.services.keyring_file import CLASS_PATH, FILE_ENV, write_keyring_file

REPO = Path(__file__).resolve().parent.parent


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def progress(done: int, total: int | None = 10, companies: int = 0) -> SyncProgress:
    return SyncProgress(
        phase="full",
        started_at=datetime.now(UTC),
        pages_done=done,
        pages_total=total,
        companies_done=companies,
    )


def test_on_a_pipe_progress_is_one_line_per_page_with_counts_and_time_left() -> None:
    out, clock = io.StringIO(), FakeClock()
    printer = ProgressPrinter(out, tty=False, clock=clock)
    printer.update(progress(0))
    clock.now += 20
    printer.update(progress(2, companies=200))
    printer.update(progress(2, companies=200))  # no new page: nothing printed
    clock.now += 10
    printer.update(progress(3, companies=300))
    lines = out.getvalue().splitlines()
    assert len(lines) == 3
    assert lines[1] == "full sync  [####--------------------] 2/10 pages  200 companies  ~1:20 left"
    assert lines[2].endswith("3/10 pages  300 companies  ~1:10 left")


def test_on_a_terminal_progress_redraws_one_line() -> None:
    out = io.StringIO()
    printer = ProgressPrinter(out, tty=True, clock=FakeClock())
    printer.update(progress(1, total=None, companies=100))
    printer.update(progress(2, total=None, companies=200))
    printer.say("done")
    text = out.getvalue()
    assert text.count("\r\x1b[K") == 2
    assert text.endswith("2 pages  200 companies\ndone\n")


def store_key(sandbox: SandboxHandle) -> None:
    KeyringKeyStore().set(sandbox.url, sandbox.key)


async def cached_count() -> int:
    db = await open_database()
    try:
        return await CompanyCache(db).count()
    finally:
        await db.close()


async def test_without_a_daemon_the_sync_runs_here_and_exits_0(sandbox: SandboxHandle) -> None:
    store_key(sandbox)
    out = io.StringIO()
    assert await sync_command(cats_url=sandbox.url, full=False, out=out) == 0
    text = out.getvalue()
    assert "full sync" in text and "1/1 pages" in text
    assert "company cache synced (full): 20 companies" in text
    assert await cached_count() == 20
    assert sandbox.api_key not in text


async def test_without_a_stored_key_the_sync_exits_1_and_says_how_to_fix_it(sandbox: SandboxHandle) -> None:
    out = io.StringIO()
    assert await sync_command(cats_url=sandbox.url, full=False, out=out) == 1
    assert "no CATS API key stored" in out.getvalue()
    assert "cats-companion key set" in out.getvalue()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_with_cats_unreachable_the_sync_exits_1_with_the_reason(sandbox: SandboxHandle) -> None:
    url = f"http://127.0.0.1:{closed_port()}/v3"
    KeyringKeyStore().set(url, sandbox.key)
    out = io.StringIO()
    assert await sync_command(cats_url=url, full=False, out=out) == 1
    assert "(cats.network)" in out.getvalue()


async def test_with_a_daemon_running_it_syncs_and_the_command_follows_its_progress(
    daemon_factory: DaemonFactory, sandbox_factory: SandboxFactory
) -> None:
    sandbox = await sandbox_factory(seed=250, rate_limit=0)
    # No key in this process's keyring: only the daemon can sync.
    await daemon_factory(
        key=sandbox.key, cats_base_url=sandbox.url, sync=SyncPolicy(automatic=False), check_connection=False
    )
    await sandbox.control.set_faults(
        script=[{"kind": "slow", "method": "GET", "path": "/v3/companies"}] * 3, slow_seconds=0.1
    )
    await sandbox.control.reset_counters()
    out = io.StringIO()
    assert await sync_command(cats_url=None, full=True, out=out, poll=0.02) == 0
    text = out.getvalue()
    assert "full sync" in text and "/3 pages" in text
    assert text.rstrip().endswith("company cache synced: 250 companies")
    assert (await sandbox.control.counters())["requests"]["GET /v3/companies"] == 3


async def test_a_cats_url_other_than_the_daemons_is_refused(
    daemon_factory: DaemonFactory, sandbox: SandboxHandle
) -> None:
    await daemon_factory(key=sandbox.key, cats_base_url=sandbox.url, sync=SyncPolicy(automatic=False))
    out = io.StringIO()
    assert await sync_command(cats_url="https://other.example/v3", full=False, out=out) == 1
    assert "the running companion daemon syncs" in out.getvalue()


async def test_the_command_line_runs_the_sync(
    sandbox: SandboxHandle, capsys: pytest.CaptureFixture[str]
) -> None:
    store_key(sandbox)
    status = await asyncio.to_thread(cli.main, ["sync", "--cats-url", sandbox.url, "--full"])
    assert status == 0
    assert "company cache synced (full): 20 companies" in capsys.readouterr().err


def committed_pages(db_path: Path) -> int:
    if not db_path.exists():
        return 0
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as conn:
        try:
            row = conn.execute("SELECT full_pages_done FROM company_sync_state").fetchone()
        except sqlite3.OperationalError:
            return 0  # not migrated yet
    return int(row[0]) if row else 0


@pytest.mark.timeout(90)
async def test_a_sync_killed_mid_scan_resumes_without_fetching_stored_pages_again(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    sandbox = await sandbox_factory(seed=1000, seed_random=7, rate_limit=0)
    await sandbox.control.set_faults(
        script=[{"kind": "slow", "method": "GET", "path": "/v3/companies"}] * 10, slow_seconds=0.3
    )
    keyring_file = write_keyring_file(
        tmp_path / "keyring.json", SERVICE_NAME, normalize_base_url(sandbox.url), sandbox.api_key
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "PYTHON_KEYRING_BACKEND": CLASS_PATH,
        FILE_ENV: str(keyring_file),
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "companion",
        "sync",
        "--cats-url",
        sandbox.url,
        env=env,
        cwd=REPO,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    db_path = paths.data_dir() / DB_FILE_NAME
    try:
        async with asyncio.timeout(60):
            # Another process writes the database: nothing to wait on but the file itself.
            while committed_pages(db_path) < 3:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
    assert proc.stderr is not None
    printed = (await proc.stderr.read()).decode()
    assert "full sync" in printed  # one line per page on a pipe
    stored = committed_pages(db_path)
    assert 3 <= stored < 10

    await sandbox.control.clear_faults()
    await sandbox.control.reset_counters()
    store_key(sandbox)
    out = io.StringIO()
    assert await sync_command(cats_url=sandbox.url, full=False, out=out) == 0
    # Only the pages the killed process had not stored; users and statuses were stored with page 1.
    assert (await sandbox.control.counters())["requests"] == {"GET /v3/companies": 10 - stored}
    assert await cached_count() == 1000
