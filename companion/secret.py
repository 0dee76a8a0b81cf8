"""Secrets as values that cannot leak through repr, str, logging, pickling or exceptions.

`ApiKey` is the CATS API key; `DatabasePassword` is a team member's PostgreSQL password. Both print
as a redaction marker; only `reveal()` gives the text, and only the edge that must hand it on (the
HTTP header, the keyring, the PostgreSQL driver) calls it.
"""

from __future__ import annotations

import hmac
from typing import ClassVar, NoReturn


class Secret:
    """A text that only `reveal()` gives back; equality is constant-time and per type."""

    __slots__ = ("_value",)
    _REDACTED: ClassVar[str] = "<secret redacted>"

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def matches(self, candidate: str) -> bool:
        """Constant-time comparison, so a caller cannot time its way to the secret."""
        return hmac.compare_digest(self._value.encode(), candidate.encode())

    def __repr__(self) -> str:
        return self._REDACTED

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and isinstance(other, Secret) and self.matches(other._value)

    def __hash__(self) -> int:
        return hash(type(self))

    def __reduce__(self) -> NoReturn:
        # Pickling would write the secret wherever the pickle goes.
        raise TypeError(f"{type(self).__name__} cannot be pickled")


class ApiKey(Secret):
    """Holds a CATS API key; only `reveal()` gives the text, and only the HTTP layer calls it."""

    __slots__ = ()
    _REDACTED = "<api key redacted>"

    def __init__(self, value: str) -> None:
        value = value.strip()
        if not value:
            raise ValueError("the API key is empty")
        super().__init__(value)


class DatabasePassword(Secret):
    """A PostgreSQL password; only the keyring and the driver's connect call see its text.

    Kept exactly as given (a password may begin or end with a space); only an empty one is refused.
    """

    __slots__ = ()
    _REDACTED = "<database password redacted>"

    def __init__(self, value: str) -> None:
        if not value:
            raise ValueError("the database password is empty")
        super().__init__(value)
