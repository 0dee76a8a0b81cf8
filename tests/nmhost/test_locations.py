"""Where host and daemon find the runtime dir (daemon.json, the socket) and the log dir, on each platform."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from companion.nmhost import locations

posix_only = pytest.mark.skipif(os.name != "posix", reason="XDG rules and file modes are POSIX features")


def test_companion_home_overrides_everything(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CATS_COMPANION_HOME", str(tmp_path))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "xdg-run"))
    assert locations.runtime_dir() == str(tmp_path / "run")
    assert locations.log_dir() == str(tmp_path / "log")
    assert locations.home_override("data") == str(tmp_path / "data")


def test_an_empty_companion_home_is_no_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CATS_COMPANION_HOME", "")
    assert locations.home_override("run") is None
    assert locations.runtime_dir().endswith("cats-companion")


@posix_only
def test_a_private_xdg_runtime_dir_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CATS_COMPANION_HOME")
    runtime = tmp_path / "xdg-run"
    runtime.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert locations.runtime_dir() == str(runtime / "cats-companion")
    assert locations.log_dir() == str(tmp_path / "state" / "cats-companion" / "log")


@posix_only
def test_an_xdg_runtime_dir_others_can_read_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CATS_COMPANION_HOME")
    runtime = tmp_path / "shared-run"
    runtime.mkdir()
    runtime.chmod(0o755)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    assert not locations.runtime_dir().startswith(str(runtime))


@posix_only
def test_without_xdg_variables_the_runtime_dir_is_run_user_or_a_per_user_temp_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CATS_COMPANION_HOME")
    for name in ("XDG_RUNTIME_DIR", "XDG_STATE_HOME", "TMPDIR", "TEMP", "TMP"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    uid = os.geteuid()
    assert locations.runtime_dir(platform="linux") in {
        f"/run/user/{uid}/cats-companion",
        f"/tmp/runtime-{uid}/cats-companion",
    }
    state = tmp_path / ".local" / "state"
    assert locations.log_dir(platform="linux") == str(state / "cats-companion" / "log")


@posix_only
def test_a_relative_xdg_runtime_dir_is_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CATS_COMPANION_HOME")
    monkeypatch.setenv("XDG_RUNTIME_DIR", "relative/run")
    found = locations.runtime_dir()
    assert os.path.isabs(found) and "relative/run" not in found


def test_other_platforms_follow_platformdirs_layout(tmp_path: Path) -> None:
    home = str(tmp_path)
    mac = locations.runtime_dir({"HOME": home}, "darwin")
    assert mac == f"{home}/Library/Caches/TemporaryItems/cats-companion"
    assert locations.log_dir({"HOME": home}, "darwin") == f"{home}/Library/Logs/cats-companion"
    win = {"LOCALAPPDATA": "C:\\Users\\r\\AppData\\Local"}
    assert locations.runtime_dir(win, "win32").endswith(os.path.join("Temp", "cats-companion"))
    assert locations.log_dir(win, "win32").endswith(os.path.join("cats-companion", "Logs"))


def test_daemon_info_is_read_and_bad_files_are_ignored(tmp_path: Path) -> None:
    runtime = tmp_path / "daemon.json"
    assert locations.read_daemon_info(str(tmp_path)) is None
    runtime.write_text("{torn")
    assert locations.read_daemon_info(str(tmp_path)) is None
    runtime.write_text(json.dumps({"port": "80", "token": "t", "pid": 1}))
    assert locations.read_daemon_info(str(tmp_path)) is None
    runtime.write_text(json.dumps({"port": 8080, "token": "sekrit", "pid": 12, "socket": "/x/daemon.sock"}))
    info = locations.read_daemon_info(str(tmp_path))
    assert info is not None and (info.port, info.pid, info.socket) == (8080, 12, "/x/daemon.sock")
    assert "sekrit" not in repr(info)


@posix_only
def test_a_runtime_dir_others_can_enter_is_not_trusted(tmp_path: Path) -> None:
    shared = tmp_path / "run"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)
    assert "accessible by other users" in (locations.private_dir_problem(str(shared)) or "")
    shared.chmod(0o700)
    assert locations.private_dir_problem(str(shared)) is None
