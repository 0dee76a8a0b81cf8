"""`cats-companion serve` as a real process: start, answer, refuse a twin, stop cleanly on a signal."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
SERVE = [sys.executable, "-m", "companion", "serve", "--port", "0"]
#: Generous for a loaded 2-core machine; the loops return as soon as the condition holds.
START_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0

pytestmark = pytest.mark.skipif(os.name != "posix", reason="signals and Unix sockets as on POSIX")


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def env(home: Path) -> dict[str, str]:
    """The child's environment: its own companion home, and no way to reach anyone's real keyring."""
    dropped = {"DBUS_SESSION_BUS_ADDRESS", "PYTHON_KEYRING_BACKEND"}
    child = {k: v for k, v in os.environ.items() if k not in dropped}
    child["CATS_COMPANION_HOME"] = str(home)
    child["XDG_CONFIG_HOME"] = str(home / "xdg-config")
    child["HOME"] = str(home)
    return child


@pytest.fixture
def serve(env: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        SERVE, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=STOP_TIMEOUT)


def wait_for_runtime_file(proc: subprocess.Popen[str], path: Path) -> dict[str, Any]:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            _, err = proc.communicate()
            pytest.fail(f"serve exited with {proc.returncode} before listening: {err}")
        if path.exists():
            recorded: dict[str, Any] = json.loads(path.read_text())
            return recorded
        time.sleep(0.05)
    pytest.fail(f"serve did not write {path} within {START_TIMEOUT} s")


def get_status(port: int, token: str) -> dict[str, Any]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/status", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 -- loopback http
        body: dict[str, Any] = json.load(response)
        return body


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_serve_answers_then_stops_cleanly_on_a_signal(
    serve: subprocess.Popen[str], home: Path, signum: signal.Signals
) -> None:
    runtime_file = home / "run" / "daemon.json"
    recorded = wait_for_runtime_file(serve, runtime_file)
    assert recorded["pid"] == serve.pid

    status = get_status(recorded["port"], recorded["token"])
    assert status["cats"]["state"] == "not_configured"
    assert status["rate_budget"] is None

    serve.send_signal(signum)
    out, err = serve.communicate(timeout=STOP_TIMEOUT)
    assert serve.returncode == 0, err
    assert f"listening on http://127.0.0.1:{recorded['port']}" in out
    assert not runtime_file.exists()
    assert not (home / "run" / "daemon.sock").exists()
    assert recorded["token"] not in out + err


def test_a_second_serve_for_the_same_user_refuses(
    serve: subprocess.Popen[str], home: Path, env: dict[str, str]
) -> None:
    recorded = wait_for_runtime_file(serve, home / "run" / "daemon.json")
    twin = subprocess.run(SERVE, cwd=REPO, env=env, capture_output=True, text=True, timeout=START_TIMEOUT)
    assert twin.returncode == 1
    assert f"already running for this user (pid {serve.pid}" in twin.stderr
    # The first one is untouched and still answers.
    assert json.loads((home / "run" / "daemon.json").read_text()) == recorded
    assert get_status(recorded["port"], recorded["token"])["version"]
