"""Where CATS points to: record ids in Location headers and HAL hrefs resolved against the API root."""

from __future__ import annotations

import re
from typing import Final

from yarl import URL

from companion.errors import CatsBadResponseError

_TRAILING_ID: Final = re.compile(r"/([0-9]+)/*$")
#: The largest id we can store (SQLite's INTEGER): a bigger one from CATS is not an id we can use.
MAX_ID: Final = 2**63 - 1


def parse_id(value: object) -> int:
    """A CATS id from JSON, which sends ids as numbers and sometimes as numeric strings."""
    if isinstance(value, bool):
        raise ValueError("a boolean is not an id")
    number: int | None = None
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        number = int(value.strip())
    if number is None or number > MAX_ID:
        raise ValueError(f"not a CATS id: {value!r}")
    return number


def id_from_location(location: str | None) -> int | None:
    """The new record's id: the trailing integer of a Location, absolute or relative."""
    if not location:
        return None
    path = location.split("#", 1)[0].split("?", 1)[0]
    match = _TRAILING_ID.search(path)
    if match is None:
        return None
    # A new record's id is positive and storable; anything else is no usable id at all.
    new_id = int(match.group(1))
    return new_id if 1 <= new_id <= MAX_ID else None


def resolve_href(base_url: URL, href: str) -> tuple[str, dict[str, str]]:
    """Split a HAL href into a path under the API root and its query parameters.

    CATS writes hrefs relative to the API root (`/companies?page=2`); absolute ones and ones that
    repeat the root's own path (`/v3/companies`) are accepted too. An href to another origin is
    refused: following it would send our API key to a server that is not CATS.
    """
    target = URL(href)
    if target.is_absolute():
        if target.origin() != base_url.origin():
            raise CatsBadResponseError("CATS linked to a different server; the link was not followed")
        path = target.path
        root = base_url.path.rstrip("/")
        if root and (path == root or path.startswith(root + "/")):
            path = path[len(root) :]
    else:
        path = target.path
        root = base_url.path.rstrip("/")
        # A resource is never named like the API root ("v3"), so the prefix is unambiguous.
        if root and path.startswith(root + "/"):
            path = path[len(root) :]
    if not path.startswith("/"):
        path = "/" + path
    return path, {key: value for key, value in target.query.items()}
