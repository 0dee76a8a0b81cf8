"""install-host / uninstall-host: manifests, launcher and config where each browser looks; exact removal."""

from __future__ import annotations

import argparse
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from companion.cli import build_parser
from companion.cli import host as hostinstall
from companion.cli.host import (
    HOST_NAME,
    MANIFEST_FILE,
    Environment,
    InstallError,
    install,
    run_install,
    run_uninstall,
    targets_for,
    uninstall,
)
from companion.nmhost.config import EXTENSION_ID, origin_of
from tests.nmhost.frames import frame, host_env, parse_frames

EXTRA_ID = "abcdefghijklmnopabcdefghijklmnop"
posix_only = pytest.mark.skipif(os.name != "posix", reason="launcher scripts and modes are POSIX here")


class FakeRegistry:
    """The Windows registry as a dict: the OS edge install-host writes to."""

    def __init__(self) -> None:
        self.values: dict[tuple[str, str], str] = {}

    def set_default(self, hive: str, key: str, value: str) -> None:
        self.values[(hive, key)] = value

    def get_default(self, hive: str, key: str) -> str | None:
        return self.values.get((hive, key))

    def delete(self, hive: str, key: str) -> None:
        self.values.pop((hive, key), None)


def machine(tmp_path: Path, platform: str = "linux", **kwargs: object) -> Environment:
    home = tmp_path / "user-home"
    home.mkdir(exist_ok=True)
    env = {"HOME": str(home)}
    return Environment(platform=platform, home=home, env=env, **kwargs)  # type: ignore[arg-type]


