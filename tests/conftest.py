"""Suite-wide rules: fixtures come from tests/fixtures/, and CI never silently skips."""

from __future__ import annotations

import os

import pytest

pytest_plugins = [
    "tests.fixtures.sandbox",
    "tests.fixtures.keyring",
    "tests.fixtures.daemon",
    "tests.fixtures.database",
    "tests.fixtures.postgres",
]


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets its own companion home, so no test touches the real user's files."""
    monkeypatch.setenv("CATS_COMPANION_HOME", str(tmp_path_factory.mktemp("home")))
    # A team policy named by the environment would change every test's effective settings.
    monkeypatch.delenv("CATS_COMPANION_POLICY", raising=False)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    # In CI a skipped test is a test that did not run: the system packages it needs are
    # installed by ./dev test, so a skip there means the install step is broken.
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI") and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, which must run every test: {report.longrepr}"
