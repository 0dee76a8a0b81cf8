"""`cats-companion sync`: progress output, exit codes, the sync done and followed in the daemon (started on
demand for the URL asked), refusals it reports, and a daemon killed mid-scan resuming in the next one."""

from __future__ import annotations

import asyncio
import io
import os
import signal
import socket
import sqlite3
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from companion import cli, paths
from companion.cli.sync import ProgressPrinter, sync_command
from companion.keystore import BACKEND_ENV, SERVICE_NAME, normalize_base_url
from companion.server import runtime
from companion.server.daemon import RunningDaemon
from companion.services.sync_scheduler import SyncPolicy
from companion.services.sync_state import SyncProgress
from companion.store.db import DB_FILE_NAME
from tests.fixtures.daemon import DaemonFactory
from tests.fixtures.sandbox import SandboxFactory, SandboxHandle
from tests.services.keyring_file import CLASS_PATH, FILE_ENV, write_keyring_file

REPO = Path(__file__).resolve().parents[2]


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


async def sync(*, cats_url: str | None = None, full: bool = False) -> tuple[int, str]:
    """The command, off the event loop (it blocks on the daemon, which may run on this loop)."""
    out = io.StringIO()
    status = await asyncio.to_thread(sync_command, cats_url=cats_url, full=full, out=out, poll=0.02)
    return status, out.getvalue()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def key_for_daemons(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[SandboxHandle], None]:
    """Store a sandbox's key where a daemon started in its own process reads it (a file-backed keyring)."""

    def store(sandbox: SandboxHandle) -> None:
        keyring_file = write_keyring_file(
            tmp_path / "keyring.json", SERVICE_NAME, normalize_base_url(sandbox.url), sandbox.api_key
        )
        monkeypatch.setenv(BACKEND_ENV, CLASS_PATH)
        monkeypatch.setenv(FILE_ENV, str(keyring_file))
        # The started daemon imports that backend from this checkout's tests package.
        monkeypatch.setenv("PYTHONPATH", str(REPO))

    return store


async def test_with_a_daemon_running_it_syncs_and_the_command_follows_its_progress(
    daemon_factory: DaemonFactory, sandbox_factory: SandboxFactory
) -> None:
    sandbox = await sandbox_factory(seed=250, rate_limit=0)
    # The seed (one bulk import) a minute before the first sync, so that sync can count its second over.
    await sandbox.control.advance_clock(60)
    # No key in this process's keyring: only the daemon can sync.
    await daemon_factory(
        key=sandbox.key, cats_base_url=sandbox.url, sync=SyncPolicy(automatic=False), check_connection=False
    )
    await sandbox.control.set_faults(
        script=[{"kind": "slow", "method": "GET", "path": "/v3/companies"}] * 3, slow_seconds=0.1
    )
    await sandbox.control.reset_counters()
    status, text = await sync(full=True)
    assert status == 0, text
    assert "full sync" in text and "/3 pages" in text
    # Statuses, users and 3 pages: the summary says what the run cost, as the sandbox counted it.
    assert text.rstrip().endswith("company cache synced: 250 companies (5 CATS requests)")
    counted = await sandbox.control.counters()
    assert counted["requests"]["GET /v3/companies"] == 3 and counted["requests_total"] == 5
    assert sandbox.api_key not in text

    # Nothing changed: an incremental run is one search.
    await sandbox.control.advance_clock(60)
    await sandbox.control.reset_counters()
    status, text = await sync()
    assert status == 0, text
    assert text.rstrip().endswith("company cache synced: 250 companies (1 CATS request)")
    assert (await sandbox.control.counters())["requests_total"] == 1


async def test_a_cats_url_other_than_the_daemons_is_refused(
    daemon_factory: DaemonFactory, sandbox: SandboxHandle
) -> None:
    await daemon_factory(key=sandbox.key, cats_base_url=sandbox.url, sync=SyncPolicy(automatic=False))
    status, text = await sync(cats_url="https://other.example/v3")
    assert status == 1 and "the running companion daemon syncs" in text


async def test_a_daemon_without_a_key_refuses_and_the_command_says_how_to_add_one(
    daemon: RunningDaemon,
) -> None:
    status, text = await sync()
    assert status == 1
    assert "(key.missing)" in text and "cats-companion key set" in text


