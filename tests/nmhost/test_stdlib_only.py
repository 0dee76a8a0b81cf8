"""The host imports only the standard library, and its copies of shared constants stay in step."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
from pathlib import Path

from companion import protocol
from companion.cli.host import extension_id_from_key
from companion.nmhost import wire
from companion.nmhost.config import EXTENSION_ID

REPO = Path(__file__).resolve().parents[2]

_PROBE = """
import json, sys
before = set(sys.modules)
import companion.nmhost.host
loaded = sorted(set(sys.modules) - before)
print(json.dumps({"loaded": loaded, "stdlib": sorted(sys.stdlib_module_names)}))
"""


def test_the_host_imports_nothing_outside_the_standard_library() -> None:
    done = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, check=True, timeout=30)
    report = json.loads(done.stdout)
    stdlib = set(report["stdlib"])
    foreign = [
        name
        for name in report["loaded"]
        if name.split(".")[0] not in stdlib and name.split(".")[0] != "companion"
    ]
    assert foreign == []
    ours = {name for name in report["loaded"] if name.split(".")[0] == "companion"}
    # companion.errors is stdlib-only by design; anything else of ours would drag in pydantic & co.
    assert ours <= {"companion", "companion.errors"} | {n for n in ours if n.startswith("companion.nmhost")}


def test_the_host_skips_asyncio_and_subprocess_at_start_up() -> None:
    probe = "import sys, companion.nmhost.host; print(' '.join(sorted(sys.modules)))"
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, check=True, timeout=30
    ).stdout.split()
    assert b"asyncio" not in loaded and b"subprocess" not in loaded and b"logging" not in loaded


def test_the_hosts_constants_match_the_protocol() -> None:
    assert wire.PROTOCOL_VERSION == protocol.PROTOCOL_VERSION
    assert wire.MAX_OUTGOING_BYTES == protocol.MAX_OUTGOING_BYTES
    assert wire.MAX_INCOMING_BYTES == protocol.MAX_INCOMING_BYTES
    assert (wire.NATIVE_PATH, wire.EVENTS_PATH) == (protocol.NATIVE_PATH, protocol.EVENTS_PATH)
    assert wire.SESSION_PATH == protocol.SESSION_PATH
    assert wire.SESSION_LENGTH.format == protocol.SESSION_LENGTH.format == "<I"
    assert wire.CALLER_HEADER == protocol.CALLER_HEADER
    assert (wire.HEARTBEAT_EVENT, wire.STREAM_OPEN_EVENT) == (
        protocol.HEARTBEAT_EVENT,
        protocol.STREAM_OPEN_EVENT,
    )


def test_the_fixed_extension_id_is_the_one_chrome_derives_from_the_manifest_key() -> None:
    manifest = json.loads((REPO / "extension" / "manifest.json").read_text())
    assert extension_id_from_key(manifest["key"]) == EXTENSION_ID
    # Cross-check the mapping by hand: sha256 of the DER key, first 32 hex digits, 0-f -> a-p.
    digest = hashlib.sha256(base64.b64decode(manifest["key"])).hexdigest()[:32]
    assert digest.translate(str.maketrans("0123456789abcdef", "abcdefghijklmnop")) == EXTENSION_ID


def test_the_extension_manifest_asks_for_native_messaging_and_has_no_private_key() -> None:
    manifest = json.loads((REPO / "extension" / "manifest.json").read_text())
    assert manifest["manifest_version"] == 3
    assert {"nativeMessaging", "storage"} <= set(manifest["permissions"])
    assert manifest["background"]["service_worker"] == "background/worker.js"
    assert not list((REPO / "extension").glob("**/*.pem"))
    assert "PRIVATE KEY" not in (REPO / "extension" / "manifest.json").read_text()
