"""Fixtures of the fuzz tests: the scripted CATS server of the client tests."""

from __future__ import annotations

from tests.cats.scripted import scripted

__all__ = ["scripted"]
