"""This companion's CATS site, as the team commands compare it with a team's: base URL and subdomain.

The base URL is `--cats-url`, else the running daemon's, else the one a key was set up for
(companion.cats_url: what a daemon started now would use), else the default. The subdomain (what
tells CATS accounts on the same API address apart) comes from the running daemon when it has
connected to that URL (free: it asked GET /site at start), else from one GET /site with the key
stored for that URL (one request of the hour's budget), else it stays unknown and only the base
URL can be compared. The daemon is asked, never started.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Final

from companion.cats_url import configured_url
from companion.cli.daemon_client import CALLER, DaemonClient, DaemonRefusal, running
from companion.errors import CatsError, CompanionError
from companion.keystore import KeyringKeyStore, normalize_base_url
from companion.team.site import CatsSite

log = logging.getLogger(__name__)

#: How long the daemon may take to answer `status`.
DAEMON_TIMEOUT: Final = 5.0
#: How long CATS may take to answer GET /site.
CATS_TIMEOUT: Final = 15.0


@dataclass(frozen=True)
class LocalSite:
    site: CatsSite
    #: Where the subdomain came from ("the running daemon", "CATS (GET /site)"), or why it is unknown.
    source: str


def local_site(cats_url: str | None) -> LocalSite:
    """This companion's CATS site; `cats_url` (normalised already) overrides the daemon's URL.

    Raises ConfigError when the URL must come from a damaged cats.json (never another site quietly).
    """
    daemon = _daemon_cats()
    base = cats_url or _text(daemon.get("base_url")) or configured_url()
    base = normalize_base_url(base)
    known = _text(daemon.get("site"))
    if known and _text(daemon.get("base_url")) == base:
        return LocalSite(CatsSite(base, known.lower()), "the running daemon")
    try:
        key = KeyringKeyStore().get(base)
    except CompanionError as exc:
        return LocalSite(CatsSite(base), f"the keyring could not be read: {exc.message}")
    if key is None:
        return LocalSite(CatsSite(base), f"no CATS API key is stored for {base}")
    # Imported here: it loads aiohttp, which only this path needs.
    from companion.cli.key import check_connection

    try:
        info = check_connection(base, key, CATS_TIMEOUT)
    except CatsError as exc:
        detail = exc.message.replace(key.reveal(), repr(key))
        return LocalSite(CatsSite(base), f"CATS did not say: {detail}")
    subdomain = info.subdomain.lower() if info.subdomain else None
    return LocalSite(CatsSite(base, subdomain), "CATS (GET /site)" if subdomain else "CATS did not name it")


def _daemon_cats() -> dict[str, Any]:
    """The running daemon's `cats` status ({} when no daemon answers)."""
    if running() is None:
        return {}
    try:
        with DaemonClient(f"{CALLER} team", start=False, timeout=DAEMON_TIMEOUT) as daemon:
            status = daemon.call("status")
    except (CompanionError, DaemonRefusal) as exc:
        log.debug("the daemon did not give its status: %s", exc)
        return {}
    cats = status.get("cats")
    return cats if isinstance(cats, dict) else {}


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
