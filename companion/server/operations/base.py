"""What an operation is (name, params model, whether it writes, handler) and what its handler is given."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from companion.app import Companion
from companion.protocol import JsonObject, check_name
from companion.server.state import ServerState

P = TypeVar("P", bound=BaseModel)
Result = Mapping[str, Any] | BaseModel


@dataclass(frozen=True)
class Call:
    """What a handler gets besides its params, whichever transport carried the request."""

    companion: Companion
    server: ServerState
    #: The extension origin the host was started for (`chrome-extension://<id>/`), if it said.
    caller: str | None
    request_id: int | str
    #: The table this call was dispatched from (what `hello` lists).
    operations: Operations = field(repr=False)
    #: Made by the settings window, signed in with its session cookie and CSRF token (HTTP only).
    window: bool = False


Handler = Callable[[Call, P], Awaitable[Result]]


@dataclass(frozen=True)
class Operation(Generic[P]):
    """One use case the daemon serves: `handler(call, params) -> dict or model`."""

    name: str
    handler: Handler[P]
    params: type[P]
    #: False: the handler runs where database writes raise (companion.store.read_only).
    mutates: bool = False

    def __post_init__(self) -> None:
        check_name(self.name)

    @property
    def summary(self) -> str:
        """The first line of the handler's docstring: what `hello` and PROTOCOL.md say of it."""
        lines = (self.handler.__doc__ or "").strip().splitlines()
        return lines[0] if lines else ""

    def describe(self) -> JsonObject:
        return {"type": self.name, "mutates": self.mutates, "summary": self.summary}


class Operations:
    """The operations by name; a name is declared once."""

    def __init__(self, operations: Iterable[Operation[Any]]) -> None:
        self._by_name: dict[str, Operation[Any]] = {}
        for operation in operations:
            if operation.name in self._by_name:
                raise ValueError(f"operation {operation.name!r} is declared twice")
            self._by_name[operation.name] = operation

    def extended(self, more: Iterable[Operation[Any]]) -> Operations:
        """This table plus `more` (the tests' extra message types)."""
        return Operations([*self, *more])

    def get(self, name: str) -> Operation[Any] | None:
        return self._by_name.get(name)

    def names(self) -> list[str]:
        return sorted(self._by_name)

    def describe(self) -> list[JsonObject]:
        return [self._by_name[name].describe() for name in self.names()]

    def __iter__(self) -> Iterator[Operation[Any]]:
        return iter(self._by_name.values())

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __len__(self) -> int:
        return len(self._by_name)


__all__ = ["Call", "Handler", "Operation", "Operations", "Result"]
