"""Native-host framing and main loop under random input: an error reply or a clean close, no crash, no hang.

The host's `main()` runs in-process on in-memory streams (as tests/nmhost/test_host_input.py does),
in a thread joined with a timeout so a hang fails the property instead of the suite. Its stdout must
hold nothing but complete frames of strict JSON, one reply per complete input frame.
"""

from __future__ import annotations

import asyncio
import io
import json
import struct
import threading
from collections import Counter
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from companion.nmhost.host import main
from companion.nmhost.wire import MAX_INCOMING_BYTES, OversizedFrameError, TruncatedFrameError, read_frame
from companion.server.daemon import RunningDaemon
from companion.server.operations import TABLE
from tests.fuzz.strategies import fuzz_settings, huge_text, json_values, text
from tests.fuzz.support import KNOWN_CODES, strict_json
from tests.nmhost.frames import OUR_ORIGIN, host_env, parse_frames

pytestmark = pytest.mark.timeout(120)

LENGTH = struct.Struct("=I")
#: How long one run of the host may take before the property fails as a hang.
HOST_TIMEOUT = 20.0
NO_DAEMON = "daemon.unavailable"

ids: st.SearchStrategy[object] = (
    st.integers()
    | st.text(min_size=1, max_size=128)
    | st.sampled_from([None, True, 1.5, "", "x" * 129, [1], {}])
)
types = st.sampled_from(["hello", "ping", "status", "", "nope.nope", "UPPER", "a..b"]) | text | st.integers()
envelopes = st.fixed_dictionaries(
    {},
    optional={
        "id": ids,
        "type": types,
        "params": json_values | huge_text,
        "v": st.integers(-1, 3) | json_values,
    },
)
bodies = st.one_of(
    st.binary(max_size=64),
    st.binary(max_size=32).map(lambda b: b"\xff\xfe" + b),
    json_values.map(lambda v: json.dumps(v).encode()),
    envelopes.map(lambda e: json.dumps(e, ensure_ascii=False).encode("utf-8", "surrogatepass")),
    st.just(b'{"id": 1, "type": "ping", "params": {"echo": NaN}}'),
)


def oversized() -> st.SearchStrategy[bytes]:
    return st.integers(1, 2048).map(lambda extra: b"x" * (MAX_INCOMING_BYTES + extra))


frames = st.lists(bodies | oversized(), min_size=0, max_size=6)
#: What may follow the last complete frame: nothing, a cut length prefix, or a body cut short.
tails = st.one_of(
    st.just(b""),
    st.binary(min_size=1, max_size=3),
    st.tuples(st.integers(1, 4096), st.binary(max_size=64)).map(
        lambda t: LENGTH.pack(t[0] + len(t[1])) + t[1][: max(0, len(t[1]) - 1)]
    ),
)


def expected(body: bytes) -> tuple[Any, str]:
    """The (id, code) the host owes a frame when no daemon runs: native-messaging/PROTOCOL.md's rules."""
    if len(body) > MAX_INCOMING_BYTES:
        return None, "request.too_large"
    try:
        raw = json.loads(body.decode("utf-8"))
    except ValueError:
        return None, "request.invalid"
    if not isinstance(raw, dict):
        return None, "request.invalid"
    message_id = raw.get("id")
    if isinstance(message_id, bool) or not (
        isinstance(message_id, int) or (isinstance(message_id, str) and 0 < len(message_id) <= 128)
    ):
        return None, "request.invalid"
    if not isinstance(raw.get("type"), str) or not raw["type"]:
        return message_id, "request.invalid"
    return message_id, NO_DAEMON


def run_host(stdin: bytes) -> tuple[int, bytes]:
    """main() over `stdin`, bounded in time; (exit status, everything written to stdout)."""
    out = io.BytesIO()
    result: list[int] = []
    failure: list[BaseException] = []

    def target() -> None:
        try:
            result.append(
                main(["cats-companion-host", OUR_ORIGIN], stdin=io.BytesIO(stdin), stdout=out, env=host_env())
            )
        except BaseException as exc:  # an escaping exception is exactly what is checked
            failure.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(HOST_TIMEOUT)
    assert not thread.is_alive(), "the host hung"
    assert not failure, f"an exception escaped the host: {failure[0]!r}"
    return result[0], out.getvalue()


def encode_frames(bodies: list[bytes]) -> bytes:
    return b"".join(LENGTH.pack(len(body)) + body for body in bodies)


@fuzz_settings(max_examples=400)
@given(data=st.binary(max_size=200), limit=st.integers(0, 64))
def test_read_frame_on_any_bytes_returns_frames_or_a_framing_error(data: bytes, limit: int) -> None:
    stream = io.BytesIO(data)
    # Every call consumes at least one byte or ends: the loop is bounded by the input's length.
    for _ in range(len(data) + 1):
        before = stream.tell()
        try:
            body = read_frame(stream, limit)
        except TruncatedFrameError:
            assert stream.tell() == len(data)
            return
        except OversizedFrameError as exc:
            assert exc.size > limit
            continue
        if body is None:
            assert stream.tell() == len(data)
            return
        assert len(body) <= limit and stream.tell() > before
    raise AssertionError("read_frame did not reach the end of the input")


@fuzz_settings(max_examples=120)
@given(bodies=frames, tail=tails)
def test_any_input_gets_one_error_reply_per_frame_then_a_clean_exit(bodies: list[bytes], tail: bytes) -> None:
    code, stdout = run_host(encode_frames(bodies) + tail)
    assert code == 0
    replies = parse_frames(stdout)  # only complete frames, each at most 1 MiB
    for reply in replies:
        strict_json(json.dumps(reply))
        assert reply["ok"] is False and set(reply) == {"id", "ok", "error"}
        assert reply["error"]["code"] in KNOWN_CODES and reply["error"]["message"]
    got = Counter((json.dumps(r["id"]), r["error"]["code"]) for r in replies)
    want = Counter((json.dumps(i), c) for i, c in map(expected, bodies))
    assert got == want


@pytest.mark.timeout(180)
async def test_random_messages_through_the_host_to_a_real_daemon_each_get_one_well_formed_reply(
    daemon: RunningDaemon,
) -> None:
    known_types = TABLE.names()
    message = st.fixed_dictionaries(
        {
            "id": st.integers(0, 10**6) | st.text(min_size=1, max_size=20),
            "type": st.sampled_from(known_types) | types,
        },
        optional={"params": json_values, "v": st.sampled_from([1, 1, 2, "1"])},
    )

    answered: list[dict[str, Any]] = []

    @fuzz_settings(max_examples=40)
    @given(batch=st.lists(message, min_size=1, max_size=4, unique_by=lambda m: json.dumps(m["id"])))
    def relay(batch: list[dict[str, Any]]) -> None:
        code, stdout = run_host(encode_frames([json.dumps(m).encode() for m in batch]))
        assert code == 0
        replies = parse_frames(stdout)
        assert sorted(json.dumps(r["id"]) for r in replies) == sorted(json.dumps(m["id"]) for m in batch)
        for reply in replies:
            if reply["ok"] is not True:
                assert reply["error"]["code"] in KNOWN_CODES, reply
                assert reply["error"]["code"] != NO_DAEMON, reply
        answered.extend(r for r in replies if r["ok"] is True)

    await asyncio.to_thread(relay)
    assert answered, "no message was answered by the daemon: the relay was never exercised"
