"""`cats-companion doctor` on a healthy installation and on broken ones: each problem named with its fix."""

from __future__ import annotations

import asyncio
import io
import json
import os
import sys
from pathlib import Path

import pytest
from keyring.errors import InitError

from companion import paths
from companion.cats_url import remember_url, url_file
from companion.cli import demo_state, doctor
from companion.cli.doctor import Options
from companion.cli.host import MANIFEST_FILE, Environment, install, targets_for
from companion.errors import KeyringLockedError
from companion.keystore import SERVICE_NAME, normalize_base_url
from companion.nmhost import locations
from companion.secret import ApiKey
from companion.server.runtime import RuntimeInfo, write_runtime_file
from tests.fixtures.daemon import DaemonFactory
from tests.fixtures.keyring import FailingKeyring, MemoryKeyring, install_keyring
from tests.fixtures.sandbox import SandboxHandle

pytestmark = [
    pytest.mark.timeout(60),
    pytest.mark.skipif(os.name != "posix", reason="launchers, sockets and modes are POSIX here"),
]


def options(tmp_path: Path, **kwargs: object) -> Options:
    home = tmp_path / "user-home"
    home.mkdir(exist_ok=True)
    # No real browser of this machine is looked at: the home is empty.
    box = Environment(platform=sys.platform, home=home, env={"HOME": str(home)})
    return Options(machine=box, user_data_dirs=[tmp_path / "profile"], **kwargs)  # type: ignore[arg-type]


def installed(tmp_path: Path) -> Path:
    box = Environment(home=tmp_path / "user-home", env=dict(os.environ))
    targets = targets_for([], system=False, machine=box, user_data_dirs=[tmp_path / "profile"])
    return install(targets, system=False, extension_ids=[], machine=box).launcher


async def diagnose(opts: Options) -> tuple[int, str]:
    """Run doctor off the event loop: it talks to the daemon (on this loop) with blocking calls."""
    out = io.StringIO()
    code = await asyncio.to_thread(lambda: doctor.report(doctor.run_checks(opts), out))
    return code, out.getvalue()


def line(text: str, title: str) -> str:
    return next(row for row in text.splitlines() if row[6:].startswith(title))


async def test_a_healthy_installation_passes(
    tmp_path: Path, daemon_factory: DaemonFactory, sandbox: SandboxHandle, memory_keyring: MemoryKeyring
) -> None:
    installed(tmp_path)
    memory_keyring.set_password(SERVICE_NAME, normalize_base_url(sandbox.url), sandbox.api_key)
    daemon = await daemon_factory(key=sandbox.key, cats_base_url=sandbox.url)
    assert daemon.companion.check_task is not None
    await daemon.companion.check_task
    code, text = await diagnose(options(tmp_path))
    assert code == 0, text
    assert "FAIL" not in text
    assert line(text, "host manifest (--user-data-dir").startswith("OK")
    assert "starts the native host" in line(text, "launcher")
    assert line(text, "daemon").startswith("OK") and f"pid {os.getpid()}" in line(text, "daemon")
    assert line(text, "CATS connection").startswith("OK")
    assert line(text, "API key").startswith("OK")
    assert line(text, "runtime dir").startswith("OK")
    # The daemon's sync state, read through the CLI's client like its status.
    assert line(text, "company cache").startswith("OK") and "never synced" in line(text, "company cache")
    assert sandbox.api_key not in text


async def test_a_broken_installation_names_each_problem_and_its_fix(tmp_path: Path) -> None:
    hosts = tmp_path / "profile" / "NativeMessagingHosts"
    hosts.mkdir(parents=True)
    (hosts / MANIFEST_FILE).write_text(
        json.dumps(
            {
                "name": "com.cats_companion.host",
                "path": "relative/launcher",
                "type": "stdio",
                "allowed_origins": ["chrome-extension://abcdefghijklmnopabcdefghijklmnop/"],
            }
        )
    )
    code, text = await diagnose(options(tmp_path))
    assert code == 1
    manifest = line(text, "host manifest (--user-data-dir")
    assert manifest.startswith("FAIL")
    assert "not absolute" in manifest and "does not list our extension" in manifest
    assert line(text, "daemon").startswith("WARN")
    assert line(text, "API key").startswith("FAIL")
    assert "cats-companion key set" in text and "cats-companion install-host" in text


async def test_no_manifest_anywhere_fails_with_the_install_command(tmp_path: Path) -> None:
    code, text = await diagnose(options(tmp_path))
    assert code == 1
    assert line(text, "host manifest:").startswith("FAIL")
    assert "run `cats-companion install-host`" in text


async def test_a_launcher_whose_python_is_gone_fails(tmp_path: Path) -> None:
    launcher = installed(tmp_path)
    launcher.write_text(launcher.read_text().replace(sys.executable, str(tmp_path / "gone/bin/python")))
    code, text = await diagnose(options(tmp_path))
    assert code == 1
    assert "no longer exists" in line(text, "launcher")


