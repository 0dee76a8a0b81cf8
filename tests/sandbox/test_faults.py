"""Fault injection: every kind as a client meets it, scripts, seeded probabilities, and clean shutdown."""

from __future__ import annotations

import asyncio
import logging
import time

import aiohttp
import pytest

from companion.sandbox.faults import FaultInjector, FaultKind, FaultSettings, ScriptedOutcome
from tests.fixtures.sandbox import SandboxFactory, SandboxHandle

CANDIDATE = {"first_name": "Ada", "last_name": "Lovelace"}


@pytest.fixture
async def cats(sandbox_factory: SandboxFactory) -> SandboxHandle:
    return await sandbox_factory(rate_limit=0)


async def _status(handle: SandboxHandle, method: str = "GET", path: str = "companies") -> int:
    async with handle.session() as http, http.request(method, handle.url_for(path)) as response:
        await response.read()
        return response.status


# --- the injector on its own --------------------------------------------------------------------


def test_probabilities_are_repeatable_for_a_seed() -> None:
    settings = FaultSettings(
        probabilities={FaultKind.SERVER_ERROR: 0.3, FaultKind.UNAVAILABLE: 0.2}, random_seed=7
    )
    runs = []
    for _ in range(2):
        injector = FaultInjector(settings)
        runs.append([injector.choose("GET", "/v3/companies") for _ in range(200)])
    assert runs[0] == runs[1]
    share = sum(kind is not None for kind in runs[0]) / 200
    assert 0.35 < share < 0.65
    assert {FaultKind.SERVER_ERROR, FaultKind.UNAVAILABLE, None} == set(runs[0])


def test_a_different_seed_gives_a_different_sequence() -> None:
    def sequence(seed: int) -> list[FaultKind | None]:
        injector = FaultInjector(FaultSettings(probabilities={FaultKind.SERVER_ERROR: 0.5}, random_seed=seed))
        return [injector.choose("GET", "/v3/x") for _ in range(50)]

    assert sequence(1) != sequence(2)


def test_script_entries_wait_for_a_matching_request() -> None:
    injector = FaultInjector(
        FaultSettings(
            script=[
                ScriptedOutcome(kind=FaultKind.RESET_AFTER, method="POST", path="/v3/candidates*"),
                ScriptedOutcome(kind=FaultKind.UNAVAILABLE),
            ]
        )
    )
    assert injector.choose("GET", "/v3/companies") is FaultKind.UNAVAILABLE
    assert injector.choose("GET", "/v3/candidates") is None
    assert injector.choose("post", "/v3/candidates") is FaultKind.RESET_AFTER
    assert injector.settings.script == []
    assert injector.injected == {"503": 1, "reset_after": 1}


def test_script_outcome_none_lets_a_request_through() -> None:
    injector = FaultInjector(FaultSettings.model_validate({"script": [{"kind": "none"}, {"kind": "500"}]}))
    assert [injector.choose("GET", "/v3/x") for _ in range(3)] == [None, FaultKind.SERVER_ERROR, None]


