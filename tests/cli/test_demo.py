"""`cats-companion demo` registers the host for the browsers found, says how to load the extension and what
to look up first, keeps the sandbox's data across restarts (`--reset` starts afresh)."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path

import pytest

from companion import paths
from companion.cli.demo import (
    DEFAULT_SEED,
    SANDBOX_DB_NAME,
    TRY_LOOKUPS,
    extension_dir,
    extension_lines,
    host_lines,
    lookup_lines,
)
from companion.cli.demo_state import DEMO_FILE_NAME, running_demo
from companion.cli.host import MANIFEST_FILE, Environment
from companion.cli.lookup import lookup_command
from companion.cli.sync import sync_command
from companion.nmhost.config import EXTENSION_ID, origin_of
from companion.sandbox.store import SandboxStore
from tests.fixtures.daemon import DaemonFactory
from tests.fixtures.sandbox import SandboxFactory


def linux(tmp_path: Path) -> Environment:
    home = tmp_path / "home"
    home.mkdir()
    return Environment(platform="linux", home=home, env={"HOME": str(home)}, launcher_dir=tmp_path / "host")


def test_the_host_is_registered_for_each_browser_found_and_again_without_change(tmp_path: Path) -> None:
    machine = linux(tmp_path)
    (machine.home / ".config" / "chromium").mkdir(parents=True)
    (machine.home / ".config" / "google-chrome").mkdir(parents=True)

    lines = host_lines(machine)
    manifests = [
        machine.home / ".config" / b / "NativeMessagingHosts" / MANIFEST_FILE
        for b in ("google-chrome", "chromium")
    ]
    assert all(m.is_file() for m in manifests)
    manifest = json.loads(manifests[1].read_text())
    assert manifest["allowed_origins"] == [origin_of(EXTENSION_ID)]
    assert Path(manifest["path"]).is_file()
    assert lines[0].startswith("Native host      registered for chrome, chromium")
    before = [m.read_bytes() for m in manifests]

    assert host_lines(machine) == lines
    assert [m.read_bytes() for m in manifests] == before


def test_without_a_browser_nothing_is_written_and_the_fix_is_named(tmp_path: Path) -> None:
    machine = linux(tmp_path)
    lines = host_lines(machine)
    assert "not registered" in lines[0] and "cats-companion install-host" in lines[1]
    assert not (tmp_path / "host").exists()


def test_the_extension_steps_name_the_unpacked_folder(tmp_path: Path) -> None:
    lines = "\n".join(extension_lines())
    assert "chrome://extensions" in lines and "Developer mode" in lines
    assert str(extension_dir()) in lines and (extension_dir() / "manifest.json").is_file()
    assert "extension/ folder of your checkout" in "\n".join(extension_lines(tmp_path))


def demo(*extra: str) -> int:
    from companion import cli

    return cli.main(
        ["demo", "--seed", "20", "--rate-limit", "0", "--stop-after", "0.5", "--no-install-host", *extra]
    )


def test_the_sandbox_keeps_its_data_beside_the_demos_database_and_reset_starts_afresh(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert demo() == 0
    first = capsys.readouterr().out
    stored = paths.data_dir() / "demo" / SANDBOX_DB_NAME
    assert "data           20 companies" in first and str(stored) in first
    # What the outbox would have pushed while the demo ran: a record written into the sandbox.
    store = SandboxStore(str(stored))
    try:
        owner = store.create_user(username="owner", first_name="Olive", last_name="Owner")
        store.create_record("companies", {"name": "Pushed Before The Restart Ltd", "owner_id": owner})
    finally:
        store.close()

    assert demo() == 0
    assert "data           21 companies" in capsys.readouterr().out

    assert demo("--reset") == 0
    assert "data           20 companies" in capsys.readouterr().out
    store = SandboxStore(str(stored))
    try:
        assert store.record_counts()["companies"] == 20
    finally:
        store.close()


def test_no_note_of_the_demo_is_left_once_it_stops(capsys: pytest.CaptureFixture[str]) -> None:
    assert demo() == 0
    assert running_demo() is None
    assert not (paths.runtime_dir() / DEMO_FILE_NAME).exists()


async def test_the_names_the_demo_suggests_match_and_one_has_a_look_alike(
    daemon_factory: DaemonFactory, sandbox_factory: SandboxFactory
) -> None:
    # The demo's own data: its default seed and random seed.
    sandbox = await sandbox_factory(seed=DEFAULT_SEED, seed_random=1, rate_limit=0)
    await daemon_factory(key=sandbox.key, cats_base_url=sandbox.url, check_connection=False)
    assert await asyncio.to_thread(sync_command, cats_url=None, full=True, out=io.StringIO(), poll=0.05) == 0
    warned = []
    for name in TRY_LOOKUPS:
        out = io.StringIO()
        assert await asyncio.to_thread(lookup_command, name, as_json=True, out=out) == 0
        reply = json.loads(out.getvalue())
        assert reply["match"] is not None, name
        warned += [name] if reply["warnings"] else []
    assert len(warned) == 1
    text = "\n".join(lookup_lines(DEFAULT_SEED))
    assert all(f'cats-companion lookup "{name}"' in text for name in TRY_LOOKUPS)
