"""The host's session, driven in memory: Chrome's side through a pipe, the daemon's through a fake link.

The fake link is the daemon's end of one session: each request frame the host sends is handed to
the test's `answer`, and reply frames are queued for the host's reply thread as the test says.
Each request must get exactly one reply, whatever the daemon does.
"""

from __future__ import annotations

import json
import os
import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from companion.errors import DaemonUnavailableError
from companion.nmhost.host import Host
from companion.nmhost.link import DaemonRefusal, OversizedReplyError
from companion.nmhost.wire import MAX_OUTGOING_BYTES
from tests.nmhost.frames import LENGTH, frame

pytestmark = pytest.mark.timeout(30)

Answer = Callable[["FakeLink", dict[str, Any]], None]


def ok(message_id: Any, **data: Any) -> bytes:
    return json.dumps({"id": message_id, "ok": True, "data": data}, separators=(",", ":")).encode()


def pong(link: FakeLink, request: dict[str, Any]) -> None:
    link.reply(ok(request["id"], pong=True))


def silent(link: FakeLink, request: dict[str, Any]) -> None:
    pass


class FakeLink:
    """One session as the daemon's end sees it (the host's SessionLink protocol)."""

    def __init__(self, answer: Answer, *, broken: bool = False) -> None:
        self._answer = answer
        self.broken = broken
        self._replies: queue.Queue[bytes | None] = queue.Queue()
        self._next: bytes | None = None
        self.received: list[dict[str, Any]] = []
        self.closed = threading.Event()

    def reply(self, body: bytes) -> None:
        self._replies.put(body)

    def end(self) -> None:
        """The daemon goes away: the session's answer ends."""
        self._replies.put(None)

    def send(self, body: bytes) -> None:
        if self.broken or self.closed.is_set():
            raise BrokenPipeError("the daemon is gone")
        request = json.loads(body)
        self.received.append(request)
        self._answer(self, request)

    def wait(self) -> bool:
        try:
            self._next = self._replies.get(timeout=0.05)
        except queue.Empty:
            raise TimeoutError("quiet") from None
        return self._next is not None

    def read_frame(self, limit: int) -> bytes | None:
        body = self._next
        if body is not None and len(body) > limit:
            raise OversizedReplyError(len(body), body[:1024])
        return body

    def close(self) -> None:
        self.closed.set()
        self._replies.put(None)


class Sink:
    """Chrome's end of stdout: frames as the host writes them, waited for by count."""

    def __init__(self) -> None:
        self._data = bytearray()
        self._changed = threading.Condition()

    def write(self, data: bytes) -> int:
        with self._changed:
            self._data += data
            self._changed.notify_all()
        return len(data)

    def flush(self) -> None:
        pass

    def frames(self) -> list[Any]:
        with self._changed:
            data = bytes(self._data)
        messages, offset = [], 0
        while offset < len(data):
            (size,) = LENGTH.unpack_from(data, offset)
            assert size <= MAX_OUTGOING_BYTES, "a frame over 1 MiB reached Chrome"
            messages.append(json.loads(data[offset + 4 : offset + 4 + size]))
            offset += 4 + size
        return messages

    def wait_for(self, count: int, seconds: float = 5.0) -> list[Any]:
        with self._changed:
            assert self._changed.wait_for(lambda: self._data.count(b'"id":') >= count, seconds), self.frames()
        return self.frames()


class NoEvents:
    """The event stream's channel: never there, so the host's event thread just waits."""

    def open_session(self, first: bytes) -> FakeLink:
        raise AssertionError("sessions come from the test's links")

    def stream(self, path: str) -> Any:
        raise OSError("no event stream in these tests")

    def close(self) -> None:
        pass


