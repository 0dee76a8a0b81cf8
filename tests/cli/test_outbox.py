"""`cats-companion outbox`, `event` and `campaign`: they work through this user's daemon (its data, never a
database of their own, the demo's daemon included), start it when none runs, say clearly when none can be
reached, and `outbox send` sends from this process only while no daemon runs."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from companion import cli, paths
from companion.keystore import KeyringKeyStore
from companion.nmhost.config import AUTOSTART_ENV
from companion.secret import ApiKey
from companion.server import runtime
from companion.server.daemon import RunningDaemon
from companion.services.outbox_worker import WorkerLock
from companion.store.db import DB_FILE_NAME
from tests.fixtures.daemon import DaemonFactory
from tests.fixtures.sandbox import SandboxFactory

REPO = Path(__file__).resolve().parents[2]
ADA = ("--first-name", "Ada", "--last-name", "Lovelace", "--email", "ada@x.example")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, str]:
    """Run the command; its exit status, its stdout as JSON when it printed JSON, and its stderr."""
    status = cli.main(list(argv))
    captured = capsys.readouterr()
    try:
        out: Any = json.loads(captured.out.strip().splitlines()[-1]) if captured.out.strip() else None
    except ValueError:
        out = captured.out
    return status, out, captured.err


async def command(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, str]:
    """`run`, off the event loop: the command blocks on the daemon under test, which runs on this loop."""
    return await asyncio.to_thread(run, capsys, *argv)


async def native(daemon: RunningDaemon, message_type: str, params: dict[str, Any]) -> Any:
    """One native message from another client of the daemon (as the extension's host sends them)."""
    headers = {"Authorization": f"Bearer {daemon.token}"}
    envelope = {"id": 1, "type": message_type, "params": params}
    async with (
        aiohttp.ClientSession(headers=headers) as http,
        http.post(f"{daemon.url}/api/native", json=envelope) as response,
    ):
        reply = await response.json()
    assert reply["ok"], reply
    return reply["data"]


def own_database() -> Path:
    """The database a command that opened the file itself would have used (and created)."""
    return paths.data_dir() / DB_FILE_NAME


# --- through the running daemon ------------------------------------------------------------------


async def test_events_recorded_from_the_command_line_queue_the_items_the_rules_decide(
    daemon: RunningDaemon, capsys: pytest.CaptureFixture[str]
) -> None:
    status, created, _ = await command(capsys, "campaign", "create", "Q3", "--trigger", "on_add", "--json")
    assert status == 0 and created["sync_trigger"] == "on_add"
    status, added, _ = await command(
        capsys, "event", "record", "--campaign", "Q3", "--type", "added", *ADA, "--json"
    )
    assert status == 0 and added["sync"] and [i["kind"] for i in added["items"]] == ["record"]
    campaign = str(created["id"])
    status, called, _ = await command(
        capsys, "event", "record", "--campaign", campaign, "--type", "outreach", "--outreach", "call",
        "--email", "ada@x.example", "--id", "dialer-1", "--json",
    )  # fmt: skip
    assert status == 0 and [i["kind"] for i in called["items"]] == ["note"]
    status, listed, _ = await command(capsys, "outbox", "list", "--json")
    assert listed["counts"] == {"queued": 2}
    assert daemon.companion.push is not None and await daemon.companion.push.outbox.counts() == {"queued": 2}
    status, text, _ = await command(capsys, "outbox", "list")
    assert "call_talked note on the candidate" in text and "candidate record" in text


async def test_an_event_for_an_unknown_campaign_or_person_fails_clearly(
    daemon: RunningDaemon, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = await command(capsys, "event", "record", "--campaign", "Nope", "--type", "added", *ADA)
    assert status == 1 and "campaign.not_found" in err
    await command(capsys, "campaign", "create", "Q3")
    status, _, err = await command(capsys, "event", "record", "--campaign", "Q3", "--type", "replied", *ADA)
    assert status == 1 and "campaign.not_member" in err
    status, out, err = await command(
        capsys, "event", "record", "--campaign", "Q3", "--type", "outreach", *ADA, "--json"
    )
    assert status == 1 and "request.invalid" in err and "outreach type" in err
    assert out["error"]["code"] == "request.invalid"


async def test_an_import_file_is_applied_whole_or_not_at_all(
    daemon: RunningDaemon, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    await command(capsys, "campaign", "create", "Q3", "--trigger", "on_add")
    person = {"first_name": "Ada", "last_name": "Lovelace", "emails": ["ada@x.example"]}
    good = [
        {"campaign": "Q3", "person": person, "type": "added", "id": "t-1"},
        {"campaign": "Q3", "person": person, "type": "outreach", "outreach": "inmail", "id": "t-2"},
    ]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([*good, {"campaign": "Q3", "person": person, "type": "waved"}]))
    status, out, err = await command(capsys, "event", "import", str(bad), "--json")
    assert status == 1
    # The daemon's error arrives whole, details included.
    assert out["error"]["code"] == "event.import_invalid" and out["error"]["entry"] == 2
    assert "entry 2" in err
    _, listed, _ = await command(capsys, "outbox", "list", "--json")
    assert listed["counts"] == {}

    not_json = tmp_path / "broken.json"
    not_json.write_text("[{")
    assert (await command(capsys, "event", "import", str(not_json)))[0] == 1
    not_a_list = tmp_path / "object.json"
    not_a_list.write_text(json.dumps({"campaign": "Q3"}))
    status, _, err = await command(capsys, "event", "import", str(not_a_list))
    assert status == 1 and "event.import_invalid" in err

    fine = tmp_path / "events.json"
    fine.write_text(json.dumps({"events": good}))
    status, result, _ = await command(capsys, "event", "import", str(fine), "--json")
    assert status == 0 and (result["recorded"], result["items"]) == (2, 2)
    status, again, _ = await command(capsys, "event", "import", str(fine), "--json")
    assert status == 0 and (again["already_recorded"], again["items"]) == (2, 0)


async def test_retry_and_cancel_act_on_each_item_and_fail_for_the_ones_they_cannot(
    daemon: RunningDaemon, capsys: pytest.CaptureFixture[str]
) -> None:
    await command(capsys, "campaign", "create", "Q3", "--trigger", "on_add")
    await command(capsys, "event", "record", "--campaign", "Q3", "--type", "added", *ADA)
    status, out, _ = await command(capsys, "outbox", "cancel", "1", "--json")
    assert status == 0 and out["items"][0]["status"] == "cancelled"
    status, out, err = await command(capsys, "outbox", "cancel", "1", "99", "--json")
    assert status == 1
    assert [r["error"]["code"] for r in out["refused"]] == ["outbox.state", "outbox.not_found"]
    status, _, err = await command(capsys, "outbox", "retry", "1")
    assert status == 1 and "outbox.state" in err
    status, shown, _ = await command(capsys, "outbox", "show", "1", "--json")
    assert shown["item"]["status"] == "cancelled" and [e["action"] for e in shown["log"]] == ["cancel"]
    status, text, _ = await command(capsys, "outbox", "show", "1")
    assert status == 0 and "cancelled" in text and "  cancel (" in text


async def test_campaign_list_shows_campaigns_created_through_the_daemon(
    daemon: RunningDaemon, capsys: pytest.CaptureFixture[str]
) -> None:
    made = await native(daemon, "campaign.create", {"name": "Spring hiring", "record_type": "contacts"})
    status, listed, _ = await command(capsys, "campaign", "list", "--json")
    assert status == 0 and [c["id"] for c in listed["campaigns"]] == [made["id"]]
    status, text, _ = await command(capsys, "campaign", "list")
    assert "Spring hiring" in text and "sync as contacts" in text
    status, _, _ = await command(capsys, "campaign", "archive", str(made["id"]))
    assert status == 0
    assert (await command(capsys, "campaign", "list"))[1].strip() == "no campaigns"
    _, listed, _ = await command(capsys, "campaign", "list", "--archived", "--json")
    assert listed["campaigns"][0]["archived"] is True


async def test_outbox_list_shows_pushes_accepted_by_the_daemon(
    daemon: RunningDaemon, capsys: pytest.CaptureFixture[str]
) -> None:
    person = {"first_name": "Grace", "last_name": "Hopper", "emails": ["grace@navy.example"]}
    accepted = await native(daemon, "person.push", {"person": person})
    pushed = [item["id"] for item in accepted["items"]]
    assert pushed
    status, listed, _ = await command(capsys, "outbox", "list", "--json")
    assert status == 0 and [item["id"] for item in listed["items"]] == pushed
    status, listed, _ = await command(capsys, "outbox", "list", "--status", "failed", "--json")
    assert status == 0 and listed["items"] == []
    status, text, _ = await command(capsys, "outbox", "show", str(pushed[0]))
    assert status == 0 and f"person {accepted['person_id']}" in text


async def test_cli_commands_create_no_stray_database(
    daemon_factory: DaemonFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    # As `cats-companion demo` starts it: its data in a directory of its own, daemon.json where usual.
    demo = await daemon_factory(data_dir=paths.data_dir() / "demo")
    assert (await command(capsys, "campaign", "create", "Demo", "--trigger", "on_add"))[0] == 0
    status, listed, _ = await command(capsys, "campaign", "list", "--json")
    assert status == 0 and [c["name"] for c in listed["campaigns"]] == ["Demo"]
    status, _, _ = await command(capsys, "event", "record", "--campaign", "Demo", "--type", "added", *ADA)
    assert status == 0
    status, listed, _ = await command(capsys, "outbox", "list", "--json")
    assert status == 0 and listed["counts"] == {"queued": 1}
    assert demo.companion.db.path == paths.data_dir() / "demo" / DB_FILE_NAME
    assert not own_database().exists()


@pytest.mark.timeout(90)
async def test_commands_in_another_terminal_reach_the_demo_daemon(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The real `cats-companion demo`, in its own process; the commands run here with the same
    # environment and nothing added, as in a second terminal of the same user.
    demo = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "companion", "demo", "--no-install-host", "--seed", "30", "--rate-limit", "0",
        env={**os.environ, "PYTHONPATH": str(REPO)}, cwd=REPO,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    assert demo.stdout is not None
    printed = b""
    try:
        async with asyncio.timeout(60):
            while b"Press Ctrl-C" not in printed:
                line = await demo.stdout.readline()
                assert line, f"the demo stopped: {printed.decode()}"
                printed += line
        assert b"in another" in printed  # the demo says its daemon serves other terminals' commands
        assert (await command(capsys, "campaign", "create", "Demo outreach"))[0] == 0
        status, listed, err = await command(capsys, "campaign", "list", "--json")
        assert status == 0, err
        assert [c["name"] for c in listed["campaigns"]] == ["Demo outreach"]
        assert "started one" not in err  # the demo's daemon answered: none was started
        status, text, _ = await command(capsys, "outbox", "list")
        assert status == 0 and text.startswith("outbox: empty")
    finally:
        demo.send_signal(signal.SIGINT)
        async with asyncio.timeout(30):
            await demo.wait()
    assert (paths.data_dir() / "demo" / DB_FILE_NAME).exists()
    assert not own_database().exists()


# --- no daemon running -------------------------------------------------------------------------------


def test_a_command_starts_the_daemon_when_none_runs_and_uses_it_after(
    capsys: pytest.CaptureFixture[str], started_daemons: list[int]
) -> None:
    status, out, err = run(capsys, "campaign", "list")
    info = runtime.read_runtime_file(paths.runtime_dir())
    if info is not None:
        started_daemons.append(info.pid)
    assert status == 0, err
    assert info is not None and info.pid != os.getpid()
    assert out.strip() == "no campaigns"
    assert f"started one (pid {info.pid}" in err
    status, _, err = run(capsys, "campaign", "create", "Q3")
    assert status == 0 and err == ""  # the daemon started before answers: none is started again
    _, listed, _ = run(capsys, "campaign", "list", "--json")
    assert [c["name"] for c in listed["campaigns"]] == ["Q3"]


def test_with_autostart_off_and_no_daemon_a_command_says_how_to_start_one(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(AUTOSTART_ENV, "0")
    status, out, err = run(capsys, "outbox", "list", "--json")
    assert status == 1 and out["error"]["code"] == "daemon.unavailable"
    assert "not running" in err and "cats-companion serve" in err
    assert not paths.data_dir().exists()


def test_a_daemon_that_cannot_start_is_reported_with_its_log(
    capsys: pytest.CaptureFixture[str], started_daemons: list[int]
) -> None:
    # A data dir that is a file: the daemon started on demand exits at once.
    paths.data_dir().parent.mkdir(parents=True, exist_ok=True)
    paths.data_dir().write_text("not a directory")
    status, _, err = run(capsys, "campaign", "list")
    info = runtime.read_runtime_file(paths.runtime_dir())
    if info is not None:
        started_daemons.append(info.pid)
    assert status == 1
    assert "exited while starting" in err and str(paths.log_dir() / "daemon.log") in err
    assert "daemon.unavailable" in err


# --- `outbox send`, for machines with no daemon ---------------------------------------------------------


async def test_outbox_send_delivers_the_queue_here_only_while_no_daemon_or_other_sender_runs(
    capsys: pytest.CaptureFixture[str], daemon_factory: DaemonFactory, sandbox_factory: SandboxFactory
) -> None:
    sandbox = await sandbox_factory(seed=2, rate_limit=0)
    KeyringKeyStore().set(sandbox.url, sandbox.key)
    # Queued through a daemon that does not send, then stopped: the outbox waits in this user's database.
    daemon = await daemon_factory(send_outbox=False)
    await command(capsys, "campaign", "create", "Q3", "--trigger", "on_add")
    await command(capsys, "event", "record", "--campaign", "Q3", "--type", "added", *ADA)

    status, _, err = await command(capsys, "outbox", "send", "--cats-url", sandbox.url)
    assert status == 1 and "outbox.busy" in err and f"pid {os.getpid()}" in err
    await daemon.close()

    lock = WorkerLock(paths.data_dir() / "outbox.lock")
    assert lock.acquire()
    try:
        status, _, err = await command(capsys, "outbox", "send", "--cats-url", sandbox.url)
        assert status == 1 and "outbox.busy" in err
    finally:
        lock.release()
    assert sandbox.store.search_records("candidates", query="Lovelace").items == []

    status, out, _ = await command(capsys, "outbox", "send", "--cats-url", sandbox.url, "--json")
    assert status == 0 and out["counts"] == {"synced": 1}
    assert len(sandbox.store.search_records("candidates", query="Lovelace").items) == 1


def test_outbox_send_without_a_stored_key_says_how_to_add_one(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(capsys, "outbox", "send", "--cats-url", "https://cats.example/v3")
    assert status == 1 and "key.missing" in err and "cats-companion key set" in err


def test_outbox_send_with_nothing_ever_queued_creates_no_database(
    capsys: pytest.CaptureFixture[str],
) -> None:
    KeyringKeyStore().set("https://cats.example/v3", ApiKey("a-key-that-is-never-sent"))
    status, out, _ = run(capsys, "outbox", "send", "--cats-url", "https://cats.example/v3", "--json")
    assert status == 0 and out == {"counts": {}}
    assert not own_database().exists()


def test_outbox_help_keeps_its_usage_lines_one_per_line(capsys: pytest.CaptureFixture[str]) -> None:
    from companion import cli

    with pytest.raises(SystemExit) as exited:
        cli.main(["outbox", "--help"])
    assert exited.value.code == 0
    lines = capsys.readouterr().out.splitlines()
    assert "    cats-companion outbox list [--status failed,waiting] [--limit N] [--json]" in lines
    assert "    cats-companion outbox show ID | retry ID... | cancel ID..." in lines
    assert any(line.startswith("    cats-companion campaign list | create NAME") for line in lines)
