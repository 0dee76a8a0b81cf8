"""Fixtures of the CATS client tests: the scripted loopback server."""

from __future__ import annotations

from tests.cats.scripted import scripted

__all__ = ["scripted"]
