"""How the companion's benches and browser tests start Chromium: the executable and its flags.

Playwright cannot download its own browser here, so it drives Debian's Chromium; the flags keep
Chromium from reaching for the network at start-up (background networking, component updates,
sync, QUIC), which a closed machine refuses many times a second, and run it as root (no sandbox).
"""

from __future__ import annotations

from typing import Final

CHROMIUM: Final = "/usr/bin/chromium"
CHROMIUM_ARGS: Final = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
)
