"""Test doubles for the CATS client's edges: a clock that never really sleeps, a port nobody listens on."""

from __future__ import annotations

import socket


def closed_port() -> int:
    """A loopback port that was free a moment ago, so connecting to it is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


class FakeClock:
    """A Clock whose sleep moves time forward at once, recording every pause it was asked for."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.time = start
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.time

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.time += seconds

    def advance(self, seconds: float) -> None:
        self.time += seconds
