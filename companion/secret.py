"""The API key as a value that cannot leak through repr, str, logging or exceptions."""

from __future__ import annotations

import hmac
from typing import Final, NoReturn

_REDACTED: Final = "<api key redacted>"


class ApiKey:
    """Holds a CATS API key; only `reveal()` gives the text, and only the HTTP layer calls it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        value = value.strip()
        if not value:
            raise ValueError("the API key is empty")
        self._value = value

    def reveal(self) -> str:
        return self._value

    def matches(self, candidate: str) -> bool:
        """Constant-time comparison, so a caller cannot time its way to the key."""
        return hmac.compare_digest(self._value.encode(), candidate.encode())

    def __repr__(self) -> str:
        return _REDACTED

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ApiKey) and self.matches(other._value)

    def __hash__(self) -> int:
        return hash(ApiKey)

    def __reduce__(self) -> NoReturn:
        # Pickling would write the key wherever the pickle goes.
        raise TypeError("ApiKey cannot be pickled")
