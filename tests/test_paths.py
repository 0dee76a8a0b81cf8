"""Where files go, and that private directories really are private."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from companion import paths
from companion.errors import ConfigError
from companion.nmhost.locations import HOME_ENV


def test_home_override_puts_every_location_under_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(HOME_ENV, str(tmp_path))
    for found in (paths.data_dir(), paths.config_dir(), paths.log_dir(), paths.runtime_dir()):
        assert found.is_relative_to(tmp_path)


def test_private_dir_is_created_readable_only_by_the_user(tmp_path: Path) -> None:
    made = paths.private_dir(tmp_path / "a" / "run")
    assert stat.S_IMODE(made.stat().st_mode) == 0o700


def test_private_dir_tightens_an_existing_open_directory(tmp_path: Path) -> None:
    loose = tmp_path / "run"
    loose.mkdir(mode=0o777)
    loose.chmod(0o777)
    paths.private_dir(loose)
    assert stat.S_IMODE(loose.stat().st_mode) == 0o700


def test_private_dir_refuses_a_symlink_planted_in_its_place(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.mkdir()
    planted = tmp_path / "run"
    planted.symlink_to(target)
    with pytest.raises(ConfigError, match="not a plain directory"):
        paths.private_dir(planted)


def test_private_dir_refuses_a_directory_owned_by_another_user(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    planted = tmp_path / "run"
    planted.mkdir(mode=0o777)
    # Pretend to be another user: the directory's owner is then somebody else.
    monkeypatch.setattr(os, "getuid", lambda: planted.stat().st_uid + 1)
    with pytest.raises(ConfigError, match="another user"):
        paths.private_dir(planted)
