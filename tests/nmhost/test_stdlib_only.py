"""The host and the contract it shares with the daemon import only the stdlib; the extension id is ours."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from companion.cli.host import extension_id_from_key
from companion.nmhost.config import EXTENSION_ID

REPO = Path(__file__).resolve().parents[2]

_PROBE = """
import importlib, json, sys
before = set(sys.modules)
importlib.import_module(sys.argv[1])
loaded = sorted(set(sys.modules) - before)
print(json.dumps({"loaded": loaded, "stdlib": sorted(sys.stdlib_module_names)}))
"""
#: The modules the daemon shares with the host: the one definition of the wire and of the file
#: locations, so they must stay importable by the host (and cheap for it).
CONTRACT = ("companion.nmhost.wire", "companion.nmhost.locations")


def loaded_by(module: str) -> tuple[list[str], set[str]]:
    """What importing `module` in a fresh interpreter loads: modules outside the stdlib, and ours."""
    done = subprocess.run([sys.executable, "-c", _PROBE, module], capture_output=True, check=True, timeout=30)
    report = json.loads(done.stdout)
    stdlib = set(report["stdlib"])
    top = {name: name.split(".")[0] for name in report["loaded"]}
    foreign = [name for name, first in top.items() if first not in stdlib and first != "companion"]
    return foreign, {name for name, first in top.items() if first == "companion"}


def test_the_host_imports_nothing_outside_the_standard_library() -> None:
    foreign, ours = loaded_by("companion.nmhost.host")
    assert foreign == []
    # companion.errors is stdlib-only by design; anything else of ours would drag in pydantic & co.
    assert ours <= {"companion", "companion.errors"} | {n for n in ours if n.startswith("companion.nmhost")}


@pytest.mark.parametrize("module", CONTRACT)
def test_the_contract_the_daemon_shares_imports_only_the_standard_library(module: str) -> None:
    foreign, ours = loaded_by(module)
    assert foreign == []
    # A leaf: the daemon imports it too, so it must not reach into the host's machinery either.
    assert ours == {"companion", "companion.nmhost", module}


def test_the_host_skips_asyncio_and_subprocess_at_start_up() -> None:
    probe = "import sys, companion.nmhost.host; print(' '.join(sorted(sys.modules)))"
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, check=True, timeout=30
    ).stdout.split()
    assert b"asyncio" not in loaded and b"subprocess" not in loaded and b"logging" not in loaded


def test_the_host_leaves_typing_unimported_as_the_launcher_starts_it() -> None:
    # typing is a tenth of the host's own imports; its annotations and protocols are for checkers only.
    probe = "import sys, companion.nmhost.host; print('typing' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-S", "-c", probe],
        capture_output=True,
        check=True,
        timeout=30,
        text=True,
        env={"PYTHONPATH": str(REPO)},
    )
    assert done.stdout.strip() == "False"


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
