"""Both framings on in-memory streams: Chrome's round trips, truncation and limits; the session's prefix."""

from __future__ import annotations

import io
import struct

import pytest

from companion.nmhost.wire import (
    MAX_OUTGOING_BYTES,
    OversizedFrameError,
    TruncatedFrameError,
    read_frame,
    session_frame,
    write_frame,
)


class Trickle(io.BytesIO):
    """A pipe that hands out at most `step` bytes per read, as a real pipe may."""

    def __init__(self, data: bytes, step: int) -> None:
        super().__init__(data)
        self._step = step

    def read(self, size: int | None = -1) -> bytes:
        return super().read(self._step if size is None or size < 0 else min(size, self._step))


def test_frames_round_trip_in_order() -> None:
    stream = io.BytesIO()
    for body in (b'{"a":1}', b"", '{"name":"Zoë Ünal 🙂"}'.encode()):
        write_frame(stream, body)
    stream.seek(0)
    assert read_frame(stream) == b'{"a":1}'
    assert read_frame(stream) == b""
    assert read_frame(stream) == '{"name":"Zoë Ünal 🙂"}'.encode()
    assert read_frame(stream) is None


def test_length_prefix_is_native_endian_four_bytes() -> None:
    stream = io.BytesIO()
    write_frame(stream, b"xyz")
    assert stream.getvalue() == struct.pack("=I", 3) + b"xyz"


def test_a_frame_delivered_in_pieces_is_reassembled() -> None:
    body = b'{"id":1,"type":"ping"}' * 50
    stream = Trickle(struct.pack("=I", len(body)) + body, step=7)
    assert read_frame(stream) == body


def test_end_of_input_between_frames_is_a_clean_end() -> None:
    assert read_frame(io.BytesIO(b"")) is None


def test_truncated_length_prefix_is_reported() -> None:
    with pytest.raises(TruncatedFrameError):
        read_frame(io.BytesIO(b"\x05\x00"))


def test_truncated_body_is_reported() -> None:
    with pytest.raises(TruncatedFrameError):
        read_frame(io.BytesIO(struct.pack("=I", 100) + b"only seven"))


def test_oversized_frame_is_skipped_so_the_next_one_can_be_read() -> None:
    big = b"x" * 5000
    stream = io.BytesIO(struct.pack("=I", len(big)) + big + struct.pack("=I", 2) + b"{}")
    with pytest.raises(OversizedFrameError) as caught:
        read_frame(stream, limit=4096)
    assert caught.value.size == 5000
    assert read_frame(stream, limit=4096) == b"{}"


def test_oversized_frame_cut_short_is_truncation() -> None:
    with pytest.raises(TruncatedFrameError):
        read_frame(io.BytesIO(struct.pack("=I", 5000) + b"x" * 10), limit=4096)


def test_a_frame_of_exactly_one_mebibyte_may_be_written_but_not_one_byte_more() -> None:
    stream = io.BytesIO()
    write_frame(stream, b"x" * MAX_OUTGOING_BYTES)
    assert len(stream.getvalue()) == MAX_OUTGOING_BYTES + 4
    with pytest.raises(ValueError, match="limit"):
        write_frame(io.BytesIO(), b"x" * (MAX_OUTGOING_BYTES + 1))


def test_a_session_frame_has_a_little_endian_length_whatever_the_platform() -> None:
    assert session_frame(b"xyz") == b"\x03\x00\x00\x00xyz"
    assert session_frame(b"") == b"\x00\x00\x00\x00"
