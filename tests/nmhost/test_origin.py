"""Only the allowed extension origins are served; anyone else gets one error frame and an exit status."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from companion.nmhost.config import EXTENSION_ID, HostConfigError, load_config, origin_of
from companion.nmhost.host import EXIT_CONFIG, EXIT_FORBIDDEN, main
from tests.nmhost.frames import frame, host_env, parse_frames

OTHER_ID = "abcdefghijklmnopabcdefghijklmnop"


def run(argv: list[str], env: dict[str, str]) -> tuple[int, list[Any]]:
    out = io.BytesIO()
    code = main(argv, stdin=io.BytesIO(frame({"id": 1, "type": "hello"})), stdout=out, env=env)
    return code, parse_frames(out.getvalue())


@pytest.mark.parametrize(
    "argv",
    [
        ["host"],
        ["host", origin_of(OTHER_ID)],
        ["host", f"chrome-extension://{EXTENSION_ID}"],  # no trailing slash: not what Chrome sends
        ["host", "https://evil.example/"],
        ["host", "/home/user/.mozilla/native-messaging-hosts/x.json", "ext@example"],
    ],
)
def test_a_caller_that_is_not_allowed_gets_one_refusal_and_nothing_is_relayed(argv: list[str]) -> None:
    code, replies = run(argv, host_env())
    assert code == EXIT_FORBIDDEN
    assert len(replies) == 1
    assert replies[0]["id"] is None and replies[0]["error"]["code"] == "auth.origin"


def test_our_extension_is_served_by_default() -> None:
    code, replies = run(["host", origin_of(EXTENSION_ID)], host_env())
    assert code == 0
    assert replies[0]["id"] == 1 and replies[0]["error"]["code"] == "daemon.unavailable"


def test_extra_ids_from_the_environment_are_served() -> None:
    code, replies = run(
        ["host", origin_of(OTHER_ID)], host_env(CATS_COMPANION_EXTENSION_IDS=f" {OTHER_ID} ,")
    )
    assert code == 0 and replies[0]["id"] == 1


def test_the_config_file_replaces_the_default_list(tmp_path: Path) -> None:
    config = tmp_path / "host-config.json"
    config.write_text(json.dumps({"allowed_origins": [origin_of(OTHER_ID)]}))
    env = host_env(CATS_COMPANION_HOST_CONFIG=str(config))
    assert run(["host", origin_of(OTHER_ID)], env)[0] == 0
    assert run(["host", origin_of(EXTENSION_ID)], env)[0] == EXIT_FORBIDDEN


@pytest.mark.parametrize(
    "content",
    [
        "{broken",
        "[]",
        json.dumps({"allowed_origins": "all"}),
        json.dumps({"allowed_origins": ["https://x/"]}),
    ],
)
def test_an_unusable_config_file_serves_nobody(tmp_path: Path, content: str) -> None:
    config = tmp_path / "host-config.json"
    config.write_text(content)
    code, replies = run(["host", origin_of(EXTENSION_ID)], host_env(CATS_COMPANION_HOST_CONFIG=str(config)))
    assert code == EXIT_CONFIG
    assert [r["error"]["code"] for r in replies] == ["config.invalid"]


def test_a_missing_config_file_serves_nobody(tmp_path: Path) -> None:
    with pytest.raises(HostConfigError, match="cannot read"):
        load_config({"CATS_COMPANION_HOST_CONFIG": str(tmp_path / "absent.json")})


def test_a_malformed_extra_id_is_a_config_error() -> None:
    with pytest.raises(HostConfigError, match="CATS_COMPANION_EXTENSION_IDS"):
        load_config({"CATS_COMPANION_EXTENSION_IDS": "not-an-id"})


def test_logging_and_autostart_switches() -> None:
    quiet = load_config({})
    assert (quiet.log, quiet.autostart) == (False, True)
    switched = load_config({"CATS_COMPANION_HOST_LOG": "1", "CATS_COMPANION_HOST_AUTOSTART": "0"})
    assert (switched.log, switched.autostart) == (True, False)
