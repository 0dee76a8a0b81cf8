"""The settings window's static files (HTML, CSS, JavaScript modules), served by the daemon under /window/."""

from __future__ import annotations

from pathlib import Path
from typing import Final

#: The folder holding index.html, the notice pages and static/ (package data, see pyproject.toml).
WEB_DIR: Final = Path(__file__).resolve().parent
STATIC_DIR: Final = WEB_DIR / "static"
