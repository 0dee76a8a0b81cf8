"""The host answers malformed input itself, keeps going, and never writes anything but frames.

These run the host's `main()` in-process on in-memory streams, with no daemon: requests that are
well formed get `daemon.unavailable` (autostart is off), which proves they were relayed.
"""

from __future__ import annotations

import io
import json
import struct
import threading
from typing import Any

import pytest

from companion.nmhost.host import Host, main
from companion.nmhost.link import Channel, DaemonLocator
from companion.nmhost.wire import MAX_OUTGOING_BYTES
from tests.nmhost.frames import OUR_ORIGIN, frame, host_env, parse_frames


def run_host(stdin: bytes) -> tuple[int, list[Any]]:
    out = io.BytesIO()
    code = main(["cats-companion-host", OUR_ORIGIN], stdin=io.BytesIO(stdin), stdout=out, env=host_env())
    return code, parse_frames(out.getvalue())


def by_id(replies: list[Any]) -> dict[Any, Any]:
    return {reply["id"]: reply for reply in replies}


def test_bad_messages_each_get_an_error_reply_and_the_host_keeps_going() -> None:
    stdin = b"".join(
        [
            frame(b"\xff\xfe not utf-8"),
            frame(b"{not json"),
            frame(b"[1, 2]"),
            frame({"type": "hello"}),
            frame({"id": True, "type": "hello"}),
            frame({"id": "x" * 500, "type": "hello"}),
            frame({"id": 7}),
            frame({"id": 8, "type": "hello"}),
        ]
    )
    code, replies = run_host(stdin)
    assert code == 0
    assert len(replies) == 8
    anonymous = [r for r in replies if r["id"] is None]
    assert len(anonymous) == 6
    assert {r["error"]["code"] for r in anonymous} == {"request.invalid"}
    messages = " | ".join(r["error"]["message"] for r in anonymous)
    assert "UTF-8" in messages and "JSON" in messages and "object" in messages and "id" in messages
    assert by_id(replies)[7]["error"] == {
        "code": "request.invalid",
        "message": 'a message needs a type, e.g. "hello"',
    }
    # Well formed: relayed, and without a daemon that is daemon.unavailable, with its id.
    assert by_id(replies)[8]["error"]["code"] == "daemon.unavailable"


def test_oversized_input_is_refused_and_the_next_message_still_answered() -> None:
    huge = json.dumps({"id": 1, "type": "ping", "params": {"pad": "x" * (1024 * 1024)}}).encode()
    code, replies = run_host(frame(huge) + frame({"id": 2, "type": "ping"}))
    assert code == 0
    assert replies[0] == {
        "id": None,
        "ok": False,
        "error": {"code": "request.too_large", "message": replies[0]["error"]["message"]},
    }
    assert str(len(huge)) in replies[0]["error"]["message"]
    assert by_id(replies)[2]["error"]["code"] == "daemon.unavailable"


def test_a_large_message_under_the_limit_is_relayed() -> None:
    message = {"id": "big", "type": "ping", "params": {"pad": "é" * 400_000}}
    body = json.dumps(message, ensure_ascii=False).encode()
    assert 800_000 < len(body) < 1024 * 1024
    code, replies = run_host(frame(body))
    assert code == 0
    assert replies == [by_id(replies)["big"]]
    assert replies[0]["error"]["code"] == "daemon.unavailable"


def test_input_cut_mid_frame_ends_the_host_cleanly_after_answering_what_came_before() -> None:
    stdin = frame(b"[]") + struct.pack("=I", 100) + b"short"
    code, replies = run_host(stdin)
    assert code == 0
    assert [r["error"]["code"] for r in replies] == ["request.invalid"]


def test_end_of_input_with_no_message_exits_zero_without_output() -> None:
    assert run_host(b"") == (0, [])


def test_a_reply_over_one_mebibyte_becomes_a_message_too_large_error() -> None:
    out = io.BytesIO()
    locator = DaemonLocator("/nonexistent", "/nonexistent", autostart=False)
    host = Host(stdin=io.BytesIO(), stdout=out, channel=lambda **_: Channel(locator, OUR_ORIGIN), log=print)
    reply = json.dumps({"id": 5, "ok": True, "data": {"blob": "x" * MAX_OUTGOING_BYTES}}).encode()
    host.send(reply, 5)
    host.send(b'{"id":6,"ok":true,"data":{}}', 6)
    first, second = parse_frames(out.getvalue())
    assert first["id"] == 5 and first["error"]["code"] == "message.too_large"
    assert second == {"id": 6, "ok": True, "data": {}}


def test_frames_written_from_many_threads_never_interleave() -> None:
    out = io.BytesIO()
    locator = DaemonLocator("/nonexistent", "/nonexistent", autostart=False)
    host = Host(stdin=io.BytesIO(), stdout=out, channel=lambda **_: Channel(locator, OUR_ORIGIN), log=print)

    def burst(n: int) -> None:
        for i in range(200):
            host.send(json.dumps({"id": f"{n}-{i}", "pad": "y" * 3000}).encode())

    threads = [threading.Thread(target=burst, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(parse_frames(out.getvalue())) == 800


@pytest.mark.parametrize("stray", ["print", "sys.stdout.write"])
def test_nothing_printed_by_mistake_reaches_the_frame_stream(stray: str) -> None:
    # main() points sys.stdout at stderr for its whole run when it owns the real stdout.
    import subprocess
    import sys

    code = (
        "import sys, io\n"
        "from companion.nmhost import host\n"
        "original = host.Host.run\n"
        "def noisy(self):\n"
        f"    {stray}('debug output\\n')\n"
        "    return original(self)\n"
        "host.Host.run = noisy\n"
        "sys.exit(host.main())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, OUR_ORIGIN],
        input=frame({"id": 1, "type": "ping"}),
        capture_output=True,
        env=host_env(),
        timeout=30,
        check=False,
    )
    assert done.returncode == 0
    replies = parse_frames(done.stdout)
    assert [r["id"] for r in replies] == [1]
    assert b"debug output" in done.stderr
