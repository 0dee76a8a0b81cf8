"""The host's relay threads take turns reading Chrome's input and each relays what it read, side by side."""

from __future__ import annotations

import io
import json
import threading
from typing import Any

import pytest

from companion.nmhost.host import Host
from tests.nmhost.frames import frame, parse_frames

pytestmark = pytest.mark.timeout(30)


class BarrierChannel:
    """A daemon connection whose every POST waits until `parties` POSTs are in flight at once."""

    def __init__(self, barrier: threading.Barrier, seen: list[str], **_: Any) -> None:
        self._barrier = barrier
        self._seen = seen

    def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        request = json.loads(body)
        self._seen.append(threading.current_thread().name)
        # Raises BrokenBarrierError after the timeout if the relays were not concurrent.
        self._barrier.wait()
        reply = {"id": request["id"], "ok": True, "data": {"path": path}}
        return 200, json.dumps(reply).encode()

    def stream(self, path: str) -> Any:
        raise OSError("no event stream in this test")

    def close(self) -> None:
        pass


def run_host(stdin: bytes, *, workers: int, parties: int) -> tuple[list[Any], list[str]]:
    barrier = threading.Barrier(parties, timeout=5)
    seen: list[str] = []
    out = io.BytesIO()

    def channel(**options: Any) -> BarrierChannel:
        return BarrierChannel(barrier, seen, **options)

    host = Host(stdin=io.BytesIO(stdin), stdout=out, channel=channel, workers=workers, log=lambda _: None)
    assert host.run() == 0
    return parse_frames(out.getvalue()), seen


def test_as_many_messages_as_relay_threads_are_in_the_daemon_at_once() -> None:
    stdin = b"".join(frame({"id": i, "type": "test.slow"}) for i in range(3))
    replies, seen = run_host(stdin, workers=3, parties=3)
    assert sorted(reply["id"] for reply in replies) == [0, 1, 2]
    assert all(reply["ok"] for reply in replies)
    # Each message was relayed by a different thread: all three were waiting together.
    assert len(set(seen)) == 3


def test_one_relay_thread_answers_every_message_in_turn() -> None:
    stdin = b"".join(frame({"id": i, "type": "ping"}) for i in range(5))
    replies, seen = run_host(stdin, workers=1, parties=1)
    assert [reply["id"] for reply in replies] == [0, 1, 2, 3, 4]
    assert len(seen) == 5


def test_malformed_frames_are_answered_between_relayed_ones() -> None:
    stdin = frame({"id": 1, "type": "ping"}) + frame(b"{oops") + frame({"id": 2, "type": "ping"})
    replies, seen = run_host(stdin, workers=2, parties=1)
    assert len(replies) == 3 and len(seen) == 2
    refused = [reply for reply in replies if reply["id"] is None]
    assert len(refused) == 1 and refused[0]["error"]["code"] == "request.invalid"
