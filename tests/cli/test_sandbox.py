"""``cats-companion sandbox``: options into a config, and a real run as a subprocess stopped by SIGTERM."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from companion.cli import sandbox as cli
from companion.sandbox.app import DEMO_API_KEY
from companion.sandbox.faults import FaultKind

ROOT = Path(__file__).resolve().parents[2]


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="cats-companion")
    cli.register(parser.add_subparsers(dest="command"))
    return parser.parse_args(["sandbox", *argv])


def test_register_adds_the_sandbox_command_with_its_defaults() -> None:
    args = _parse()
    assert args.func is cli.run
    config = cli.config_from_args(args)
    assert (args.host, args.port) == ("127.0.0.1", 0)
    assert (config.api_key, config.rate_limit, config.duplicate_status) == (DEMO_API_KEY, 500, 409)
    assert (config.seed, config.db_path, config.faults.probabilities) == (0, None, {})
    assert config.control_token  # a random one


def test_options_reach_the_config() -> None:
    args = _parse(
        "--api-key", "k1", "--seed", "30", "--seed-random", "4", "--rate-limit", "0",
        "--duplicate-status", "422", "--db", "/tmp/s.db", "--fault-rate", "0.2",
        "--faults", "hang,reset_after", "--hang-seconds", "3", "--slow-seconds", "0.5",
        "--control-token", "ctl",
    )  # fmt: skip
    config = cli.config_from_args(args)
    assert (config.api_key, config.seed, config.seed_random, config.rate_limit) == ("k1", 30, 4, 0)
    assert (config.duplicate_status, config.db_path, config.control_token) == (422, "/tmp/s.db", "ctl")
    assert config.faults.probabilities == pytest.approx({FaultKind.HANG: 0.1, FaultKind.RESET_AFTER: 0.1})
    assert (config.faults.hang_seconds, config.faults.slow_seconds) == (3, 0.5)


def test_unknown_fault_kind_is_an_argparse_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        _parse("--faults", "500,explode")
    assert caught.value.code == 2
    assert "explode" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["--fault-rate", "1.5"],
        ["--fault-rate", "-0.1"],
        ["--duplicate-status", "200"],
        ["--rate-limit", "-1"],
        ["--api-key", "two words"],
    ],
)
def test_invalid_values_exit_2_with_a_message(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.run(_parse(*argv)) == 2
    assert "invalid option" in capsys.readouterr().err


def test_standalone_entry_point_takes_the_same_options(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--rate-limit", "-5"]) == 2
    assert "invalid option" in capsys.readouterr().err


def test_sandbox_runs_as_a_process_and_stops_cleanly_on_sigterm() -> None:
    # The real entry point: `cats-companion sandbox` is `python -m companion sandbox`.
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "companion",
            "sandbox",
            "--port",
            "0",
            "--seed",
            "3",
            "--control-token",
            "ctl",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith(cli.LISTENING_PREFIX), first
        url = first.removeprefix(cli.LISTENING_PREFIX).strip()
        assert url.startswith("http://127.0.0.1:") and url.endswith("/v3")
        rest = [process.stdout.readline() for _ in range(3)]
        assert any("X-Sandbox-Control: ctl" in line for line in rest)

        request = urllib.request.Request(  # noqa: S310 - loopback URL the sandbox printed
            f"{url}/companies?per_page=2", headers={"Authorization": f"Token {DEMO_API_KEY}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            assert response.status == 200
            assert b'"total": 3' in response.read()

        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
        assert process.stderr is not None
        errors = process.stderr.read()
        assert "Traceback" not in errors
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def test_port_in_use_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert cli.run(_parse("--port", str(port))) == 1
    assert "cannot listen" in capsys.readouterr().err
