"""The repository explains itself: every link and every file path its documents name is in the repository."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final

import pytest

REPO: Final = Path(__file__).resolve().parents[1]
#: Folders that hold no documents of ours.
_SKIP: Final = {".git", ".venv", "node_modules", "cats_companion.egg-info", ".mypy_cache", ".ruff_cache"}
_LINK: Final = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
#: A path in backticks that starts at one of the repository's top folders (`companion/app.py`).
_PATH: Final = re.compile(r"`((?:companion|extension|tests|native-messaging|docs|scripts)/[\w./-]*)`")


def documents() -> list[Path]:
    found = []
    for path in sorted(REPO.rglob("*.md")):
        if not _SKIP.intersection(path.relative_to(REPO).parts):
            found.append(path)
    return found


def test_there_are_documents_to_check() -> None:
    names = {str(path.relative_to(REPO)) for path in documents()}
    assert {"README.md", "docs/architecture.md", "native-messaging/PROTOCOL.md"} <= names


@pytest.mark.parametrize("document", documents(), ids=lambda path: str(path.relative_to(REPO)))
def test_every_link_resolves_inside_the_repository(document: Path) -> None:
    broken = []
    for target in _LINK.findall(document.read_text(encoding="utf-8")):
        if re.match(r"^(https?:|mailto:|#)", target):
            continue
        resolved = (document.parent / target.split("#", 1)[0]).resolve()
        if not resolved.is_relative_to(REPO) or not resolved.exists():
            broken.append(target)
    assert broken == [], f"{document.relative_to(REPO)} links outside the repository or to nothing"


@pytest.mark.parametrize("document", documents(), ids=lambda path: str(path.relative_to(REPO)))
def test_every_file_path_a_document_names_exists(document: Path) -> None:
    text = document.read_text(encoding="utf-8")
    missing = sorted({path for path in _PATH.findall(text) if not (REPO / path.rstrip(".")).exists()})
    assert missing == [], f"{document.relative_to(REPO)} names paths that are not in the repository"


def test_no_document_points_at_the_developers_private_notes() -> None:
    # ../shared/ (the design notes, the CATS reference) is not part of the repository users get.
    offenders = [
        str(path.relative_to(REPO))
        for path in documents()
        if re.search(r"\.\./shared/|`shared/cats-api|DESIGN\.md", path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
