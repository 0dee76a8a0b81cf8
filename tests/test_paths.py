"""Where files go, and that private directories really are private."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from unittest import mock

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


# --- where the team policy is looked for ----------------------------------------------------------------

FIXED_LINUX = [Path("/etc/xdg/cats-companion"), Path("/etc/cats-companion")]


def test_every_xdg_config_dirs_entry_is_searched_after_the_fixed_places() -> None:
    # Ubuntu's desktop session: the policy installed in /etc/xdg must still be found.
    env = {"XDG_CONFIG_DIRS": "/etc/xdg/xdg-ubuntu:/etc/xdg:relative/ignored"}
    assert paths.site_config_dirs(env, "linux") == [*FIXED_LINUX, Path("/etc/xdg/xdg-ubuntu/cats-companion")]
    assert paths.site_config_dir(env, "linux") == FIXED_LINUX[0]


def test_the_environment_cannot_move_or_hide_the_fixed_places(tmp_path: Path) -> None:
    env = {"XDG_CONFIG_DIRS": str(tmp_path / "mine"), HOME_ENV: str(tmp_path / "home")}
    found = paths.site_config_dirs(env, "linux")
    assert found[:2] == FIXED_LINUX and found[2:] == [tmp_path / "mine" / "cats-companion"]
    assert paths.site_config_dirs({}, "darwin") == [Path("/Library/Application Support/cats-companion")]
    assert paths.site_config_dirs({"XDG_CONFIG_DIRS": str(tmp_path)}, "darwin") == [
        Path("/Library/Application Support/cats-companion")
    ]


def _admin_owned(directory: Path) -> Path:
    directory.mkdir(parents=True)
    (directory / "policy.json").write_text("{}", encoding="utf-8")
    return directory


@pytest.mark.skipif(os.name != "posix" or os.getuid() != 0, reason="needs files owned by root, made as root")
def test_the_test_variable_moves_the_policy_only_to_an_administrators_directory(tmp_path: Path) -> None:
    owned = _admin_owned(tmp_path / "site")
    env = {paths.SITE_CONFIG_ENV: str(owned)}
    assert paths.site_config_dirs(env, "linux") == [owned]

    # Anything a user could have made, or could still change, is ignored: the fixed places apply.
    users = _admin_owned(tmp_path / "users")
    os.chown(users / "policy.json", 65534, 65534)
    assert paths.untrusted_site_dir(users) == f"{users / 'policy.json'} does not belong to root"
    assert paths.site_config_dirs({paths.SITE_CONFIG_ENV: str(users)}, "linux") == FIXED_LINUX
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "does not exist" in (paths.untrusted_site_dir(empty) or "")
    (tmp_path / "link").symlink_to(owned)
    assert "symbolic link" in (paths.untrusted_site_dir(tmp_path / "link") or "")
    # Run by a user who may write the root-owned file (group or world writable), it is refused too.
    with (
        mock.patch("companion.paths.os.getuid", return_value=1000),
        mock.patch("companion.paths.os.access", return_value=True),
    ):
        assert paths.untrusted_site_dir(owned) == f"{owned} is writable by this user"
