"""PROTOCOL.md stays true to the daemon: every message type the daemon serves is documented."""

from __future__ import annotations

from pathlib import Path

from companion.server.operations import TABLE

PROTOCOL = Path(__file__).resolve().parents[3] / "native-messaging" / "PROTOCOL.md"


def test_every_registered_message_type_is_in_the_protocol_document() -> None:
    text = PROTOCOL.read_text(encoding="utf-8")
    missing = [name for name in TABLE.names() if f"`{name}`" not in text]
    assert missing == []
