"""`cats-companion key set|status|clear`, run in-process with stdin replaced, CATS being the sandbox."""

from __future__ import annotations

import asyncio
import getpass
import io
import logging
import socket
import sys
from collections.abc import Sequence
from dataclasses import dataclass

import pytest
from keyring.errors import InitError

from companion import cli, paths
from companion.cli import demo_state
from companion.cli import key as keycli
from companion.keystore import DEFAULT_BASE_URL, SERVICE_NAME, KeyringKeyStore
from companion.secret import ApiKey
from tests.fixtures.daemon import DaemonFactory
from tests.fixtures.keyring import FailingKeyring, MemoryKeyring, install_keyring
from tests.fixtures.sandbox import SandboxFactory, SandboxHandle

SECRET = "cli-s3cret-key-4e1d"


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str


class Runner:
    """Runs `cats-companion` in-process and checks that no path ever shows the key."""

    def __init__(
        self,
        capsys: pytest.CaptureFixture[str],
        caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        self._capsys = capsys
        self._caplog = caplog
        self._monkeypatch = monkeypatch
        self.last_stdin = io.StringIO()
        caplog.set_level(logging.DEBUG)

    def __call__(self, argv: Sequence[str], stdin: str = "", *, secrets: Sequence[str] = (SECRET,)) -> Result:
        self._feed(stdin)
        try:
            code = cli.main(list(argv))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        return self._collect(code, secrets)

    async def run_async(
        self, argv: Sequence[str], stdin: str = "", *, secrets: Sequence[str] = (SECRET,)
    ) -> Result:
        """For tests whose CATS sandbox runs on this test's event loop: the CLI runs its own loop."""
        self._feed(stdin)
        code = await asyncio.to_thread(cli.main, list(argv))
        return self._collect(code, secrets)

    def _feed(self, stdin: str) -> None:
        self.last_stdin = io.StringIO(stdin)
        self._monkeypatch.setattr(sys, "stdin", self.last_stdin)

    def _collect(self, code: int, secrets: Sequence[str]) -> Result:
        out, err = self._capsys.readouterr()
        logs = self._caplog.text
        for secret in secrets:
            assert secret not in out, "the key was printed on stdout"
            assert secret not in err, "the key was printed on stderr"
            assert secret not in logs, "the key was logged"
        return Result(code, out, err)


@pytest.fixture
def run(
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> Runner:
    return Runner(capsys, caplog, monkeypatch)


def test_runner_catches_a_key_that_was_printed(run: Runner) -> None:
    # Every test below relies on this check to prove the key never shows up; it must be able to fail.
    print(f"oops {SECRET}")
    with pytest.raises(AssertionError, match="printed on stdout"):
        run(["key", "set", "--help"])
    logging.getLogger("companion.test").warning("oops %s", SECRET)
    with pytest.raises(AssertionError, match="logged"):
        run(["key", "set", "--help"])


def closed_port_url() -> str:
    """A loopback URL nobody listens on: connecting to it is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/v3"


# --- the key never comes from the command line ---------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["key", "set", SECRET],
        ["key", "set", "--cats-url", DEFAULT_BASE_URL, SECRET],
        ["key", "set", SECRET, "--cats-url", DEFAULT_BASE_URL],
        ["key", "set", f"--api-key={SECRET}"],
        ["key", "set", "--key", SECRET],
        ["key", "set", "--token", SECRET],
    ],
)
def test_key_on_the_command_line_is_refused_without_echoing_it(
    argv: list[str], run: Runner, memory_keyring: MemoryKeyring
) -> None:
    result = run(argv, stdin=SECRET + "\n")

    assert result.code == 2
    assert "never taken from the command line" in result.err
    assert memory_keyring.passwords == {}


def test_key_set_offers_no_option_for_the_key(run: Runner) -> None:
    result = run(["key", "set", "--help"])

    assert result.code == 0
    assert "--cats-url" in result.out
    assert "--key" not in result.out and "--api-key" not in result.out and "--token" not in result.out


def test_key_without_an_action_is_a_usage_error(run: Runner) -> None:
    assert run(["key"]).code == 2


@pytest.mark.parametrize(
    ("url", "reason"),
    [("http://cats.example.com/v3", "plain http"), ("cats.example.com", "must start with https://")],
)
def test_bad_cats_url_is_a_usage_error_and_stores_nothing(
    url: str, reason: str, run: Runner, memory_keyring: MemoryKeyring
) -> None:
    result = run(["key", "set", "--cats-url", url], stdin=SECRET + "\n")

    assert result.code == 2
    assert reason in result.err
    assert memory_keyring.passwords == {}


def test_bad_timeout_is_a_usage_error(run: Runner) -> None:
    assert run(["key", "status", "--timeout", "0"]).code == 2
    assert run(["key", "status", "--timeout", "soon"]).code == 2


# --- reading the key -------------------------------------------------------------------------------


@pytest.mark.parametrize("stdin", ["", "\n", "   \n"])
def test_no_key_on_stdin_is_refused(stdin: str, run: Runner, memory_keyring: MemoryKeyring) -> None:
    result = run(["key", "set", "--cats-url", closed_port_url()], stdin=stdin)

    assert result.code == 1
    assert "no API key was given" in result.err
    assert memory_keyring.passwords == {}


@pytest.mark.parametrize("junk", ["two words", "tab\there", "bell\x07", "caf\u00e9-key"])
def test_text_that_cannot_be_a_key_is_refused_without_quoting_it(
    junk: str, run: Runner, memory_keyring: MemoryKeyring
) -> None:
    result = run(["key", "set", "--cats-url", closed_port_url()], stdin=junk + "\n", secrets=[junk])

    assert result.code == 1
    assert "not an API key" in result.err
    assert memory_keyring.passwords == {}


def test_key_is_read_from_a_hidden_prompt_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    prompts: list[str] = []

    def fake_getpass(prompt: str = "") -> str:
        prompts.append(prompt)
        return f"  {SECRET}  "

    # The terminal is the OS edge: getpass turns echo off on /dev/tty.
    monkeypatch.setattr(getpass, "getpass", fake_getpass)

    key = keycli.read_key(Terminal("typed-on-stdin-instead\n"))

    assert key == ApiKey(SECRET)
    assert prompts == [keycli.PROMPT]


def test_only_the_first_line_of_stdin_is_the_key() -> None:
    assert keycli.read_key(io.StringIO(f"{SECRET}\nsecond line\n")) == ApiKey(SECRET)


# --- no keyring, no key stored ---------------------------------------------------------------------


@pytest.mark.parametrize("action", ["set", "status", "clear"])
def test_unavailable_keyring_is_reported_with_the_fix(
    action: str, run: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    install_keyring(
        monkeypatch,
        FailingKeyring(InitError("Failed to create the collection: Prompt dismissed..")),
        explicit=True,
    )

    result = run(["key", action, "--cats-url", closed_port_url()], stdin=SECRET + "\n")

    assert result.code == 1
    assert "Prompt dismissed" in result.err
    assert "gnome-keyring" in result.err
    # Nothing was asked of CATS (the closed port would have said "could not be reached"), and
    # the key was not even read: there was nowhere to put it.
    assert "could not be reached" not in result.err
    assert run.last_stdin.tell() == 0


def test_status_without_a_stored_key_says_so(run: Runner) -> None:
    result = run(["key", "status", "--cats-url", closed_port_url()])

    assert result.code == 1
    assert "no API key is stored" in result.err
    assert "cats-companion key set" in result.err


def test_clear_removes_the_key_and_says_so(run: Runner, memory_keyring: MemoryKeyring) -> None:
    KeyringKeyStore().set(DEFAULT_BASE_URL, ApiKey(SECRET))
    KeyringKeyStore().set("https://other.example.com/v3", ApiKey("other-key"))

    first = run(["key", "clear"])
    second = run(["key", "clear"])

    assert (first.code, second.code) == (0, 0)
    assert "Removed the API key for https://api.catsone.com/v3" in first.out
    assert "No API key was stored" in second.out
    assert memory_keyring.passwords == {(SERVICE_NAME, "https://other.example.com/v3"): "other-key"}


# --- checking the key with CATS --------------------------------------------------------------------


def test_unreachable_cats_is_reported_and_nothing_is_stored(
    run: Runner, memory_keyring: MemoryKeyring
) -> None:
    url = closed_port_url()

    result = run(["key", "set", "--cats-url", url, "--timeout", "5"], stdin=SECRET + "\n")

    assert result.code == 1
    assert f"CATS could not be reached at {url}" in result.err
    assert "key not stored" in result.err
    assert memory_keyring.passwords == {}


def test_status_with_unreachable_cats_says_so(run: Runner) -> None:
    url = closed_port_url()
    KeyringKeyStore().set(url, ApiKey(SECRET))

    result = run(["key", "status", "--cats-url", url, "--timeout", "5"])

    assert result.code == 1
    assert f"not connected: CATS could not be reached at {url}" in result.err


# --- against the CATS sandbox over HTTP ------------------------------------------------------------


async def requests_seen(sandbox: SandboxHandle) -> int:
    total: int = (await sandbox.control.counters())["requests_total"]
    return total


async def test_valid_key_is_checked_once_and_stored(
    sandbox_factory: SandboxFactory, run: Runner, memory_keyring: MemoryKeyring
) -> None:
    sandbox = await sandbox_factory(api_key=SECRET)

    result = await run.run_async(["key", "set", "--cats-url", sandbox.url + "/"], stdin=SECRET + "\n")

    assert result.code == 0, result.err
    assert "CATS accepted the key (site sandbox" in result.out
    assert f"stored it for {sandbox.url} in tests.fixtures.keyring.MemoryKeyring" in result.out
    assert memory_keyring.passwords == {(SERVICE_NAME, sandbox.url): SECRET}
    assert await requests_seen(sandbox) == 1


async def test_bad_key_is_refused_and_the_stored_one_is_kept(
    sandbox_factory: SandboxFactory, run: Runner, memory_keyring: MemoryKeyring
) -> None:
    sandbox = await sandbox_factory(api_key=SECRET)
    KeyringKeyStore().set(sandbox.url, ApiKey(SECRET))
    wrong = "wrong-key-9b2c"

    result = await run.run_async(
        ["key", "set", "--cats-url", sandbox.url], stdin=wrong + "\n", secrets=[SECRET, wrong]
    )

    assert result.code == 1
    assert "key not stored" in result.err
    assert f"CATS at {sandbox.url} refused the API key" in result.err
    assert memory_keyring.passwords == {(SERVICE_NAME, sandbox.url): SECRET}
    assert await requests_seen(sandbox) == 1


async def test_cats_failing_during_the_check_stores_nothing(
    sandbox_factory: SandboxFactory, run: Runner, memory_keyring: MemoryKeyring
) -> None:
    sandbox = await sandbox_factory(api_key=SECRET)
    await sandbox.control.set_faults(script=[{"kind": "503"}])
    await sandbox.control.reset_counters()

    result = await run.run_async(["key", "set", "--cats-url", sandbox.url], stdin=SECRET + "\n")

    assert result.code == 1
    assert f"CATS at {sandbox.url} is not answering properly" in result.err
    assert memory_keyring.passwords == {}
    assert await requests_seen(sandbox) == 1


async def test_setting_a_new_key_says_it_replaced_the_old_one(
    sandbox_factory: SandboxFactory, run: Runner
) -> None:
    sandbox = await sandbox_factory(api_key=SECRET)
    KeyringKeyStore().set(sandbox.url, ApiKey("previous-key"))

    result = await run.run_async(["key", "set", "--cats-url", sandbox.url], stdin=SECRET + "\n")

    assert result.code == 0, result.err
    assert "replacing the previous key" in result.out
    assert KeyringKeyStore().get(sandbox.url) == ApiKey(SECRET)


async def test_no_keyring_costs_no_cats_request(
    sandbox_factory: SandboxFactory, run: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox = await sandbox_factory(api_key=SECRET)
    install_keyring(monkeypatch, FailingKeyring(InitError("Prompt dismissed")), explicit=True)

    for action in ("set", "status"):
        result = await run.run_async(["key", action, "--cats-url", sandbox.url], stdin=SECRET + "\n")
        assert result.code == 1
        assert "keyring" in result.err
    assert await requests_seen(sandbox) == 0


async def test_status_with_a_working_key_says_connected(sandbox_factory: SandboxFactory, run: Runner) -> None:
    sandbox = await sandbox_factory(api_key=SECRET)
    KeyringKeyStore().set(sandbox.url, ApiKey(SECRET))

    result = await run.run_async(["key", "status", "--cats-url", sandbox.url])

    assert result.code == 0, result.err
    assert result.out.startswith(f"connected to {sandbox.url} (site sandbox")
    assert "requests left this hour" in result.out
    assert await requests_seen(sandbox) == 1


async def test_status_with_a_refused_key_says_so(sandbox_factory: SandboxFactory, run: Runner) -> None:
    sandbox = await sandbox_factory(api_key=SECRET)
    revoked = "revoked-key-11aa"
    KeyringKeyStore().set(sandbox.url, ApiKey(revoked))

    result = await run.run_async(["key", "status", "--cats-url", sandbox.url], secrets=[SECRET, revoked])

    assert result.code == 1
    assert f"not connected: CATS at {sandbox.url} refused the API key" in result.err


async def test_status_while_the_demo_runs_names_the_sandbox_and_its_demo_key_not_the_keyring(
    run: Runner, monkeypatch: pytest.MonkeyPatch, daemon_factory: DaemonFactory, sandbox: SandboxHandle
) -> None:
    install_keyring(monkeypatch, FailingKeyring(InitError("Prompt dismissed")), explicit=True)
    await daemon_factory(key=sandbox.key, cats_base_url=sandbox.url)
    with demo_state.recorded(sandbox.url, paths.data_dir() / "demo"):
        result = await run.run_async(["key", "status"], secrets=(SECRET, sandbox.api_key))
    assert result.code == 0, result.err
    assert f"the CATS sandbox at {sandbox.url}" in result.out and "demo key" in result.out
    # Once the demo is gone, the keyring is what counts again.
    result = await run.run_async(["key", "status"])
    assert result.code == 1 and "Prompt dismissed" in result.err
