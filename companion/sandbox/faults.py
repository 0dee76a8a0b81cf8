"""Fault injection: which misbehaviour the sandbox shows on the next CATS request, and its settings.

Faults come from two places, checked in this order for every authenticated CATS request:

1. a *script*: a queue of explicit outcomes, each optionally restricted to a method and a path
   pattern (shell-style, e.g. ``/v3/candidates*``). A request takes the first entry that matches
   it; entries that do not match wait for a later request. ``none`` is an outcome too, so a
   script can say "let the next POST through, then fail the one after".
2. *probabilities* per fault kind, drawn from a seeded random generator so a run is repeatable.

The kinds, and what a client sees:

- ``429``: 429 with ``Retry-After`` (``retry_after_seconds``) and a JSON message;
- ``500``: 500 with an HTML body (real CATS 5xx pages are not always JSON);
- ``503``: 503 with a JSON message;
- ``hang``: no answer for ``hang_seconds`` (longer than the client's timeout), then 504; the
  request is not processed. Bounded, and released at once when the sandbox shuts down;
- ``reset_after``: the request IS processed (a POST creates its record), then the connection
  is dropped before any answer, so the client cannot know whether it worked;
- ``slow``: ``slow_seconds`` of delay, then the normal answer.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter, deque
from enum import StrEnum
from fnmatch import fnmatchcase
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from companion.waiting import wait_event


class FaultKind(StrEnum):
    RATE_LIMITED = "429"
    SERVER_ERROR = "500"
    UNAVAILABLE = "503"
    HANG = "hang"
    RESET_AFTER = "reset_after"
    SLOW = "slow"


#: A script entry's outcome: a fault, or ``none`` for a normal answer.
NO_FAULT = "none"

#: Upper bound of hang/slow delays, so a misconfigured sandbox cannot hold a request forever.
MAX_DELAY_SECONDS = 600.0

Probability = Annotated[float, Field(ge=0.0, le=1.0)]
Delay = Annotated[float, Field(ge=0.0, le=MAX_DELAY_SECONDS)]


class ScriptedOutcome(BaseModel):
    """One queued outcome; ``method``/``path`` limit which requests may take it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: FaultKind | Annotated[str, Field(pattern=f"^{NO_FAULT}$")]
    method: Annotated[str, Field(min_length=1, max_length=16)] | None = None
    path: Annotated[str, Field(min_length=1, max_length=500)] | None = None

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return self.path is None or fnmatchcase(path, self.path)

    @property
    def fault(self) -> FaultKind | None:
        return self.kind if isinstance(self.kind, FaultKind) else None


class FaultSettings(BaseModel):
    """Everything that decides faults; the control API's ``PUT /_sandbox/faults`` body."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    probabilities: dict[FaultKind, Probability] = Field(default_factory=dict)
    script: list[ScriptedOutcome] = Field(default_factory=list, max_length=10_000)
    random_seed: int = 0
    hang_seconds: Delay = 60.0
    slow_seconds: Delay = 2.0
    retry_after_seconds: Annotated[int, Field(ge=0, le=86_400)] = 60

    @model_validator(mode="after")
    def _probabilities_fit(self) -> Self:
        if sum(self.probabilities.values()) > 1.0 + 1e-9:
            raise ValueError("the fault probabilities add up to more than 1")
        return self

    @classmethod
    def uniform(cls, rate: float, kinds: list[FaultKind], **settings: object) -> FaultSettings:
        """`rate` spread evenly over `kinds` (what the CLI's --fault-rate/--faults mean)."""
        if not 0.0 <= rate <= 1.0:
            raise ValueError("the fault rate must be between 0 and 1")
        if not kinds and rate > 0:
            raise ValueError("a fault rate needs at least one fault kind")
        probabilities = dict.fromkeys(kinds, rate / len(kinds)) if rate > 0 else {}
        return cls.model_validate({"probabilities": probabilities, **settings})


class FaultInjector:
    """Decides each request's fault and counts what it injected.

    Delays wait on an event that `release()` sets at shutdown, so hung requests end at once
    instead of holding the server's shutdown.
    """

    def __init__(self, settings: FaultSettings | None = None) -> None:
        self._released = asyncio.Event()
        self.injected: Counter[str] = Counter()
        self._settings = FaultSettings()
        self._script: deque[ScriptedOutcome] = deque()
        self._random = random.Random(0)
        self.configure(settings or FaultSettings())

    @property
    def settings(self) -> FaultSettings:
        """The settings in force; ``script`` lists the entries not yet used."""
        return self._settings.model_copy(update={"script": list(self._script)})

    def configure(self, settings: FaultSettings) -> None:
        """Replace every setting and the script; the random sequence restarts from its seed."""
        self._settings = settings
        self._script = deque(settings.script)
        self._random = random.Random(settings.random_seed)

    def choose(self, method: str, path: str) -> FaultKind | None:
        """The fault for this request (None for a normal answer), and count it."""
        fault = self._from_script(method, path) if self._script else self._draw()
        if fault is not None:
            self.injected[fault.value] += 1
        return fault

    def _from_script(self, method: str, path: str) -> FaultKind | None:
        for index, outcome in enumerate(self._script):
            if outcome.matches(method, path):
                del self._script[index]
                return outcome.fault
        return self._draw()

    def _draw(self) -> FaultKind | None:
        if not self._settings.probabilities:
            return None
        # One draw per request whatever the mix, so the sequence depends only on the seed and
        # the number of requests.
        roll = self._random.random()
        for kind, probability in self._settings.probabilities.items():
            if roll < probability:
                return kind
            roll -= probability
        return None

    async def delay(self, seconds: float) -> bool:
        """Wait up to `seconds`; False when the wait was cut short by `release()`."""
        if self._released.is_set():
            return False
        return not await wait_event(self._released, seconds)

    def release(self) -> None:
        """End every current and future delay (the sandbox is shutting down)."""
        self._released.set()
