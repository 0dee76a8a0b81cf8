"""The CATS site a team belongs to, and the one rule for whether a companion's site is the same.

A site is the CATS API base URL plus, when known, the account's subdomain (GET /site; see
companion.services.cats_site). Every CATS cloud account shares https://api.catsone.com/v3, so the
subdomain is what really tells two accounts apart; it is compared whenever both sides know it.
"""

from __future__ import annotations

from dataclasses import dataclass

from companion.errors import TeamSiteMismatchError


@dataclass(frozen=True)
class CatsSite:
    #: Normalised (companion.keystore.normalize_base_url).
    base_url: str
    #: Lower-case, or None while unknown.
    subdomain: str | None = None

    def describe(self) -> str:
        return (
            f"{self.subdomain} at {self.base_url}"
            if self.subdomain
            else f"{self.base_url} (site name unknown)"
        )


def check_same_site(team: CatsSite, mine: CatsSite) -> None:
    """Raise TeamSiteMismatchError, naming both, when `mine` is not the team's CATS site."""
    differs = team.base_url != mine.base_url or (
        team.subdomain is not None and mine.subdomain is not None and team.subdomain != mine.subdomain
    )
    if differs:
        raise TeamSiteMismatchError(
            f"this team belongs to the CATS site {team.describe()}, but this companion works with "
            f"{mine.describe()}: a team shares one CATS site. Join a team of your own site, or run the "
            "companion with that site's URL (--cats-url) and its API key."
        )


def can_confirm(team: CatsSite, mine: CatsSite) -> bool:
    """Whether the comparison covered the subdomain (False: only the base URL could be compared)."""
    return team.subdomain is not None and mine.subdomain is not None