async def test_with_cats_unreachable_the_sync_exits_1_with_the_reason(
    daemon_factory: DaemonFactory, sandbox: SandboxHandle
) -> None:
    url = f"http://127.0.0.1:{closed_port()}/v3"
    await daemon_factory(
        key=sandbox.key, cats_base_url=url, sync=SyncPolicy(automatic=False), check_connection=False
    )
    status, text = await sync(cats_url=url)
    assert status == 1 and "(cats.network)" in text


async def test_without_a_daemon_the_command_starts_one_for_its_url_and_follows_the_sync(
    sandbox: SandboxHandle,
    key_for_daemons: Callable[[SandboxHandle], None],
    started_daemons: list[int],
    capsys: pytest.CaptureFixture[str],
) -> None:
    key_for_daemons(sandbox)
    status = await asyncio.to_thread(cli.main, ["sync", "--cats-url", sandbox.url, "--full"])
    info = runtime.read_runtime_file(paths.runtime_dir())
    if info is not None:
        started_daemons.append(info.pid)
    err = capsys.readouterr().err
    assert status == 0, err
    assert info is not None and f"started one (pid {info.pid}" in err
    assert "company cache synced: 20 companies" in err
    # The daemon started for that URL, so the next command with it is not refused.
    status, text = await sync(cats_url=sandbox.url)
    assert status == 0, text


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
async def test_a_daemon_killed_mid_scan_resumes_it_without_fetching_stored_pages_again(
    sandbox_factory: SandboxFactory,
    key_for_daemons: Callable[[SandboxHandle], None],
    started_daemons: list[int],
) -> None:
    sandbox = await sandbox_factory(seed=1000, seed_random=7, rate_limit=0)
    await sandbox.control.set_faults(
        script=[{"kind": "slow", "method": "GET", "path": "/v3/companies"}] * 10, slow_seconds=0.3
    )
    key_for_daemons(sandbox)
    # The command in its own process, as typed in a terminal; it starts the daemon, which syncs.
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "companion", "sync", "--cats-url", sandbox.url,
        cwd=REPO, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    db_path = paths.data_dir() / DB_FILE_NAME
    try:
        async with asyncio.timeout(60):
            # Another process writes the database: nothing to wait on but the file itself.
            while committed_pages(db_path) < 3:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
        first = runtime.read_runtime_file(paths.runtime_dir())
        if first is not None:
            # Not for started_daemons: once it is killed, its socket is what says it is gone.
            os.kill(first.pid, signal.SIGKILL)
    assert first is not None
    async with asyncio.timeout(10):
        # Dead once its socket refuses connections (the signal is delivered, not awaited).
        while await runtime.answers(paths.runtime_dir(), first):  # noqa: ASYNC110
            await asyncio.sleep(0.05)
    assert proc.stderr is not None
    printed = (await proc.stderr.read()).decode()
    assert "started one" in printed and "full sync" in printed  # one line per page on a pipe
    stored = committed_pages(db_path)
    assert 3 <= stored < 10

    await sandbox.control.clear_faults()
    await sandbox.control.reset_counters()
    status, text = await sync(cats_url=sandbox.url)
    second = runtime.read_runtime_file(paths.runtime_dir())
    if second is not None:
        started_daemons.append(second.pid)
    assert status == 0, text
    assert second is not None and second.pid != first.pid
    assert "company cache synced: 1,000 companies (" in text
    # Only the pages the killed daemon had not stored; users and statuses were stored with page 1.
    requests = (await sandbox.control.counters())["requests"]
    assert requests.get("GET /v3/companies") == 10 - stored


def test_a_finished_run_ends_the_bar_at_its_total_even_when_polling_missed_the_last_pages() -> None:
    out = io.StringIO()
    printer = ProgressPrinter(out, tty=False, clock=FakeClock())
    printer.update(progress(7, companies=700))
    printer.finish(1000)
    printer.say("done")
    lines = out.getvalue().splitlines()
    assert lines[-2] == "full sync  [########################] 10/10 pages  1,000 companies"
    # Already at its total: nothing drawn again.
    printer.finish(1000)
    assert out.getvalue().splitlines() == lines
