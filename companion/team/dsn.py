"""The team database's address: a PostgreSQL URL without a password, in one canonical spelling.

`postgresql://alice@db.example.com/team?sslmode=require` names the host, port (5432 when left
out), database, login role and connection options. The password never travels in it: a DSN that
holds one is refused without being echoed (it came from a command line, where the process list and
the shell history keep it), and the canonical spelling (`TeamDsn.url`) is what the keyring files
the password under and what the local team record keeps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from companion.errors import ConfigError

DEFAULT_PORT: Final = 5432
_SCHEMES: Final = frozenset({"postgresql", "postgres"})
#: Query options that carry a secret; `passfile` only names a file, and is allowed.
_SECRET_OPTIONS: Final = frozenset({"password"})

DSN_CREDENTIAL_REFUSAL: Final = (
    "the DSN holds a password, which is never taken from the command line (other users see it in "
    "the process list, your shell keeps it in its history). Give the DSN without it, e.g. "
    "postgresql://alice@db.example.com:5432/team, and type the password at the hidden prompt or pipe "
    "it on stdin. If the password is now in your shell history, consider changing it."
)


@dataclass(frozen=True)
class TeamDsn:
    """A parsed, password-free PostgreSQL URL."""

    user: str
    host: str
    port: int
    database: str
    #: Connection options (sslmode, ...), sorted by name.
    options: tuple[tuple[str, str], ...] = ()

    @property
    def url(self) -> str:
        """The canonical spelling: postgresql://user@host:port/database[?options]."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        query = f"?{urlencode(self.options)}" if self.options else ""
        return (
            f"postgresql://{quote(self.user, safe='')}@{host}:{self.port}/{quote(self.database, safe='')}"
            f"{query}"
        )

    def __str__(self) -> str:
        return self.url


def parse_dsn(text: str) -> TeamDsn:
    """The DSN in `text`; ConfigError (never quoting a password) when it is not one we accept."""
    raw = text.strip()
    try:
        parts = urlsplit(raw)
        port = parts.port
        password = parts.password
    except ValueError:
        # urlsplit's own message can quote the netloc, password and all.
        raise ConfigError(
            "the team DSN is not a valid PostgreSQL URL; it looks like postgresql://alice@db.example.com:5432/team"
        ) from None
    if parts.scheme.lower() not in _SCHEMES:
        raise ConfigError(
            "the team DSN must be a PostgreSQL URL starting with postgresql://, e.g. "
            "postgresql://alice@db.example.com:5432/team (the key=value form is not accepted)"
        )
    options = parse_qsl(parts.query, keep_blank_values=True)
    if password is not None or any(name.lower() in _SECRET_OPTIONS for name, _ in options):
        raise ConfigError(DSN_CREDENTIAL_REFUSAL)
    if parts.fragment:
        raise ConfigError("the team DSN must not have a #fragment")
    user = unquote(parts.username or "")
    host = (parts.hostname or "").lower()
    database = unquote(parts.path.lstrip("/"))
    shown = _shown(parts.scheme, host, port, database, user)
    if not user:
        raise ConfigError(
            f"the team DSN {shown} names no user: put your PostgreSQL login role before the host, "
            "e.g. postgresql://alice@db.example.com:5432/team"
        )
    if not host:
        raise ConfigError(f"the team DSN {shown} names no host, e.g. postgresql://{user}@db.example.com/team")
    if not database or "/" in database:
        raise ConfigError(
            f"the team DSN {shown} must name one database after the host, e.g. "
            f"postgresql://{user}@{host}:{port or DEFAULT_PORT}/team"
        )
    if "host" in {name.lower() for name, _ in options}:
        raise ConfigError(f"the team DSN {shown} must name its host in the URL, not in a host= option")
    return TeamDsn(
        user=user,
        host=host,
        port=port if port is not None else DEFAULT_PORT,
        database=database,
        options=tuple(sorted(options)),
    )


def _shown(scheme: str, host: str, port: int | None, database: str, user: str) -> str:
    """The DSN as far as it was understood, for error messages (it holds no password by now)."""
    where = f"{host}:{port}" if port is not None else host
    return f"{scheme}://{user + '@' if user else ''}{where}/{database}"
