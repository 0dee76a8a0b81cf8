"""The extension's icons: each PNG the manifest names exists at its size, and the script renders them."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path
from typing import Final

import pytest

from scripts.make_icons import SIZES, render
from tests.e2e.extension_build import EXTENSION_DIR

PNG_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"
#: PNG colour type 6: RGBA, so the rounded corners can be transparent.
RGBA: Final = 6


def png_header(path: Path) -> tuple[int, int, int]:
    """(width, height, colour type) from the PNG's IHDR chunk, which the format puts first."""
    data = path.read_bytes()[:29]
    if len(data) < 29 or not data.startswith(PNG_SIGNATURE):
        raise AssertionError(f"{path} is not a PNG")
    length, chunk, width, height, _depth, colour = struct.unpack(">I4sIIBB", data[8:26])
    if chunk != b"IHDR" or length != 13:
        raise AssertionError(f"{path} does not start with an IHDR chunk")
    return width, height, colour


def first_pixel(path: Path) -> tuple[int, int, int, int]:
    """The top-left pixel of an 8-bit RGBA PNG.

    Every PNG filter predicts the first pixel from zeros, so its bytes are stored as they are,
    right after the first row's filter byte.
    """
    data = path.read_bytes()
    position, idat = 8, b""
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        chunk = data[position + 4 : position + 8]
        if chunk == b"IDAT":
            idat += data[position + 8 : position + 8 + length]
        position += 12 + length
    red, green, blue, alpha = zlib.decompress(idat)[1:5]
    return red, green, blue, alpha


def manifest_icons() -> list[tuple[str, str, str]]:
    """(where, size key, path) for each icon the manifest names."""
    manifest = json.loads((EXTENSION_DIR / "manifest.json").read_text(encoding="utf-8"))
    named = [("icons", size, path) for size, path in manifest.get("icons", {}).items()]
    named += [
        ("action.default_icon", size, path) for size, path in manifest["action"]["default_icon"].items()
    ]
    return named


def test_the_manifest_names_an_icon_for_every_size_chrome_uses() -> None:
    named = manifest_icons()
    assert {int(size) for where, size, _ in named if where == "icons"} == set(SIZES)
    assert {int(size) for where, size, _ in named if where == "action.default_icon"} >= {16, 32}


@pytest.mark.parametrize(("where", "size", "path"), manifest_icons())
def test_each_icon_the_manifest_names_is_a_png_of_its_size(where: str, size: str, path: str) -> None:
    file = (EXTENSION_DIR / path).resolve()
    assert EXTENSION_DIR in file.parents, f"{where} {size}: {path} is outside the extension"
    assert file.is_file(), f"{where} {size}: {path} is missing"
    assert png_header(file) == (int(size), int(size), RGBA)
    assert first_pixel(file)[3] == 0, "the corner outside the rounded tile is transparent"


def test_png_header_refuses_a_file_that_is_not_a_png(tmp_path: Path) -> None:
    fake = tmp_path / "icon.png"
    fake.write_bytes(b"<svg xmlns='http://www.w3.org/2000/svg'/>" + b" " * 40)
    with pytest.raises(AssertionError, match="not a PNG"):
        png_header(fake)


def test_make_icons_renders_every_size_from_the_svg_with_transparent_corners(tmp_path: Path) -> None:
    written = render(EXTENSION_DIR / "icons" / "icon.svg", tmp_path, sizes=(16, 48))
    assert [path.name for path in written] == ["icon-16.png", "icon-48.png"]
    assert [png_header(path) for path in written] == [(16, 16, RGBA), (48, 48, RGBA)]
    assert [first_pixel(path)[3] for path in written] == [0, 0]
    # Same picture as the committed icon (both rendered by this script; Chromium versions may
    # differ in anti-aliasing, so compare the size class rather than the bytes).
    committed = (EXTENSION_DIR / "icons" / "icon-48.png").stat().st_size
    assert 0.5 * committed < written[1].stat().st_size < 2 * committed