@pytest.mark.parametrize(
    "body",
    [
        {"probabilities": {"500": 0.7, "503": 0.4}},
        {"probabilities": {"500": 1.5}},
        {"probabilities": {"teapot": 0.1}},
        {"script": [{"kind": "explode"}]},
        {"hang_seconds": 100_000},
        {"slow_seconds": -1},
        {"unknown": 1},
    ],
)
def test_invalid_fault_settings_are_refused(body: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        FaultSettings.model_validate(body)


def test_uniform_spreads_the_rate_over_the_kinds() -> None:
    settings = FaultSettings.uniform(0.3, [FaultKind.SERVER_ERROR, FaultKind.HANG], hang_seconds=5)
    assert settings.probabilities == pytest.approx({FaultKind.SERVER_ERROR: 0.15, FaultKind.HANG: 0.15})
    assert settings.hang_seconds == 5
    with pytest.raises(ValueError):
        FaultSettings.uniform(0.3, [])


# --- each kind over HTTP ------------------------------------------------------------------------


async def test_server_error_fault_answers_500_with_an_html_page(cats: SandboxHandle) -> None:
    await cats.control.set_faults(script=[{"kind": "500"}])
    async with cats.session() as http, http.get(cats.url_for("companies")) as response:
        assert response.status == 500
        assert response.content_type == "text/html"
        assert "<html>" in await response.text()
        assert "X-Request-Id" in response.headers


async def test_unavailable_fault_answers_503_json(cats: SandboxHandle) -> None:
    await cats.control.set_faults(script=[ScriptedOutcome(kind=FaultKind.UNAVAILABLE)])
    async with cats.session() as http, http.get(cats.url_for("companies")) as response:
        assert response.status == 503
        assert "message" in await response.json()


async def test_rate_limit_fault_answers_429_with_the_configured_retry_after(cats: SandboxHandle) -> None:
    await cats.control.set_faults(script=[{"kind": "429"}], retry_after_seconds=17)
    async with cats.session() as http, http.get(cats.url_for("companies")) as response:
        assert response.status == 429
        assert response.headers["Retry-After"] == "17"
    assert (await cats.control.counters())["rate_limited"] == 1


async def test_faults_are_played_once_then_requests_succeed_again(cats: SandboxHandle) -> None:
    await cats.control.set_faults(script=[{"kind": "503"}, {"kind": "500"}])
    assert [await _status(cats) for _ in range(3)] == [503, 500, 200]


async def test_reset_after_processes_a_post_but_the_client_never_hears_back(
    cats: SandboxHandle, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await cats.control.set_faults(
        script=[{"kind": "reset_after", "method": "POST", "path": "/v3/candidates"}]
    )
    before = cats.store.record_counts()["candidates"]
    async with cats.session() as http:
        with pytest.raises((aiohttp.ServerDisconnectedError, aiohttp.ClientOSError)):
            async with http.post(cats.url_for("candidates"), json=CANDIDATE) as response:
                await response.read()
        # The connection is gone, the server is not: the next request works.
        async with http.get(cats.url_for("companies")) as response:
            assert response.status == 200
    assert cats.store.record_counts()["candidates"] == before + 1
    assert (await cats.control.counters())["faults"] == {"reset_after": 1}
    problems = [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info]
    assert problems == []


async def test_hang_outlasts_the_client_timeout_and_processes_nothing(cats: SandboxHandle) -> None:
    await cats.control.set_faults(script=[{"kind": "hang"}], hang_seconds=30)
    before = cats.store.record_counts()["candidates"]
    async with cats.session(timeout=aiohttp.ClientTimeout(total=0.3)) as http:
        with pytest.raises(asyncio.TimeoutError):
            async with http.post(cats.url_for("candidates"), json=CANDIDATE) as response:
                await response.read()
    assert cats.store.record_counts()["candidates"] == before


async def test_hang_is_bounded_and_then_answers_504(cats: SandboxHandle) -> None:
    await cats.control.set_faults(script=[{"kind": "hang"}], hang_seconds=0.2)
    started = time.monotonic()
    assert await _status(cats) == 504
    assert 0.2 <= time.monotonic() - started < 5


async def test_shutdown_releases_hung_requests_at_once(sandbox_factory: SandboxFactory) -> None:
    handle = await sandbox_factory(
        rate_limit=0, faults=FaultSettings(script=[ScriptedOutcome(kind=FaultKind.HANG)])
    )
    request = asyncio.create_task(_status(handle))
    for _ in range(200):  # until the sandbox holds the request
        if handle.running.parts.faults.injected["hang"]:
            break
        await asyncio.sleep(0.01)
    assert handle.running.parts.faults.injected["hang"] == 1
    started = time.monotonic()
    await handle.running.close()
    assert time.monotonic() - started < 2  # not the 60 s hang, not the shutdown timeout
    try:
        status = await asyncio.wait_for(request, timeout=5)
    except aiohttp.ClientError:
        pass  # the connection closing under it is a fine outcome too
    else:
        assert status == 504


async def test_slow_delays_then_answers_normally(cats: SandboxHandle) -> None:
    await cats.control.set_faults(script=[{"kind": "slow"}], slow_seconds=0.25)
    started = time.monotonic()
    assert await _status(cats) == 200
    assert time.monotonic() - started >= 0.25


async def test_faults_come_after_auth(cats: SandboxHandle) -> None:
    await cats.control.set_faults(script=[{"kind": "500"}])
    async with aiohttp.ClientSession() as http, http.get(cats.url_for("companies")) as response:
        assert response.status == 401
    # The scripted fault is still waiting for an authenticated request.
    assert await _status(cats) == 500


async def test_faults_never_touch_the_control_api(cats: SandboxHandle) -> None:
    await cats.control.set_faults(probabilities={"503": 1.0})
    for _ in range(3):
        assert (await cats.control.counters())["faults"] == {}
    assert await _status(cats) == 503


async def test_fault_rate_given_at_start_is_applied_and_repeatable(sandbox_factory: SandboxFactory) -> None:
    settings = FaultSettings.uniform(0.5, [FaultKind.SERVER_ERROR, FaultKind.UNAVAILABLE], random_seed=3)
    statuses = []
    for _ in range(2):
        handle = await sandbox_factory(rate_limit=0, faults=settings)
        statuses.append([await _status(handle) for _ in range(12)])
    assert statuses[0] == statuses[1]
    assert set(statuses[0]) == {200, 500, 503}
