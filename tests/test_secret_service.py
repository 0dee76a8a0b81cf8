"""The key store against a real Secret Service: gnome-keyring in its own D-Bus session, headless."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.secret_service,
    pytest.mark.skipif(
        shutil.which("dbus-run-session") is None or shutil.which("gnome-keyring-daemon") is None,
        reason="needs dbus-run-session and gnome-keyring-daemon "
        "(apt-get install --no-install-recommends dbus gnome-keyring)",
    ),
]

REPO = Path(__file__).resolve().parents[1]
KEYRING_PASSWORD = "correct horse battery staple"
URL = "https://api.catsone.com/v3"
SECRET = "real-secret-service-key-7f3a"

# Runs inside the D-Bus session. Prints one JSON line; the key itself is never printed.
DRIVER = """
import json, sys
import keyring
from companion.errors import KeyringUnavailableError
from companion.keystore import SERVICE_NAME, KeyringKeyStore
from companion.secret import ApiKey

url, secret, action = sys.argv[1], sys.stdin.readline().strip(), sys.argv[2]
store = KeyringKeyStore()
backend = type(keyring.get_keyring())
out = {"backend": f"{backend.__module__}.{backend.__qualname__}"}
try:
    if action == "roundtrip":
        store.set(url + "/", ApiKey(secret))
        out["read_back"] = store.get(url) == ApiKey(secret)
        out["filed_under_url"] = keyring.get_password(SERVICE_NAME, url) == secret
        out["deleted"] = store.delete(url)
        out["after_delete"] = store.get(url) is None
        out["deleted_again"] = store.delete(url)
    else:
        store.set(url, ApiKey(secret))
        out["stored"] = True
except KeyringUnavailableError as exc:
    out["unavailable"] = exc.message
print(json.dumps(out))
"""


def run_in_session(home: Path, unlock_with: str | None, action: str) -> dict[str, object]:
    """Run DRIVER under a fresh dbus-run-session whose gnome-keyring is unlocked with `unlock_with`.

    With None, gnome-keyring is started but never unlocked, as on a server nobody logged in to.
    """
    if unlock_with is None:
        start = "gnome-keyring-daemon --start --components=secrets >/dev/null"
    else:
        start = (
            'printf %s "$KEYRING_PASSWORD" | gnome-keyring-daemon --unlock --components=secrets >/dev/null'
        )
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "PYTHONPATH": str(REPO),
        "LANG": "C.UTF-8",
        "KEYRING_PASSWORD": unlock_with or "",
    }
    done = subprocess.run(
        [
            "dbus-run-session",
            "--",
            "sh",
            "-c",
            f'{start}; exec "$0" -c "$1" "$2" "$3"',
            sys.executable,
            DRIVER,
            URL,
            action,
        ],
        input=SECRET + "\n",
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # dbus-run-session also ends the session's daemons, so nothing outlives this call.
    assert done.returncode == 0, done.stderr
    assert SECRET not in done.stdout + done.stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert lines, done.stdout + done.stderr
    result: dict[str, object] = json.loads(lines[-1])
    return result


def test_key_round_trips_through_an_unlocked_secret_service(tmp_path: Path) -> None:
    result = run_in_session(tmp_path, KEYRING_PASSWORD, "roundtrip")

    assert result == {
        "backend": "keyring.backends.SecretService.Keyring",
        "read_back": True,
        "filed_under_url": True,
        "deleted": True,
        "after_delete": True,
        "deleted_again": False,
    }


def test_secret_service_nobody_unlocked_is_reported_with_the_fix(tmp_path: Path) -> None:
    result = run_in_session(tmp_path, None, "store")

    assert result["backend"] == "keyring.backends.SecretService.Keyring"
    assert "stored" not in result
    message = str(result["unavailable"])
    assert "Prompt dismissed" in message
    assert "unlock" in message and "gnome-keyring" in message


def test_secret_service_with_the_wrong_password_stays_locked_and_is_reported(tmp_path: Path) -> None:
    run_in_session(tmp_path, KEYRING_PASSWORD, "roundtrip")  # creates the login keyring

    result = run_in_session(tmp_path, "not the password", "store")

    assert "stored" not in result
    assert "locked and was not unlocked" in str(result["unavailable"])
