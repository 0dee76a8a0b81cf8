"""The host's end of a native session on the wire, fed exact bytes through a socket pair."""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Iterator

import pytest

from companion.nmhost.http11 import Connection, ProtocolError
from companion.nmhost.link import OversizedReplyError, SessionStream

LE = struct.Struct("<I")
#: The first request frame, sent with the opening request.
FIRST = LE.pack(8) + b'{"id":0}'
OPEN = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: application/octet-stream\r\n\r\n"


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%b\r\n" % (len(data), data)


#: The current test's socket pair: the host's end and the daemon's.
SOCKETS: list[socket.socket] = []


@pytest.fixture
def pair() -> Iterator[tuple[SessionStream, socket.socket]]:
    ours, theirs = socket.socketpair()
    SOCKETS[:] = [ours, theirs]
    ours.settimeout(2)
    theirs.settimeout(2)
    connection = Connection(lambda: ours, "localhost")
    connection.connect()
    connection.request("POST", "/api/native/session", FIRST, {"Authorization": "Bearer t"}, chunked=True)
    theirs.sendall(OPEN)
    stream = SessionStream(connection, connection.getresponse())
    yield stream, theirs
    stream.close()
    theirs.close()


def received(server: socket.socket) -> bytes:
    data = b""
    while not data.endswith(b"\r\n"):
        data += server.recv(65_536)
    return data


def test_the_session_opens_as_a_chunked_post_with_its_first_frame_and_each_frame_is_one_chunk(
    pair: tuple[SessionStream, socket.socket],
) -> None:
    stream, server = pair
    head, first = received(server).split(b"\r\n\r\n", 1)
    assert head.startswith(b"POST /api/native/session HTTP/1.1\r\n")
    assert b"Transfer-Encoding: chunked" in head and b"Content-Length" not in head
    assert first == chunk(FIRST)
    stream.send(b'{"id":1}')
    assert received(server) == chunk(LE.pack(8) + b'{"id":1}')


def test_reply_frames_are_read_across_chunk_boundaries(pair: tuple[SessionStream, socket.socket]) -> None:
    stream, server = pair
    frames = LE.pack(8) + b'{"id":1}' + LE.pack(10) + b'{"id":"b"}'
    # Cut anywhere: in the length, in a body, between frames.
    server.sendall(chunk(frames[:2]) + chunk(frames[2:9]) + chunk(frames[9:14]) + chunk(frames[14:]))
    assert stream.wait()
    assert stream.read_frame(100) == b'{"id":1}'
    assert stream.read_frame(100) == b'{"id":"b"}'
    server.sendall(b"0\r\n\r\n")
    server.shutdown(socket.SHUT_WR)
    assert stream.read_frame(100) is None


def test_a_reply_over_the_limit_is_skipped_keeping_its_head(
    pair: tuple[SessionStream, socket.socket],
) -> None:
    stream, server = pair
    big = b'{"id":"big","data":"' + b"x" * 5000 + b'"}'
    server.sendall(chunk(LE.pack(len(big)) + big) + chunk(LE.pack(8) + b'{"id":2}'))
    with pytest.raises(OversizedReplyError) as caught:
        stream.read_frame(4096)
    assert caught.value.size == len(big) and caught.value.head == big[:1024]
    assert stream.read_frame(4096) == b'{"id":2}'


def test_an_answer_cut_inside_a_frame_is_a_protocol_error(pair: tuple[SessionStream, socket.socket]) -> None:
    stream, server = pair
    server.sendall(chunk(LE.pack(50) + b'{"id":'))
    server.shutdown(socket.SHUT_WR)
    with pytest.raises(ProtocolError):
        stream.read_frame(100)


def test_waiting_on_a_quiet_daemon_times_out_without_losing_the_next_frame(
    pair: tuple[SessionStream, socket.socket],
) -> None:
    stream, server = pair
    (ours,) = [s for s in SOCKETS if s is not server]
    ours.settimeout(0.05)
    with pytest.raises(TimeoutError):
        stream.wait()
    server.sendall(chunk(LE.pack(8) + b'{"id":3}'))
    assert stream.wait()
    assert stream.read_frame(100) == b'{"id":3}'


def test_closing_wakes_a_thread_waiting_for_replies(pair: tuple[SessionStream, socket.socket]) -> None:
    stream, _ = pair
    result: list[object] = []

    def waiter() -> None:
        try:
            result.append(stream.wait())
        except OSError as exc:
            result.append(exc)

    thread = threading.Thread(target=waiter)
    thread.start()
    threading.Event().wait(0.05)
    stream.close()
    thread.join(1)
    assert not thread.is_alive()
    # Woken: the end of the stream (False) or the closed socket's error, never a reply.
    assert len(result) == 1 and result[0] is not True