class RunningHost:
    """The host's main loop in a thread, fed through a real pipe as Chrome feeds it."""

    def __init__(self, links: list[FakeLink | Exception], *, timeout: float = 30.0) -> None:
        self.opened = 0
        read_end, self._stdin = os.pipe()
        self.stdout = Sink()
        self._links = links

        def open_session(first: bytes) -> FakeLink:
            self.opened += 1
            link = self._links.pop(0)
            if isinstance(link, Exception):
                raise link
            # The first request travels with the opening request.
            link.send(first)
            return link

        def no_events(**_: Any) -> NoEvents:
            return NoEvents()

        self.host = Host(
            stdin=os.fdopen(read_end, "rb", buffering=0),
            stdout=self.stdout,  # type: ignore[arg-type]
            channel=no_events,
            open_session=open_session,
            request_timeout=timeout,
            log=lambda _: None,
        )
        self._thread = threading.Thread(target=self._run)
        self.code: int | None = None
        self._thread.start()

    def _run(self) -> None:
        self.code = self.host.run()

    def send(self, *messages: dict[str, Any] | bytes) -> None:
        os.write(self._stdin, b"".join(frame(m) for m in messages))

    def close(self) -> int | None:
        os.close(self._stdin)
        self._thread.join(10)
        assert not self._thread.is_alive(), "the host did not exit"
        return self.code


@pytest.fixture
def start() -> Iterator[Callable[..., RunningHost]]:
    running: list[RunningHost] = []

    def starter(links: list[FakeLink | Exception], **options: Any) -> RunningHost:
        host = RunningHost(links, **options)
        running.append(host)
        return host

    yield starter
    for host in running:
        if host._thread.is_alive():
            host.close()


def by_id(replies: list[Any]) -> dict[Any, Any]:
    return {reply["id"]: reply for reply in replies}


def test_replies_in_any_order_each_reach_chrome_with_their_id(start: Callable[..., RunningHost]) -> None:
    def reversed_when_all_three_are_in(link: FakeLink, request: dict[str, Any]) -> None:
        if len(link.received) == 3:
            for earlier in reversed(link.received):
                link.reply(ok(earlier["id"], n=earlier["params"]["n"]))

    host = start([FakeLink(reversed_when_all_three_are_in)])
    host.send(*({"id": i, "type": "ping", "params": {"n": i}} for i in ("a", 2, "c")))
    replies = host.stdout.wait_for(3)
    assert [r["id"] for r in replies] == ["c", 2, "a"]
    assert all(r["data"]["n"] == r["id"] for r in replies)
    assert host.close() == 0
    assert host.opened == 1


def test_bad_frames_are_answered_by_the_host_and_good_ones_sent_on(start: Callable[..., RunningHost]) -> None:
    link = FakeLink(pong)
    host = start([link])
    host.send({"id": 1, "type": "ping"}, b"{oops", {"id": 2}, {"id": 3, "type": "ping"})
    assert host.close() == 0
    replies = host.stdout.frames()
    assert len(replies) == 4
    assert by_id(replies)[None]["error"]["code"] == "request.invalid"
    assert by_id(replies)[2]["error"]["code"] == "request.invalid"
    assert by_id(replies)[1]["ok"] and by_id(replies)[3]["ok"]
    assert [r["id"] for r in link.received] == [1, 3]


def test_a_silent_daemon_gets_a_timeout_reply_and_a_late_reply_is_dropped(
    start: Callable[..., RunningHost],
) -> None:
    def quiet_then_prompt(link: FakeLink, request: dict[str, Any]) -> None:
        if request["id"] == 3:
            # The daemon answers 1 after all, then 3 on time: only 3's reply goes through.
            link.reply(ok(1, late=True))
            link.reply(ok(3, on_time=True))

    host = start([FakeLink(quiet_then_prompt)], timeout=0.2)
    host.send({"id": 1, "type": "ping"}, {"id": 2, "type": "ping"})
    replies = host.stdout.wait_for(2)
    assert [r["error"]["code"] for r in replies] == ["daemon.timeout", "daemon.timeout"]
    assert "0.2 s" in replies[0]["error"]["message"]
    host.send({"id": 3, "type": "ping"})
    assert host.stdout.wait_for(3)[2] == {"id": 3, "ok": True, "data": {"on_time": True}}
    assert host.close() == 0
    assert len(host.stdout.frames()) == 3


def test_requests_after_a_long_quiet_spell_still_time_out(start: Callable[..., RunningHost]) -> None:
    # The deadline thread goes to sleep for good when nothing is pending for a while; a new request wakes it.
    host = start([FakeLink(silent)], timeout=0.1)
    host.send({"id": 1, "type": "ping"})
    host.stdout.wait_for(1)
    threading.Event().wait(0.35)
    host.send({"id": 2, "type": "ping"})
    assert host.stdout.wait_for(2)[1]["error"]["code"] == "daemon.timeout"
    host.close()


