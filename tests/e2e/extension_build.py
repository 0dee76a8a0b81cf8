"""The test build of the extension: a copy whose content script also runs on the loopback fixture server.

The shipped manifest injects the content script into `https://*.linkedin.com/*` only. The end-to-end
tests serve saved profile pages from `http://127.0.0.1:<port>/in/<page>/` instead (the tests have
no network), so the copy adds `http://127.0.0.1/*` (any port, as Chrome matches it) to the content
script and web-accessible-resource matches, and opens the card's shadow root so that Playwright can
look inside it (shared/build.js). Loopback matches are never shipped: a user's extension has no
reason to run on local pages. The `key` is kept, so the copy has the same fixed extension id.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Final

EXTENSION_DIR: Final = Path(__file__).resolve().parents[2] / "extension"
LOOPBACK_MATCH: Final = "http://127.0.0.1/*"
#: Development files that are not part of the extension Chrome loads.
_NOT_SHIPPED: Final = ("node_modules", "test", "package.json", "package-lock.json", "tsconfig.json")


def build_test_extension(destination: Path) -> Path:
    """Copy the extension into `destination` with the loopback matches and an open shadow root."""
    shutil.copytree(EXTENSION_DIR, destination, ignore=shutil.ignore_patterns(*_NOT_SHIPPED))
    manifest_path = destination / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    for entry in manifest.get("content_scripts", []):
        entry["matches"] = [*entry["matches"], LOOPBACK_MATCH]
    for entry in manifest.get("web_accessible_resources", []):
        entry["matches"] = [*entry["matches"], LOOPBACK_MATCH]
    manifest_path.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    build = destination / "shared" / "build.js"
    text = build.read_text(encoding="utf-8")
    opened = text.replace("openShadowRoot: false", "openShadowRoot: true")
    if opened == text:
        raise RuntimeError("shared/build.js no longer has `openShadowRoot: false`; update the test build")
    build.write_text(opened, encoding="utf-8")
    return destination
