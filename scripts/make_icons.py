"""Renders the extension's toolbar icons (extension/icons/icon-<size>.png) from extension/icons/icon.svg.

Usage, from the repository root, after changing the SVG (the PNGs are committed, so the extension
works without running this):

    .venv/bin/python scripts/make_icons.py

Headless Chromium (through Playwright, with the flags the rest of the project uses) rasterises the
SVG at each size itself, rather than one large picture being scaled down, so that every size gets
Chromium's own anti-aliasing at its real pixel grid. The page background is left out, which keeps
the rounded corners transparent.
"""

from __future__ import annotations

import base64
import sys
from pathlib import Path
from typing import Final

from playwright.sync_api import sync_playwright

from companion.bench.browser import CHROMIUM, CHROMIUM_ARGS

ICONS_DIR: Final = Path(__file__).resolve().parents[1] / "extension" / "icons"
SOURCE: Final = ICONS_DIR / "icon.svg"
#: The sizes Chrome asks for: 16 (toolbar, favicon), 32 (toolbar on high-DPI screens), 48 and 128
#: (the extensions page and the Web Store).
SIZES: Final = (16, 32, 48, 128)
#: Larger than any icon, so the browser's minimum window size never crops the picture.
_CANVAS: Final = 256


def _page(svg: str, size: int) -> str:
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return (
        "<!doctype html><html><head><style>html,body{margin:0;background:transparent}"
        "img{display:block}</style></head>"
        f'<body><img width="{size}" height="{size}" src="data:image/svg+xml;base64,{data}"></body></html>'
    )


def render(source: Path, destination: Path, sizes: tuple[int, ...] = SIZES) -> list[Path]:
    """Write destination/icon-<size>.png for each size; return the paths written."""
    svg = source.read_text(encoding="utf-8")
    written = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=list(CHROMIUM_ARGS)
        )
        try:
            page = browser.new_page(viewport={"width": _CANVAS, "height": _CANVAS}, device_scale_factor=1)
            for size in sizes:
                page.set_content(_page(svg, size), wait_until="load")
                if not page.evaluate("document.images[0].complete && document.images[0].naturalWidth > 0"):
                    raise RuntimeError(f"Chromium could not load {source}")
                path = destination / f"icon-{size}.png"
                page.screenshot(
                    path=str(path), omit_background=True, clip={"x": 0, "y": 0, "width": size, "height": size}
                )
                written.append(path)
        finally:
            browser.close()
    return written


def main(argv: list[str]) -> int:
    if argv:
        print(__doc__, file=sys.stderr)
        return 2
    for path in render(SOURCE, ICONS_DIR):
        print(path.relative_to(ICONS_DIR.parents[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
