"""HAL collections: reading one page (`_embedded.<plural>`, `total`, `_links.next`) and following next links.

The end of a collection is where `_links.next` stops, never a sum computed from `total` (which CATS
sometimes sends as a string or null).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any, Final, TypeVar

from pydantic import BaseModel, ConfigDict

from companion.cats.record_urls import parse_id
from companion.errors import CatsBadResponseError

PER_PAGE: Final = 100
#: The event stream pages by cursor with a fixed size.
EVENTS_PER_PAGE: Final = 25
#: A stop for a server whose next links never end (1,000,000 records at 100 per page).
MAX_PAGES: Final = 10_000

Params = dict[str, str]
#: Sends one page request (path under the API root, query) and returns the parsed JSON body.
Fetch = Callable[[str, Params], Awaitable[object]]
#: Turns a HAL href into a path under the API root and its query.
Resolve = Callable[[str], tuple[str, Params]]


class Page(BaseModel):
    """One page of a collection, with what a sync needs to resume from the next one."""

    model_config = ConfigDict(frozen=True)

    items: list[dict[str, Any]]
    count: int
    #: Items in the whole result as CATS reports it; None when CATS sent null or nonsense.
    total: int | None
    self_href: str | None
    next_href: str | None


class EventPage(Page):
    """A page of `GET /events`: `last_id` is the cursor to continue from (None when the page is empty)."""

    last_id: int | None


def embedded_key(path: str) -> str:
    """The `_embedded` key of a collection path: `/companies/search` -> companies."""
    segments = [part for part in path.split("?", 1)[0].split("/") if part]
    while segments and (segments[-1] == "search" or segments[-1].isdigit()):
        segments.pop()
    if not segments:
        raise ValueError(f"no collection in path {path!r}")
    return segments[-1]


def _lenient_int(value: object) -> int | None:
    try:
        return parse_id(value)
    except ValueError:
        return None


def _href(links: object, rel: str) -> str | None:
    if not isinstance(links, dict):
        return None
    link = links.get(rel)
    if isinstance(link, list):
        link = link[0] if link else None
    if isinstance(link, dict):
        href = link.get("href")
        return href if isinstance(href, str) and href else None
    return None


def _items(body: dict[str, Any], key: str) -> list[dict[str, Any]]:
    embedded = body.get("_embedded")
    if embedded in (None, [], {}):
        return []
    if not isinstance(embedded, dict):
        raise CatsBadResponseError("CATS sent a collection whose _embedded is not an object")
    rows = embedded.get(key)
    if rows is None:
        lists = [value for value in embedded.values() if isinstance(value, list)]
        # Tolerate a differently named key as long as there is no doubt which list is meant.
        if len(lists) != 1:
            return []
        rows = lists[0]
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise CatsBadResponseError(f"CATS sent _embedded.{key} that is not a list of records")
    return rows


def parse_page(body: object, key: str) -> Page:
    if not isinstance(body, dict):
        raise CatsBadResponseError("CATS sent a collection that is not a JSON object")
    items = _items(body, key)
    links = body.get("_links")
    return Page(
        items=items,
        count=_lenient_int(body.get("count")) or len(items),
        total=_lenient_int(body.get("total")),
        self_href=_href(links, "self"),
        next_href=_href(links, "next"),
    )


def parse_event_page(body: object, key: str = "events") -> EventPage:
    page = parse_page(body, key)
    assert isinstance(body, dict)  # parse_page refused anything else
    return EventPage(**page.model_dump(), last_id=_lenient_int(body.get("last_id")))


P = TypeVar("P", bound=Page)


async def walk_pages(
    fetch: Fetch,
    resolve: Resolve,
    path: str,
    params: Params,
    parse: Callable[[object], P],
    *,
    max_pages: int = MAX_PAGES,
) -> AsyncGenerator[P, None]:
    """Fetch `path` then every `_links.next` after it, yielding each page as it arrives."""
    per_page = params.get("per_page")
    seen: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
    for _ in range(max_pages):
        signature = (path, tuple(sorted(params.items())))
        if signature in seen:
            raise CatsBadResponseError("CATS's next link points back at a page already read")
        seen.add(signature)
        page = parse(await fetch(path, params))
        yield page
        if page.next_href is None:
            return
        path, params = resolve(page.next_href)
        if per_page is not None:
            # A next link without per_page would drop to CATS's default of 25: four times the requests.
            params.setdefault("per_page", per_page)
    raise CatsBadResponseError(f"CATS's collection did not end after {max_pages} pages")
