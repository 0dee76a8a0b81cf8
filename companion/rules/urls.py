"""Profile URLs: the canonical form we write to CATS, and when two spellings are one profile.

Rules (each tested in tests/rules/test_urls.py):

* `canonical_url`: a LinkedIn member page becomes `https://www.linkedin.com/in/<Slug>`; any other
  URL is trimmed, given `https://` when it has no scheme, its host lower-cased and its fragment
  dropped -- path and query are kept, because outside LinkedIn they can matter.
* `url_identity`: the key for "same profile": host without `www.` (and, for LinkedIn, without the
  country subdomain: `uk.linkedin.com` is `linkedin.com`), the percent-decoded path lower-cased and
  without a trailing slash; query and fragment are ignored. LinkedIn member pages keep only
  `/in/<slug>` (so `/in/ada/details/skills` and `/in/ada?trk=x` are the same person). The
  LinkedIn Lite prefix (`/mwlite/in/ada`) and doubled slashes are dropped, and the decoded slug is
  put in Unicode NFC, so a slug typed with a combining accent equals the one LinkedIn encodes.
* `linkedin_identity`: `url_identity` for a LinkedIn member page (`/in/`, `/pub/`, Sales Navigator
  `/sales/lead/<id>`), None for any other URL (company pages are not people).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final
from urllib.parse import unquote, urlsplit, urlunsplit

_SCHEME: Final = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)
_LINKEDIN_PERSON: Final = re.compile(r"^/(in/[^/]+|pub/.+|sales/lead/[^/,]+)", re.IGNORECASE)
#: LinkedIn Lite serves member pages under /mwlite/in/<slug>.
_LINKEDIN_LITE: Final = re.compile(r"^/mwlite(?=/)", re.IGNORECASE)


def _with_scheme(value: str) -> str:
    text = value.strip()
    return text if _SCHEME.match(text) else "https://" + text.lstrip("/")


def _is_linkedin(host: str) -> bool:
    return host == "linkedin.com" or host.endswith(".linkedin.com")


def linkedin_member_path(value: str) -> str | None:
    """The member part of a LinkedIn URL's path as written (`in/Ada-L`), or None."""
    parts = urlsplit(_with_scheme(value))
    if not _is_linkedin((parts.hostname or "").removeprefix("www.")):
        return None
    path = _LINKEDIN_LITE.sub("", re.sub(r"/{2,}", "/", parts.path))
    match = _LINKEDIN_PERSON.match(path.rstrip("/"))
    return match.group(1) if match else None


def canonical_url(value: str) -> str:
    """The URL as we write it to CATS: `uk.linkedin.com/in/Ada/?trk=x` -> `https://www.linkedin.com/in/Ada`.

    A LinkedIn member page keeps only its member path (tracking parameters and sub-pages are noise
    in a CATS record; the path keeps its case, Sales Navigator ids need it); any other URL gets a
    scheme and a lower-case host, nothing else.
    """
    member = linkedin_member_path(value)
    if member is not None:
        return f"https://www.linkedin.com/{member}"
    parts = urlsplit(_with_scheme(value))
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path, parts.query, ""))


def linkedin_identity(value: str) -> str | None:
    """`https://uk.linkedin.com/in/Ada-L/?trk=x` -> `linkedin.com/in/ada-l`; None when not a member page."""
    member = linkedin_member_path(value)
    if member is None:
        return None
    # Decoded, `in/ada%2Fdetails` is `in/ada/details`: cut it to the member part again.
    decoded = unicodedata.normalize("NFC", unquote(member)).rstrip("/")
    match = _LINKEDIN_PERSON.match("/" + decoded)
    return f"linkedin.com/{(match.group(1) if match else decoded).lower()}"


def url_identity(value: str) -> str:
    """The key under which two spellings of one profile URL are equal (see the module docstring)."""
    linkedin = linkedin_identity(value)
    if linkedin is not None:
        return linkedin
    parts = urlsplit(_with_scheme(value))
    host = (parts.hostname or "").removeprefix("www.")
    if _is_linkedin(host):
        host = "linkedin.com"
    return f"{host}{unquote(parts.path).lower().rstrip('/')}"
