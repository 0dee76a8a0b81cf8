"""After a short soak with faults and a fuzzing of the protocol, the API key is nowhere it should not be.

The daemon runs as a real process (`python -m companion serve --log-level DEBUG`, its key in a
private --key-file outside the companion's home, its output in log/daemon.log, as the native host
starts it); the native host runs as Chrome runs it, with its log switched on. Pushes, campaign
events, a company sync, CRM searches and random protocol messages go through them while the sandbox
injects every fault it has. Then everything is scanned for the distinctive key: every file under
the companion's home (database, WAL, logs, runtime files, token, settings), every response body and
header, every process's command line and environment (/proc/<pid>/cmdline, environ), the processes'
own output and the test's captured logging. test_key_never_leaks.py covers the in-process failures
(errors, reprs, tracebacks, the CLI); this is the end-to-end, multi-process form.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import logging
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import aiohttp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from companion import paths
from companion.nmhost.wire import NATIVE_PATH
from companion.server.operations import TABLE
from companion.server.runtime import RuntimeInfo, read_runtime_file
from tests.fixtures.sandbox import SandboxFactory, SandboxHandle
from tests.fuzz.strategies import from_model, fuzz_settings, mutated
from tests.nmhost.frames import HostProcess, host_env

pytestmark = [pytest.mark.timeout(180), pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")]

KEY: Final = "canary-scan-key-3f9a1c7e5b2d4068aa"
#: The forms the key could take on the way out: as is, JSON-escaped is the same for these characters.
NEEDLES: Final = (KEY.encode(), KEY.encode("utf-16-le"), KEY[::-1].encode())
PUSHES: Final = 8
DRAIN_SECONDS: Final = 45.0


@dataclass
class Evidence:
    """Everything the run produced that the key must not be in, by where it came from."""

    texts: dict[str, bytes] = field(default_factory=dict)

    def add(self, where: str, data: bytes | str) -> None:
        self.texts[f"{where} #{len(self.texts)}"] = data.encode() if isinstance(data, str) else data

    def add_process(self, name: str, pid: int) -> None:
        """A running process's command line and environment, as any local user could list them."""
        for part in ("cmdline", "environ"):
            self.add(f"{name} /proc/{pid}/{part}", Path(f"/proc/{pid}/{part}").read_bytes())

    def add_tree(self, root: Path) -> list[Path]:
        files = sorted(p for p in root.rglob("*") if p.is_file() and not p.is_socket())
        for path in files:
            self.add(str(path), path.read_bytes())
        return files

    def leaks(self) -> list[str]:
        return [where for where, data in self.texts.items() if any(needle in data for needle in NEEDLES)]