async def test_a_stale_daemon_record_fails_with_advice(tmp_path: Path) -> None:
    dead = await asyncio.create_subprocess_exec(sys.executable, "-c", "pass")
    await dead.wait()
    run_dir = Path(locations.runtime_dir())
    paths.private_dir(run_dir)
    write_runtime_file(run_dir, RuntimeInfo(port=1, token="t" * 43, pid=dead.pid, version="0", socket=None))
    _, text = await diagnose(options(tmp_path, run_launchers=False))
    daemon_line = line(text, "daemon")
    assert daemon_line.startswith("FAIL") and "does not answer" in daemon_line
    assert "t" * 43 not in text
    # Doctor reports the daemon missing; it never starts one.
    recorded = locations.read_daemon_info(str(run_dir))
    assert recorded is not None and recorded.pid == dead.pid


async def test_an_unusable_settings_file_is_a_warning(tmp_path: Path) -> None:
    try:
        from companion.settings.storage import SETTINGS_FILE
    except ImportError:
        pytest.skip("the settings module is not in this tree yet")
    config = paths.config_dir()
    config.mkdir(parents=True, exist_ok=True)
    (config / SETTINGS_FILE).write_text("{ not json")
    _, text = await diagnose(options(tmp_path, run_launchers=False))
    assert line(text, "settings").startswith("WARN")


def test_doctor_is_a_cli_command_that_exits_non_zero_on_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from companion.cli import main

    monkeypatch.setenv("HOME", str(tmp_path))  # no browser of this machine is looked at
    code = main(["doctor", "--no-run"])
    out = capsys.readouterr().out
    assert code == 1
    assert out.splitlines()[0].startswith("OK    python: Python ")
    assert out.rstrip().endswith("problem(s) to fix.")


async def test_without_a_daemon_the_key_is_looked_for_under_the_url_it_was_set_up_for(
    tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    remember_url("http://127.0.0.1:9/v3")
    _, text = await diagnose(options(tmp_path))
    assert "no CATS API key stored for http://127.0.0.1:9/v3" in line(text, "API key")

    url_file().write_text("{}")
    _, text = await diagnose(options(tmp_path))
    assert line(text, "CATS URL").startswith("FAIL")
    assert str(url_file()) in line(text, "CATS URL")


async def test_a_daemon_that_finds_the_keyring_locked_is_told_to_unlock_it(
    tmp_path: Path, daemon_factory: DaemonFactory
) -> None:
    def locked(base_url: str) -> ApiKey | None:
        raise KeyringLockedError("Could not read the keyring: it is locked and was not unlocked")

    await daemon_factory(key_source=locked)
    _, text = await diagnose(options(tmp_path))
    connection = line(text, "CATS connection")
    assert connection.startswith("FAIL") and "key.keyring_locked" in connection
    assert "unlock the keyring" in text
    assert "key set" not in connection


async def test_while_the_demo_runs_doctor_says_what_it_uses_instead_of_failing_on_the_keyring(
    tmp_path: Path, daemon_factory: DaemonFactory, sandbox: SandboxHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    installed(tmp_path)
    install_keyring(monkeypatch, FailingKeyring(InitError("Prompt dismissed")), explicit=True)
    await daemon_factory(key=sandbox.key, cats_base_url=sandbox.url)
    with demo_state.recorded(sandbox.url, paths.data_dir() / "demo"):
        code, text = await diagnose(options(tmp_path))
    assert code == 0, text
    assert "FAIL" not in text
    assert line(text, "API key").startswith("OK") and f"the CATS sandbox at {sandbox.url}" in text
    # The same daemon without the demo's note: the keyring is needed, and it fails.
    code, text = await diagnose(options(tmp_path))
    assert code == 1 and line(text, "keyring").startswith("FAIL")


async def test_with_no_browser_installed_the_missing_manifest_is_a_warning_with_the_fix(
    tmp_path: Path,
) -> None:
    home = tmp_path / "empty-home"
    home.mkdir()
    bare = Options(machine=Environment(platform=sys.platform, home=home, env={"HOME": str(home)}))
    _, text = await diagnose(bare)
    manifest = line(text, "host manifest:")
    assert manifest.startswith("WARN") and "no Chrome, Chromium" in manifest
    assert "run `cats-companion install-host`" in text


def test_the_cache_line_is_a_sentence() -> None:
    state = {
        "configured": True,
        "running": False,
        "companies_in_cache": 2000,
        "cache_age_seconds": 94.07,
        "last_run_requests": 1,
        "next_run_at": "2026-12-06T04:13:37.745339Z",
        "full_scan_pending": False,
    }
    assert doctor.cache_sentence(state) == (
        "2,000 companies, synced 94 s ago (the last sync cost 1 CATS request); "
        "the next sync is due at 2026-12-06 04:13:37 UTC."
    )
    assert doctor.cache_sentence({"configured": False}) == (
        "no companies yet, never synced; no sync is scheduled until a CATS API key is set."
    )