def test_a_reply_over_one_mebibyte_becomes_a_message_too_large_error(
    start: Callable[..., RunningHost],
) -> None:
    def huge(link: FakeLink, request: dict[str, Any]) -> None:
        link.reply(ok(request["id"], blob="x" * MAX_OUTGOING_BYTES))

    host = start([FakeLink(huge)])
    host.send({"id": "big", "type": "test.big"})
    (reply,) = host.stdout.wait_for(1)
    assert reply["id"] == "big" and reply["error"]["code"] == "message.too_large"
    assert host.close() == 0


def test_the_daemon_going_away_answers_every_pending_request_then_the_next_reconnects(
    start: Callable[..., RunningHost],
) -> None:
    first, second = FakeLink(silent), FakeLink(pong)
    host = start([first, second])
    host.send(*({"id": i, "type": "ping"} for i in range(3)))
    while len(first.received) < 3:
        threading.Event().wait(0.01)
    first.end()
    replies = host.stdout.wait_for(3)
    assert sorted(r["id"] for r in replies) == [0, 1, 2]
    assert {r["error"]["code"] for r in replies} == {"daemon.unavailable"}
    assert first.closed.is_set()
    host.send({"id": 3, "type": "ping"})
    assert host.stdout.wait_for(4)[3] == {"id": 3, "ok": True, "data": {"pong": True}}
    assert host.opened == 2
    assert host.close() == 0


def test_a_session_found_closed_while_idle_is_reopened_for_the_same_request(
    start: Callable[..., RunningHost],
) -> None:
    first, second = FakeLink(pong), FakeLink(pong)
    host = start([first, second])
    host.send({"id": 1, "type": "ping"})
    host.stdout.wait_for(1)
    # The daemon restarted while nothing was pending; the host's reply thread has not noticed yet.
    first.broken = True
    host.send({"id": 2, "type": "ping"})
    assert host.stdout.wait_for(2)[1] == {"id": 2, "ok": True, "data": {"pong": True}}
    assert [r["id"] for r in second.received] == [2]
    assert host.close() == 0


def test_a_send_failing_with_requests_in_flight_is_not_repeated(start: Callable[..., RunningHost]) -> None:
    first = FakeLink(silent)
    host = start([first, FakeLink(pong)])
    host.send({"id": 1, "type": "ping"})
    while not first.received:
        threading.Event().wait(0.01)
    first.broken = True
    host.send({"id": 2, "type": "push"})
    replies = by_id(host.stdout.wait_for(2))
    # Request 1 may have reached the daemon: both are answered daemon.unavailable, neither re-sent.
    assert replies[1]["error"]["code"] == replies[2]["error"]["code"] == "daemon.unavailable"
    assert host.close() == 0


@pytest.mark.parametrize(
    ("refusal", "code"),
    [
        (DaemonRefusal("auth.origin", "requests from this origin are not allowed"), "auth.origin"),
        (DaemonUnavailableError("the CATS Companion is not running"), "daemon.unavailable"),
    ],
)
def test_a_session_that_cannot_open_is_each_requests_reply(
    start: Callable[..., RunningHost], refusal: Exception, code: str
) -> None:
    host = start([refusal, FakeLink(pong)])
    host.send({"id": 1, "type": "ping"})
    assert host.stdout.wait_for(1)[0]["error"]["code"] == code
    host.send({"id": 2, "type": "ping"})
    assert host.stdout.wait_for(2)[1]["ok"] is True
    assert host.close() == 0


def test_end_of_input_waits_for_the_replies_still_due(start: Callable[..., RunningHost]) -> None:
    link = FakeLink(silent)
    host = start([link])
    host.send({"id": 1, "type": "ping"}, {"id": 2, "type": "ping"})
    while len(link.received) < 2:
        threading.Event().wait(0.01)
    closer = threading.Thread(target=host.close)
    closer.start()
    link.reply(ok(2))
    link.reply(ok(1))
    closer.join(10)
    assert host.code == 0
    assert [r["id"] for r in host.stdout.frames()] == [2, 1]
    assert link.closed.is_set()
