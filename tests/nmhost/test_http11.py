"""The host's small HTTP/1.1 client, fed exact bytes through a socket pair."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from companion.nmhost.http11 import Connection, ProtocolError, RemoteDisconnected


@pytest.fixture
def pair() -> Iterator[tuple[Connection, socket.socket]]:
    ours, theirs = socket.socketpair()
    ours.settimeout(2)
    theirs.settimeout(2)
    connection = Connection(lambda: ours, "localhost")
    connection.connect()
    yield connection, theirs
    connection.close()
    theirs.close()


def _exchange(pair: tuple[Connection, socket.socket], reply: bytes, *, close: bool = False) -> bytes:
    connection, server = pair
    connection.request("POST", "/api/native", b'{"a":1}', {"Authorization": "Bearer t"})
    sent = server.recv(65_536)
    server.sendall(reply)
    if close:
        server.shutdown(socket.SHUT_WR)
    return sent


def test_a_request_carries_host_headers_length_and_body(pair: tuple[Connection, socket.socket]) -> None:
    sent = _exchange(pair, b"HTTP/1.1 204 No Content\r\n\r\n")
    head, body = sent.split(b"\r\n\r\n", 1)
    lines = head.split(b"\r\n")
    assert lines[0] == b"POST /api/native HTTP/1.1"
    assert b"Host: localhost" in lines
    assert b"Authorization: Bearer t" in lines
    assert b"Content-Length: 7" in lines
    assert body == b'{"a":1}'


def test_a_sized_reply_is_read_whole_and_the_connection_stays_open(
    pair: tuple[Connection, socket.socket],
) -> None:
    _exchange(pair, b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\nContent-Type: x\r\n\r\nhello\nworld")
    response = pair[0].getresponse()
    assert response.status == 200
    assert response.headers["content-type"] == "x"
    assert response.read() == b"hello\nworld"
    assert not response.will_close


def test_two_replies_on_one_keep_alive_connection_do_not_bleed(
    pair: tuple[Connection, socket.socket],
) -> None:
    reply = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n"
    _exchange(pair, reply + b"ab" + reply + b"cd")
    assert pair[0].getresponse().read() == b"ab"
    assert pair[0].getresponse().read() == b"cd"


def test_a_chunked_stream_is_read_line_by_line_across_chunk_borders(
    pair: tuple[Connection, socket.socket],
) -> None:
    body = b'5\r\n{"a":\r\n3\r\n1}\n\r\n4;ext=1\r\n{}\n\n\r\n0\r\nTrailer: x\r\n\r\n'
    _exchange(pair, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + body)
    response = pair[0].getresponse()
    assert response.readline(100) == b'{"a":1}\n'
    assert response.readline(100) == b"{}\n"
    assert response.readline(100) == b"\n"
    assert response.readline(100) == b""


def test_readline_stops_at_its_limit(pair: tuple[Connection, socket.socket]) -> None:
    _exchange(pair, b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789")
    response = pair[0].getresponse()
    assert response.readline(4) == b"0123"
    assert response.read() == b"456789"


def test_a_reply_without_length_is_read_to_the_close_and_closes(
    pair: tuple[Connection, socket.socket],
) -> None:
    _exchange(pair, b"HTTP/1.0 200 OK\r\n\r\nall of it", close=True)
    response = pair[0].getresponse()
    assert response.will_close
    assert response.read() == b"all of it"


def test_a_closed_idle_connection_is_a_remote_disconnect(pair: tuple[Connection, socket.socket]) -> None:
    _exchange(pair, b"", close=True)
    with pytest.raises(RemoteDisconnected):
        pair[0].getresponse()


@pytest.mark.parametrize(
    "reply",
    [
        b"SSH-2.0-nope\r\n\r\n",
        b"HTTP/1.1 abc OK\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
    ],
)
def test_a_reply_that_is_not_http_is_a_protocol_error(
    pair: tuple[Connection, socket.socket], reply: bytes
) -> None:
    _exchange(pair, reply, close=True)
    with pytest.raises(ProtocolError):
        pair[0].getresponse()


@pytest.mark.parametrize(
    "reply",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXY",
    ],
)
def test_a_reply_cut_or_garbled_mid_body_is_a_protocol_error(
    pair: tuple[Connection, socket.socket], reply: bytes
) -> None:
    _exchange(pair, reply, close=True)
    response = pair[0].getresponse()
    with pytest.raises(ProtocolError):
        response.read()


def test_too_many_headers_are_refused(pair: tuple[Connection, socket.socket]) -> None:
    headers = b"".join(b"X-%d: y\r\n" % i for i in range(200))
    _exchange(pair, b"HTTP/1.1 200 OK\r\n" + headers + b"\r\n", close=True)
    with pytest.raises(ProtocolError, match="too many"):
        pair[0].getresponse()