class DaemonProcess:
    """`python -m companion serve` as the native host would start it, under the test's home."""

    def __init__(self, process: asyncio.subprocess.Process, info: RuntimeInfo) -> None:
        self.process = process
        self.info = info

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.info.port}"

    @classmethod
    async def start(cls, sandbox: SandboxHandle, key_file: Path, log_file: Path) -> DaemonProcess:
        env = dict(os.environ, PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring")
        argv = [
            sys.executable,
            "-m",
            "companion",
            "serve",
            "--cats-url",
            sandbox.url,
            "--key-file",
            str(key_file),
        ]
        with log_file.open("ab") as log:
            process = await asyncio.create_subprocess_exec(
                *argv,
                "--log-level",
                "DEBUG",
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                env=env,
            )
        run_dir = paths.runtime_dir()
        deadline = time.monotonic() + 20
        while (info := read_runtime_file(run_dir)) is None or info.pid != process.pid:
            assert process.returncode is None, "the daemon exited while starting; see daemon.log"
            assert time.monotonic() < deadline, "the daemon did not start"
            await asyncio.sleep(0.05)
        return cls(process, info)

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                async with asyncio.timeout(15):
                    await self.process.wait()
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


def post_native(port: int, token: str, body: bytes) -> bytes:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(
            "POST",
            NATIVE_PATH,
            body=body,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        response = connection.getresponse()
        return f"{response.status} {response.getheaders()!r}\n".encode() + response.read()
    finally:
        connection.close()


def fuzz_protocol(daemon: DaemonProcess, evidence: Evidence) -> int:
    """Random messages of every type through POST /api/native; every answer is kept for the scan."""
    registry = TABLE
    types = registry.names()
    models = {name: mutated(from_model(registry.get(name).params)) for name in types}  # type: ignore[union-attr]
    sent = 0

    @fuzz_settings(max_examples=80)
    @given(data=st.data())
    def property_(data: st.DataObject) -> None:
        nonlocal sent
        name = data.draw(st.sampled_from(types))
        envelope = {"id": sent, "type": name, "params": data.draw(models[name]), "v": 1}
        evidence.add(
            f"fuzz reply to {name}",
            post_native(daemon.info.port, daemon.info.token, json.dumps(envelope).encode()),
        )
        sent += 1

    property_()
    return sent


async def soak(daemon: DaemonProcess, sandbox: SandboxHandle, evidence: Evidence) -> dict[str, Any]:
    """Pushes and events through the native host while CATS misbehaves, then a drain once it behaves."""
    host = await HostProcess.start(host_env(CATS_COMPANION_HOST_LOG="1", CATS_COMPANION_HOST_AUTOSTART="0"))
    try:
        evidence.add_process("native host", host.process.pid)
        number = iter(range(1, 10_000))

        async def ask(message_type: str, params: dict[str, Any] | None = None) -> Any:
            message_id = next(number)
            await host.send({"id": message_id, "type": message_type, "params": params or {}})
            # Events (push.state...) arrive between replies: they are evidence too.
            while "event" in (frame := await host.receive()) or frame.get("id") != message_id:
                evidence.add("host event", json.dumps(frame))
            evidence.add(f"host reply to {message_type}", json.dumps(frame))
            return frame

        await sandbox.control.set_faults(
            probabilities={"429": 0.08, "500": 0.08, "503": 0.08, "reset_after": 0.08, "slow": 0.08},
            random_seed=7,
            retry_after_seconds=1,
            slow_seconds=0.05,
        )
        assert (await ask("hello"))["ok"]
        campaign = await ask("campaign.create", {"name": "Scan", "sync_trigger": "on_add"})
        assert campaign["ok"], campaign
        for n in range(PUSHES):
            person = {"first_name": f"Scan{n}", "last_name": "Canary", "emails": [f"scan{n}@canary.example"]}
            assert (await ask("person.push", {"person": person}))["ok"]
            added = {"campaign_id": campaign["data"]["id"], "person": person, "type": "added"}
            await ask("event.record", added)
            outreach = {**added, "type": "outreach", "outreach": "email_sent", "text": f"hello {n}"}
            await ask("event.record", outreach)
        for message_type, params in (
            ("crm.search", {"record_type": "candidates", "query": "Scan"}),
            ("person.status", {"person": {"first_name": "Scan0", "last_name": "Canary"}, "check_cats": True}),
            ("company.lookup", {"name": "Acme"}),
            ("status", {}),
        ):
            await ask(message_type, params)
        async with (
            aiohttp.ClientSession(headers={"Authorization": f"Bearer {daemon.info.token}"}) as http,
            http.post(f"{daemon.url}/api/sync", json={}) as response,
        ):
            evidence.add("sync now", await response.read())
        await asyncio.sleep(1.0)  # let the worker meet a few faults
        await sandbox.control.clear_faults()
        return await drain(ask)
    finally:
        evidence.add("native host stdout (frames)", bytes(host.received))
        _, rest = await host.close()
        evidence.add("native host stdout (rest)", rest)
        assert host.process.stderr is not None
        evidence.add("native host stderr", await host.process.stderr.read())


async def drain(ask: Any) -> dict[str, Any]:
    """Wait (bounded) for the outbox to empty, sending waiting items at once now that CATS behaves."""
    deadline = time.monotonic() + DRAIN_SECONDS
    while True:
        listed = await ask("outbox.list", {"limit": 500})
        counts: dict[str, int] = listed["data"]["counts"]
        if not {"queued", "sending", "waiting"} & set(counts) or time.monotonic() > deadline:
            return counts
        for item in listed["data"]["items"]:
            if item["status"] == "waiting":
                await ask("outbox.retry", {"id": item["id"]})
        await asyncio.sleep(0.5)


async def loopback_reads(daemon: DaemonProcess, evidence: Evidence) -> None:
    """Every read the settings window makes, with the right token and with wrong ones."""
    async with aiohttp.ClientSession() as http:
        for path in (
            "/api/status",
            "/api/settings",
            "/api/activity",
            "/api/catalogue",
            "/api/sync",
        ):
            for token in (daemon.info.token, "wrong", KEY):
                async with http.get(
                    f"{daemon.url}{path}", headers={"Authorization": f"Bearer {token}"}
                ) as response:
                    evidence.add(f"GET {path}", f"{response.status} {dict(response.headers)!r}\n")
                    evidence.add(f"GET {path} body", await response.read())


@pytest.fixture
async def sandbox_with_key(sandbox_factory: SandboxFactory) -> SandboxHandle:
    return await sandbox_factory(api_key=KEY, seed=5, seed_random=2, rate_limit=0)


@pytest.fixture
async def daemon_process(sandbox_with_key: SandboxHandle, tmp_path: Path) -> AsyncIterator[DaemonProcess]:
    key_file = tmp_path / "cats.key"  # outside the companion's home: only the key's own file holds it
    key_file.write_text(KEY + "\n", encoding="utf-8")
    key_file.chmod(0o600)
    log_dir = paths.log_dir()
    log_dir.mkdir(parents=True, exist_ok=True)
    daemon = await DaemonProcess.start(sandbox_with_key, key_file, log_dir / "daemon.log")
    try:
        yield daemon
    finally:
        await daemon.stop()


async def test_after_a_soak_with_faults_and_protocol_fuzzing_the_key_is_in_no_log_file_response_or_process(
    daemon_process: DaemonProcess, sandbox_with_key: SandboxHandle, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="companion")
    evidence = Evidence()
    evidence.add_process("daemon", daemon_process.process.pid)

    counts = await soak(daemon_process, sandbox_with_key, evidence)
    sent = await asyncio.to_thread(fuzz_protocol, daemon_process, evidence)
    await loopback_reads(daemon_process, evidence)
    evidence.add_process("daemon (after the run)", daemon_process.process.pid)
    cli = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "companion",
        "key",
        "set",
        "--cats-url",
        sandbox_with_key.url,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=dict(os.environ, PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring"),
    )
    with contextlib.suppress(FileNotFoundError):
        evidence.add_process("key set", cli.pid)
    out, err = await asyncio.wait_for(cli.communicate(KEY.encode() + b"\n"), 30)
    evidence.add("key set stdout", out)
    evidence.add("key set stderr", err)

    home = paths.data_dir().parent
    live_files = evidence.add_tree(home)  # while the daemon runs: its WAL and runtime files exist
    await daemon_process.stop()
    evidence.add_tree(home)
    evidence.add("captured logging", caplog.text)
    for record in caplog.records:
        evidence.add(f"log record {record.name}", repr(record.__dict__))

    assert evidence.leaks() == []

    # The scan looked at real things: CATS was used with the key, the files and logs it must cover exist.
    requests = (await sandbox_with_key.control.counters())["requests_total"]
    assert requests >= 3 * PUSHES, requests
    assert counts.get("synced", 0) >= PUSHES, counts
    assert sent == 80
    names = {path.name for path in live_files}
    assert {"companion.db", "companion.db-wal", "daemon.json", "daemon.log", "host.log"} <= names, names
    daemon_log = (paths.log_dir() / "daemon.log").read_text(encoding="utf-8")
    assert "POST /candidates" in daemon_log and "DEBUG" in daemon_log
    assert b"--key-file" in next(data for where, data in evidence.texts.items() if "daemon /proc" in where)
    # And the scan would have seen the key had it been there.
    planted = Evidence()
    planted.add("control", f"Authorization: Token {KEY}")
    assert planted.leaks() == ["control #0"]
