"""`cats-companion serve --key-file` and `--team-password-file`: the secret comes from a private file of the
user's, or the daemon refuses to start; whatever the refusal, its message names the file and never shows
what is in it."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from unittest.mock import patch

import aiohttp
import pytest

from companion.cli.serve import MAX_KEY_FILE_BYTES, read_key_file, read_team_password_file
from companion.errors import ConfigError
from tests.fixtures.sandbox import SandboxHandle

KEY = "kf-0123456789abcdef0123456789abcdef"


def _file(tmp_path: Path, text: str | bytes = KEY + "\n", mode: int = 0o600) -> Path:
    path = tmp_path / "cats.key"
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    path.chmod(mode)
    return path


def _symlink(tmp_path: Path) -> Path:
    target = _file(tmp_path)
    link = tmp_path / "link.key"
    link.symlink_to(target)
    return link


def _fifo(tmp_path: Path) -> Path:
    path = tmp_path / "fifo.key"
    os.mkfifo(path, 0o600)
    return path


def _directory(tmp_path: Path) -> Path:
    path = tmp_path / "dir.key"
    path.mkdir(mode=0o700)
    return path


REFUSED: list[tuple[str, Callable[[Path], Path], str]] = [
    ("readable by the group", lambda t: _file(t, mode=0o640), "chmod 600"),
    ("readable by everyone", lambda t: _file(t, mode=0o644), "chmod 600"),
    ("writable by everyone", lambda t: _file(t, mode=0o602), "chmod 600"),
    ("a symlink to a good file", _symlink, "cannot read the key file"),
    ("a FIFO", _fifo, "not a regular file"),
    ("a directory", _directory, "not a regular file"),
    ("missing", lambda t: t / "nothing.key", "cannot read the key file"),
    ("empty", lambda t: _file(t, ""), "is empty"),
    ("blank lines only", lambda t: _file(t, "\n \n"), "is empty"),
    ("two words", lambda t: _file(t, f"{KEY} {KEY}\n"), "the key alone"),
    ("two lines", lambda t: _file(t, f"{KEY}\n{KEY}\n"), "the key alone"),
    ("not UTF-8", lambda t: _file(t, b"\xff\xfe" + KEY.encode()), "not UTF-8"),
    ("oversized", lambda t: _file(t, KEY * (MAX_KEY_FILE_BYTES // len(KEY) + 2)), "not a key file"),
]


@pytest.mark.parametrize(("case", "make", "says"), REFUSED, ids=[case for case, _, _ in REFUSED])
def test_a_key_file_that_is_not_private_and_plain_is_refused_without_showing_its_content(
    tmp_path: Path, case: str, make: Callable[[Path], Path], says: str
) -> None:
    path = make(tmp_path)
    with pytest.raises(ConfigError) as refused:
        read_key_file(path)
    assert says in refused.value.message
    assert str(path) in refused.value.message
    assert KEY not in refused.value.message and KEY not in repr(refused.value)


def test_a_key_file_of_another_user_is_refused(tmp_path: Path) -> None:
    path = _file(tmp_path)
    # The OS edge: this process cannot create a file owned by somebody else, so it pretends to be them.
    with (
        patch("companion.secret_file.os.geteuid", return_value=os.geteuid() + 1),
        pytest.raises(ConfigError, match="belongs to another user"),
    ):
        read_key_file(path)


@pytest.mark.parametrize("mode", [0o600, 0o400])
def test_a_private_key_file_gives_the_key_without_its_newline(tmp_path: Path, mode: int) -> None:
    key = read_key_file(_file(tmp_path, f"  {KEY}\r\n", mode=mode))
    assert key.reveal() == KEY
    assert KEY not in repr(key)


TEAM_PASSWORD = " pa55 word with spaces "


def test_a_team_password_file_gives_the_password_exactly_as_written_without_its_newline(
    tmp_path: Path,
) -> None:
    password = read_team_password_file(_file(tmp_path, TEAM_PASSWORD + "\n"))
    assert password.reveal() == TEAM_PASSWORD
    assert TEAM_PASSWORD not in repr(password)


@pytest.mark.parametrize(
    ("text", "mode", "says"),
    [
        (TEAM_PASSWORD + "\n", 0o640, "chmod 600"),
        (TEAM_PASSWORD + "\nsecond line\n", 0o600, "alone, on one line"),
        ("\n", 0o600, "is empty"),
    ],
)
def test_a_team_password_file_that_is_not_private_or_not_one_line_is_refused_without_showing_it(
    tmp_path: Path, text: str, mode: int, says: str
) -> None:
    path = _file(tmp_path, text, mode=mode)
    with pytest.raises(ConfigError) as refused:
        read_team_password_file(path)
    assert says in refused.value.message
    assert "team password file" in refused.value.message and str(path) in refused.value.message
    assert TEAM_PASSWORD not in refused.value.message


def _serve(path: Path, cats_url: str, home: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "companion", "serve", "--key-file", str(path), "--cats-url", cats_url],
        env={**os.environ, "CATS_COMPANION_HOME": str(home)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def test_serve_refuses_to_start_with_a_key_file_others_can_read(tmp_path: Path) -> None:
    path = _file(tmp_path, mode=0o644)
    home = tmp_path / "home"
    process = _serve(path, "http://127.0.0.1:9/v3", home)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 1
    assert "chmod 600" in err.decode() and KEY not in (out + err).decode()
    assert not (home / "run" / "daemon.json").exists()


@pytest.mark.timeout(60)
async def test_serve_with_a_key_file_connects_to_cats_and_keeps_the_key_off_its_command_line(
    sandbox: SandboxHandle, tmp_path: Path
) -> None:
    path = _file(tmp_path, sandbox.api_key + "\n")
    home = tmp_path / "home"
    process = _serve(path, sandbox.url, home)
    try:
        assert sandbox.api_key not in " ".join(map(str, process.args))  # type: ignore[arg-type]
        runtime = home / "run" / "daemon.json"
        state = None
        async with asyncio.timeout(45):
            while not runtime.exists():  # noqa: ASYNC110 -- another process writes it
                await asyncio.sleep(0.05)
            info = json.loads(runtime.read_text())
            connector = aiohttp.UnixConnector(path=info["socket"])
            headers = {"Authorization": f"Bearer {info['token']}"}
            async with aiohttp.ClientSession(connector=connector, headers=headers) as http:
                while state != "connected":
                    envelope = {"id": 1, "type": "status", "params": {}}
                    async with http.post("http://localhost/api/native", json=envelope) as response:
                        reply = await response.json()
                    state = reply["data"]["cats"]["state"]
                    await asyncio.sleep(0.05)
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    assert state == "connected"
    assert process.returncode == 0
    assert sandbox.api_key not in (out + err).decode()
