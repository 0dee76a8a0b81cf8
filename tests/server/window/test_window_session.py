"""One-time codes and window sessions: single use, expiry and idle timeout on an injected clock."""

from __future__ import annotations

import pytest

from companion.server.window.sessions import (
    MAX_PENDING_LINKS,
    MAX_SESSIONS,
    OPEN_PATH,
    WindowSessions,
    link_url,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sessions(clock: Clock) -> WindowSessions:
    return WindowSessions(clock=clock, link_ttl=60.0, idle_timeout=600.0)


def test_a_code_gives_one_session_and_cannot_be_used_twice(sessions: WindowSessions) -> None:
    code = sessions.new_code()
    session = sessions.redeem(code)
    assert session is not None
    assert sessions.redeem(code) is None
    assert sessions.session_count == 1


def test_a_code_expires_after_its_time(sessions: WindowSessions, clock: Clock) -> None:
    code = sessions.new_code()
    clock.now += 60.0
    assert sessions.redeem(code) is None
    assert sessions.session_count == 0


def test_a_code_just_before_expiry_still_works(sessions: WindowSessions, clock: Clock) -> None:
    code = sessions.new_code()
    clock.now += 59.9
    assert sessions.redeem(code) is not None


def test_a_wrong_code_gives_nothing(sessions: WindowSessions) -> None:
    sessions.new_code()
    assert sessions.redeem("not-a-code") is None
    assert sessions.redeem("") is None


def test_codes_and_sessions_are_random_and_distinct(sessions: WindowSessions) -> None:
    codes = {sessions.new_code() for _ in range(20)}
    assert len(codes) == 20
    first, second = sessions.redeem(codes.pop()), sessions.redeem(codes.pop())
    assert first is not None and second is not None
    assert first.id != second.id and first.csrf_token != second.csrf_token
    assert len(first.id) >= 40 and len(first.csrf_token) >= 40


def test_a_session_ends_after_the_idle_timeout(sessions: WindowSessions, clock: Clock) -> None:
    session = sessions.redeem(sessions.new_code())
    assert session is not None
    clock.now += 600.0
    assert sessions.find(session.id) is None
    # Gone for good, even if the clock went back.
    clock.now -= 300.0
    assert sessions.find(session.id) is None


def test_each_request_restarts_the_idle_timer(sessions: WindowSessions, clock: Clock) -> None:
    session = sessions.redeem(sessions.new_code())
    assert session is not None
    for _ in range(5):
        clock.now += 500.0
        assert sessions.find(session.id) is session
    assert sessions.expires_in(session) == 600.0


def test_sign_out_ends_the_session_at_once(sessions: WindowSessions) -> None:
    session = sessions.redeem(sessions.new_code())
    assert session is not None
    assert sessions.end(session.id) is True
    assert sessions.find(session.id) is None
    assert sessions.end(session.id) is False


def test_the_csrf_token_must_match_exactly(sessions: WindowSessions) -> None:
    session = sessions.redeem(sessions.new_code())
    assert session is not None
    assert session.csrf_matches(session.csrf_token)
    assert not session.csrf_matches(None)
    assert not session.csrf_matches("")
    assert not session.csrf_matches(session.csrf_token[:-1])
    assert not session.csrf_matches(session.csrf_token + "x")
    assert not session.csrf_matches("é" * 43)


def test_waiting_links_are_capped_oldest_first(sessions: WindowSessions, clock: Clock) -> None:
    first = sessions.new_code()
    for _ in range(MAX_PENDING_LINKS):
        clock.now += 0.01
        last = sessions.new_code()
    assert sessions.redeem(first) is None
    assert sessions.redeem(last) is not None


def test_open_sessions_are_capped_least_recently_used_first(sessions: WindowSessions, clock: Clock) -> None:
    made = []
    for _ in range(MAX_SESSIONS):
        clock.now += 1.0
        session = sessions.redeem(sessions.new_code())
        assert session is not None
        made.append(session)
    clock.now += 1.0
    assert sessions.find(made[0].id) is not None  # the first is now the most recently used
    sessions.redeem(sessions.new_code())
    assert sessions.find(made[0].id) is not None
    assert sessions.find(made[1].id) is None
    assert sessions.session_count == MAX_SESSIONS


def test_reprs_hold_no_secret(sessions: WindowSessions) -> None:
    code = sessions.new_code()
    session = sessions.redeem(code)
    assert session is not None
    shown = repr(session) + repr(sessions)
    assert session.id not in shown and session.csrf_token not in shown and code not in shown


def test_the_link_points_at_the_open_path_on_loopback() -> None:
    assert link_url(8123, "abc") == f"http://127.0.0.1:8123{OPEN_PATH}?t=abc"