def cli(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(list(argv))


@posix_only
def test_install_into_a_user_data_dir_writes_manifest_launcher_and_config(tmp_path: Path) -> None:
    profile = tmp_path / "profile"
    assert run_install(cli("install-host", "--user-data-dir", str(profile), "--extension-id", EXTRA_ID)) == 0
    manifest = json.loads((profile / "NativeMessagingHosts" / MANIFEST_FILE).read_text())
    launcher = Path(manifest["path"])
    assert manifest["name"] == HOST_NAME and manifest["type"] == "stdio"
    assert manifest["allowed_origins"] == [origin_of(EXTENSION_ID), origin_of(EXTRA_ID)]
    assert launcher.is_absolute()
    assert stat.S_IMODE(launcher.stat().st_mode) == 0o755
    script = launcher.read_text()
    assert script.startswith("#!/bin/sh\n")
    assert f'exec {sys.executable} -S -m companion.nmhost "$@"' in script
    config = json.loads((launcher.parent / "host-config.json").read_text())
    assert config["allowed_origins"] == manifest["allowed_origins"]


@posix_only
def test_the_launcher_runs_the_host_for_allowed_callers_only(tmp_path: Path) -> None:
    profile = tmp_path / "profile"
    run_install(cli("install-host", "--user-data-dir", str(profile)))
    launcher = json.loads((profile / "NativeMessagingHosts" / MANIFEST_FILE).read_text())["path"]
    env = host_env()
    env.pop("PYTHONPATH", None)
    refused = subprocess.run(
        [launcher, origin_of(EXTRA_ID)], input=b"", capture_output=True, env=env, timeout=30, check=False
    )
    assert refused.returncode == 3
    assert parse_frames(refused.stdout)[0]["error"]["code"] == "auth.origin"
    served = subprocess.run(
        [launcher, origin_of(EXTENSION_ID)],
        input=frame({"id": 1, "type": "ping"}),
        capture_output=True,
        env=env,
        timeout=30,
        check=False,
    )
    assert served.returncode == 0
    (reply,) = parse_frames(served.stdout)
    assert reply["id"] == 1 and reply["error"]["code"] == "daemon.unavailable"


@posix_only
def test_uninstall_removes_exactly_what_install_wrote(tmp_path: Path) -> None:
    profile = tmp_path / "profile"
    hosts = profile / "NativeMessagingHosts"
    hosts.mkdir(parents=True)
    neighbour = hosts / "com.other.host.json"
    neighbour.write_text("{}")
    run_install(cli("install-host", "--user-data-dir", str(profile)))
    launcher_dir = Path(json.loads((hosts / MANIFEST_FILE).read_text())["path"]).parent
    assert run_uninstall(cli("uninstall-host")) == 0
    assert not (hosts / MANIFEST_FILE).exists()
    assert not launcher_dir.exists()
    assert neighbour.read_text() == "{}" and hosts.is_dir()


@posix_only
def test_a_manifest_changed_since_install_is_left_in_place(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    profile = tmp_path / "profile"
    run_install(cli("install-host", "--user-data-dir", str(profile)))
    manifest = profile / "NativeMessagingHosts" / MANIFEST_FILE
    manifest.write_text('{"edited": "by hand"}')
    run_uninstall(cli("uninstall-host"))
    assert manifest.read_text() == '{"edited": "by hand"}'
    assert "Left in place" in capsys.readouterr().out


def test_uninstall_with_nothing_installed_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_uninstall(cli("uninstall-host")) == 0
    assert "Nothing to remove" in capsys.readouterr().out


@posix_only
def test_by_default_the_browsers_found_are_registered(tmp_path: Path) -> None:
    box = machine(tmp_path)
    for name in ("google-chrome", "chromium"):
        (box.home / ".config" / name).mkdir(parents=True)
    assert run_install(cli("install-host"), box) == 0
    config = box.home / ".config"
    assert (config / "google-chrome" / "NativeMessagingHosts" / MANIFEST_FILE).exists()
    assert (config / "chromium" / "NativeMessagingHosts" / MANIFEST_FILE).exists()
    assert not (config / "microsoft-edge").exists()


def test_with_no_browser_found_install_asks_for_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_install(cli("install-host"), machine(tmp_path)) == 1
    assert "--browser" in capsys.readouterr().err


def test_each_platform_has_its_browser_directories(tmp_path: Path) -> None:
    linux = machine(tmp_path)
    by_browser = {
        t.browser: t.directory for t in targets_for(hostinstall.BROWSERS, system=False, machine=linux)
    }
    assert by_browser["brave"] == linux.home / ".config/BraveSoftware/Brave-Browser/NativeMessagingHosts"
    assert by_browser["edge"] == linux.home / ".config/microsoft-edge/NativeMessagingHosts"
    mac = machine(tmp_path, "darwin")
    chrome = targets_for(["chrome"], system=False, machine=mac)[0]
    assert chrome.directory == mac.home / "Library/Application Support/Google/Chrome/NativeMessagingHosts"
    system = {t.browser: t.directory for t in targets_for(["chrome", "chromium"], system=True, machine=linux)}
    assert system == {
        "chrome": Path("/etc/opt/chrome/native-messaging-hosts"),
        "chromium": Path("/etc/chromium/native-messaging-hosts"),
    }
    assert targets_for(["chrome"], system=True, machine=mac)[0].directory == Path(
        "/Library/Google/Chrome/NativeMessagingHosts"
    )
    with pytest.raises(InstallError, match="no known system-wide location for brave"):
        targets_for(["brave"], system=True, machine=linux)


def test_xdg_config_home_moves_the_linux_browser_directories(tmp_path: Path) -> None:
    box = machine(tmp_path)
    box.env = {"XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    assert (
        targets_for(["chromium"], system=False, machine=box)[0].directory
        == tmp_path / "xdg/chromium/NativeMessagingHosts"
    )


def test_windows_registers_a_registry_key_per_browser_and_uninstall_removes_them(tmp_path: Path) -> None:
    registry = FakeRegistry()
    box = machine(tmp_path, "win32", registry=registry, launcher_dir=tmp_path / "host")
    result = install(
        targets_for(["chrome", "edge"], system=False, machine=box),
        system=False,
        extension_ids=[],
        machine=box,
    )
    manifest = str(tmp_path / "host" / MANIFEST_FILE)
    assert registry.values == {
        ("HKCU", rf"Software\Google\Chrome\NativeMessagingHosts\{HOST_NAME}"): manifest,
        ("HKCU", rf"Software\Microsoft\Edge\NativeMessagingHosts\{HOST_NAME}"): manifest,
    }
    assert result.launcher.name == "cats-companion-host.bat"
    assert "-S -m companion.nmhost %*" in result.launcher.read_text()
    assert json.loads(Path(manifest).read_text())["path"] == str(result.launcher)
    # Someone points Edge's key elsewhere: uninstall leaves that key alone.
    registry.values[("HKCU", rf"Software\Microsoft\Edge\NativeMessagingHosts\{HOST_NAME}")] = "C:\\other.json"
    _removed, kept = uninstall(system=False, machine=box)
    assert registry.values == {
        ("HKCU", rf"Software\Microsoft\Edge\NativeMessagingHosts\{HOST_NAME}"): "C:\\other.json"
    }
    assert any("Edge" in item for item in kept)
    assert not Path(manifest).exists()


def test_windows_system_install_uses_the_machine_hive(tmp_path: Path) -> None:
    box = machine(tmp_path, "win32", registry=FakeRegistry())
    (target,) = targets_for(["chrome"], system=True, machine=box)
    assert target.hive == "HKLM"


@posix_only
def test_a_failed_install_leaves_nothing_behind(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file")
    box = machine(tmp_path, launcher_dir=tmp_path / "host")
    targets = targets_for([], system=False, machine=box, user_data_dirs=[tmp_path / "ok", blocker])
    with pytest.raises(InstallError, match="nothing was changed"):
        install(targets, system=False, extension_ids=[], machine=box)
    assert not (tmp_path / "host").exists()
    assert not (tmp_path / "ok").exists()
    assert blocker.read_text() == "a file"


def test_a_malformed_extension_id_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli("install-host", "--extension-id", "ABC")
    assert exited.value.code == 2
    assert "not an extension id" in capsys.readouterr().err


def test_install_byte_compiles_the_hosts_modules_so_its_first_start_compiles_nothing(tmp_path: Path) -> None:
    import importlib.util

    sources = hostinstall.host_module_files()
    assert {source.name for source in sources} >= {"__init__.py", "errors.py", "host.py", "wire.py"}
    for source in sources:
        Path(importlib.util.cache_from_source(str(source))).unlink(missing_ok=True)
    assert run_install(cli("install-host", "--user-data-dir", str(tmp_path / "profile"))) == 0
    for source in sources:
        compiled = Path(importlib.util.cache_from_source(str(source)))
        assert compiled.is_file() and compiled.stat().st_mtime >= source.stat().st_mtime, source
