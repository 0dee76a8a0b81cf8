"""The retry policy: which requests may be repeated, full-jitter bounds, attempt and total-wait bounds."""

from __future__ import annotations

import random

import pytest

from companion.cats.retry import RetryPolicy, is_safe_to_repeat


@pytest.mark.parametrize(
    ("method", "path", "safe"),
    [
        ("GET", "/companies", True),
        ("put", "/companies/9001", True),
        ("DELETE", "/candidates/5", True),
        ("POST", "/companies/search", True),
        ("POST", "/companies/search/", True),
        ("POST", "/candidates/search?per_page=100", True),
        ("POST", "/companies", False),
        ("POST", "/contacts/5/activities", False),
        ("POST", "/research", False),
    ],
)
def test_only_requests_without_side_effects_are_safe_to_repeat(method: str, path: str, safe: bool) -> None:
    assert is_safe_to_repeat(method, path) is safe


def test_full_jitter_stays_within_the_exponential_ceiling() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=4.0, rng=random.Random(7))
    for retry, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (5, 4.0), (80, 4.0)]:
        samples = [policy.backoff(retry) for _ in range(300)]
        assert all(0.0 <= s <= ceiling for s in samples)
        # Full jitter spreads over the whole range, not just near the ceiling.
        assert min(samples) < ceiling * 0.1 < ceiling * 0.9 < max(samples)


def test_backoff_is_reproducible_with_a_seeded_random() -> None:
    first = RetryPolicy(rng=random.Random(42))
    second = RetryPolicy(rng=random.Random(42))
    assert [first.backoff(n) for n in range(1, 6)] == [second.backoff(n) for n in range(1, 6)]


def test_a_request_gives_up_after_max_attempts() -> None:
    run = RetryPolicy(max_attempts=3, base_delay=0.01, rng=random.Random(1)).start()
    assert run.next_delay() is not None
    assert run.next_delay() is not None
    assert run.next_delay() is None
    assert run.attempts == 3


def test_retry_after_replaces_the_backoff() -> None:
    run = RetryPolicy(max_total_wait=60).start()
    assert run.next_delay(retry_after=12.0) == 12.0
    assert run.waited == 12.0


def test_retry_after_beyond_the_total_wait_bound_gives_up() -> None:
    run = RetryPolicy(max_total_wait=60).start()
    assert run.next_delay(retry_after=3600) is None
    assert run.attempts == 1


def test_waits_add_up_to_no_more_than_the_total_bound() -> None:
    run = RetryPolicy(max_attempts=10, max_total_wait=25).start()
    assert run.next_delay(retry_after=10) == 10
    assert run.next_delay(retry_after=10) == 10
    assert run.next_delay(retry_after=10) is None
    assert run.waited == 20


@pytest.mark.parametrize("kwargs", [{"max_attempts": 0}, {"base_delay": -1}, {"max_total_wait": -1}])
def test_nonsensical_policies_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]
