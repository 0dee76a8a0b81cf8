"""`cats-companion outbox`, `event` and `campaign`: the commands on this user's database, their exit codes,
all-or-nothing imports, and `outbox send` against the sandbox (refused while another process sends)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from companion import cli, paths
from companion.keystore import KeyringKeyStore
from companion.services.outbox_worker import WorkerLock
from tests.fixtures.sandbox import SandboxFactory


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, str]:
    """Run the command; its exit status, its stdout as JSON when it printed JSON, and its stderr."""
    status = cli.main(list(argv))
    captured = capsys.readouterr()
    try:
        out: Any = json.loads(captured.out.strip().splitlines()[-1]) if captured.out.strip() else None
    except ValueError:
        out = captured.out
    return status, out, captured.err


ADA = ("--first-name", "Ada", "--last-name", "Lovelace", "--email", "ada@x.example")


def test_events_recorded_from_the_command_line_queue_the_items_the_rules_decide(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, created, _ = run(capsys, "campaign", "create", "Q3", "--trigger", "on_add", "--json")
    assert status == 0 and created["sync_trigger"] == "on_add"
    status, added, _ = run(capsys, "event", "record", "--campaign", "Q3", "--type", "added", *ADA, "--json")
    assert status == 0 and added["sync"] and [i["kind"] for i in added["items"]] == ["record"]
    campaign = str(created["id"])
    status, called, _ = run(
        capsys, "event", "record", "--campaign", campaign, "--type", "outreach", "--outreach", "call",
        "--email", "ada@x.example", "--id", "dialer-1", "--json",
    )  # fmt: skip
    assert status == 0 and [i["kind"] for i in called["items"]] == ["note"]
    status, listed, _ = run(capsys, "outbox", "list", "--json")
    assert listed["counts"] == {"queued": 2}
    status, text, _ = run(capsys, "outbox", "list")
    assert "call_talked note on the candidate" in text and "candidate record" in text


def test_an_event_for_an_unknown_campaign_or_person_fails_clearly(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(capsys, "event", "record", "--campaign", "Nope", "--type", "added", *ADA)
    assert status == 1 and "campaign.not_found" in err
    run(capsys, "campaign", "create", "Q3")
    status, _, err = run(capsys, "event", "record", "--campaign", "Q3", "--type", "replied", *ADA)
    assert status == 1 and "campaign.not_member" in err
    status, _, err = run(capsys, "event", "record", "--campaign", "Q3", "--type", "outreach", *ADA)
    assert status == 1 and "request.invalid" in err and "outreach type" in err


def test_an_import_file_is_applied_whole_or_not_at_all(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    run(capsys, "campaign", "create", "Q3", "--trigger", "on_add")
    person = {"first_name": "Ada", "last_name": "Lovelace", "emails": ["ada@x.example"]}
    good = [
        {"campaign": "Q3", "person": person, "type": "added", "id": "t-1"},
        {"campaign": "Q3", "person": person, "type": "outreach", "outreach": "inmail", "id": "t-2"},
    ]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([*good, {"campaign": "Q3", "person": person, "type": "waved"}]))
    status, out, err = run(capsys, "event", "import", str(bad), "--json")
    assert status == 1
    assert out["error"]["code"] == "event.import_invalid" and out["error"]["entry"] == 2
    assert "entry 2" in err
    _, listed, _ = run(capsys, "outbox", "list", "--json")
    assert listed["counts"] == {}

    not_json = tmp_path / "broken.json"
    not_json.write_text("[{")
    assert run(capsys, "event", "import", str(not_json))[0] == 1

    fine = tmp_path / "events.json"
    fine.write_text(json.dumps({"events": good}))
    status, result, _ = run(capsys, "event", "import", str(fine), "--json")
    assert status == 0 and (result["recorded"], result["items"]) == (2, 2)
    status, again, _ = run(capsys, "event", "import", str(fine), "--json")
    assert status == 0 and (again["already_recorded"], again["items"]) == (2, 0)


def test_retry_and_cancel_act_on_each_item_and_fail_for_the_ones_they_cannot(
    capsys: pytest.CaptureFixture[str],
) -> None:
    run(capsys, "campaign", "create", "Q3", "--trigger", "on_add")
    run(capsys, "event", "record", "--campaign", "Q3", "--type", "added", *ADA)
    status, out, _ = run(capsys, "outbox", "cancel", "1", "--json")
    assert status == 0 and out["items"][0]["status"] == "cancelled"
    status, out, err = run(capsys, "outbox", "cancel", "1", "99", "--json")
    assert status == 1
    assert [r["error"]["code"] for r in out["refused"]] == ["outbox.state", "outbox.not_found"]
    status, _, err = run(capsys, "outbox", "retry", "1")
    assert status == 1 and "outbox.state" in err
    status, shown, _ = run(capsys, "outbox", "show", "1", "--json")
    assert shown["item"]["status"] == "cancelled" and [e["action"] for e in shown["log"]] == ["cancel"]


async def test_outbox_send_delivers_the_queue_here_and_refuses_while_another_process_sends(
    capsys: pytest.CaptureFixture[str], sandbox_factory: SandboxFactory
) -> None:
    sandbox = await sandbox_factory(seed=2, rate_limit=0)
    KeyringKeyStore().set(sandbox.url, sandbox.key)

    def command(*argv: str) -> tuple[int, Any, str]:
        return run(capsys, *argv)

    await asyncio.to_thread(command, "campaign", "create", "Q3", "--trigger", "on_add")
    await asyncio.to_thread(command, "event", "record", "--campaign", "Q3", "--type", "added", *ADA)

    lock = WorkerLock(paths.data_dir() / "outbox.lock")
    assert lock.acquire()
    try:
        status, _, err = await asyncio.to_thread(command, "outbox", "send", "--cats-url", sandbox.url)
        assert status == 1 and "outbox.busy" in err
    finally:
        lock.release()
    assert sandbox.store.search_records("candidates", query="Lovelace").items == []

    status, out, _ = await asyncio.to_thread(command, "outbox", "send", "--cats-url", sandbox.url, "--json")
    assert status == 0 and out["counts"] == {"synced": 1}
    assert len(sandbox.store.search_records("candidates", query="Lovelace").items) == 1


def test_outbox_send_without_a_stored_key_says_how_to_add_one(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(capsys, "outbox", "send", "--cats-url", "https://cats.example/v3")
    assert status == 1 and "key.missing" in err and "cats-companion key set" in err
