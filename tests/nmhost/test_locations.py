"""The host's stdlib copy of the path rules finds the same directories as companion.paths (platformdirs)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from companion import paths
from companion.nmhost import locations

posix_only = pytest.mark.skipif(os.name != "posix", reason="XDG rules and file modes are POSIX features")


def agree(monkeypatch: pytest.MonkeyPatch) -> None:
    """Both implementations, under the environment the test set up."""
    assert locations.runtime_dir() == str(paths.runtime_dir())
    assert locations.log_dir() == str(paths.log_dir())


def test_companion_home_overrides_everything(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CATS_COMPANION_HOME", str(tmp_path))
    agree(monkeypatch)
    assert locations.runtime_dir() == str(tmp_path / "run")


@posix_only
def test_a_private_xdg_runtime_dir_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CATS_COMPANION_HOME")
    runtime = tmp_path / "xdg-run"
    runtime.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    agree(monkeypatch)
    assert locations.runtime_dir() == str(runtime / "cats-companion")


@posix_only
def test_an_xdg_runtime_dir_others_can_read_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CATS_COMPANION_HOME")
    runtime = tmp_path / "shared-run"
    runtime.mkdir()
    runtime.chmod(0o755)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    agree(monkeypatch)
    assert not locations.runtime_dir().startswith(str(runtime))


@posix_only
def test_without_xdg_variables_both_fall_back_alike(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CATS_COMPANION_HOME")
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.delenv("XDG_STATE_HOME", raising=False)
    agree(monkeypatch)


@posix_only
def test_a_relative_xdg_runtime_dir_is_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CATS_COMPANION_HOME")
    monkeypatch.setenv("XDG_RUNTIME_DIR", "relative/run")
    agree(monkeypatch)


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
