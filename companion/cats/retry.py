"""When a failed CATS request may be sent again, and how long to wait first (full-jitter backoff).

Only requests that are safe to repeat are retried after a timeout, a reset or a 5xx: GET, PUT,
DELETE and the read-only `POST /{r}/search`. A POST that creates something is never repeated
blindly (its first attempt may have created the record); the one exception is a 429, which CATS
answers before doing anything, so nothing was created.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Final

_SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


def is_safe_to_repeat(method: str, path: str) -> bool:
    """True when sending the request twice has the same effect as sending it once."""
    method = method.upper()
    if method in _SAFE_METHODS:
        return True
    # POST /{r}/search is a structured read that happens to carry a body.
    return method == "POST" and path.split("?", 1)[0].rstrip("/").endswith("/search")


@dataclass(frozen=True)
class RetryPolicy:
    """Bounds on retrying one request: attempts, backoff growth and the total time spent waiting."""

    #: Attempts in all, the first one included.
    max_attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 20.0
    #: The most a single request may wait across its retries; a longer Retry-After is raised instead.
    max_total_wait: float = 60.0
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.base_delay < 0 or self.max_delay < 0 or self.max_total_wait < 0:
            raise ValueError("retry delays cannot be negative")

    def backoff(self, retry: int) -> float:
        """Full jitter: uniform in [0, min(max_delay, base_delay * 2**(retry-1))] for the `retry`-th retry."""
        if retry < 1:
            raise ValueError("retries are numbered from 1")
        # Cap the exponent so a large retry number cannot overflow the float.
        ceiling = min(self.max_delay, self.base_delay * 2.0 ** min(retry - 1, 62))
        return self.rng.uniform(0.0, ceiling)

    def start(self) -> RetryRun:
        return RetryRun(self)


class RetryRun:
    """The retry state of one request: how many attempts were made and how long they waited."""

    def __init__(self, policy: RetryPolicy) -> None:
        self._policy = policy
        self.attempts = 1
        self.waited = 0.0

    def next_delay(self, retry_after: float | None = None) -> float | None:
        """The wait before the next attempt, or None when the request must give up.

        `retry_after` is the server's own instruction (429's Retry-After) and replaces the backoff.
        """
        if self.attempts >= self._policy.max_attempts:
            return None
        delay = retry_after if retry_after is not None else self._policy.backoff(self.attempts)
        delay = max(0.0, delay)
        if self.waited + delay > self._policy.max_total_wait:
            return None
        self.attempts += 1
        self.waited += delay
        return delay
