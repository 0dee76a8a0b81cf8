"""Cold start of the native host: process start to the first reply, against a running daemon.

    cats-companion bench coldstart [--runs 20] [--json]

Starts a daemon (`python -m companion serve`) under a temporary CATS_COMPANION_HOME, installs the
host there (`install-host --user-data-dir`), then runs its launcher the way Chrome does (argv[1] =
our extension origin, frames on stdin/stdout) `--runs` times, sending `ping` and timing until its
reply is read. Beside each host run it runs a bare echo host: the same interpreter with the same
flags (`-S`), stdlib only, reading the frame and writing a reply, so the interpreter's own start-up
is measured in the same conditions (on a busy machine both grow; their ratio holds). The headline
is the ratio of the p50s, host over echo host; the target is at most 2.5x.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from companion.cli import host as hostinstall
from companion.nmhost.config import EXTENSION_ID, origin_of
from companion.nmhost.locations import RUNTIME_FILE_NAME

_LENGTH = struct.Struct("=I")


def _frame(message: dict[str, object]) -> bytes:
    body = json.dumps(message).encode()
    return _LENGTH.pack(len(body)) + body


def _one_host_run(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    host = subprocess.Popen(  # noqa: S603 -- the launcher we just installed, or the echo host
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
    )
    assert host.stdin is not None and host.stdout is not None
    host.stdin.write(_frame({"id": 1, "type": "ping"}))
    host.stdin.flush()
    (size,) = _LENGTH.unpack(host.stdout.read(4))
    reply = json.loads(host.stdout.read(size))
    elapsed = time.perf_counter() - started
    host.stdin.close()
    host.wait(timeout=10)
    if reply.get("ok") is not True:
        raise SystemExit(f"the host answered {reply!r}")
    return elapsed * 1000


#: The bare echo host: what any native host must do (start Python, read a frame, write a reply).
ECHO_HOST = """
import json, struct, sys
size, = struct.unpack("=I", sys.stdin.buffer.read(4))
message = json.loads(sys.stdin.buffer.read(size))
body = json.dumps({"id": message.get("id"), "ok": True, "data": {"pong": True}}).encode()
sys.stdout.buffer.write(struct.pack("=I", len(body)) + body)
sys.stdout.buffer.flush()
sys.stdin.buffer.read()
"""
#: The host's p50 may be at most this many times the echo host's.
TARGET_RATIO = 2.5


def echo_command() -> list[str]:
    """The echo host, run by the interpreter and flags the launcher uses (`-S`: no site-packages)."""
    return [sys.executable, "-S", "-c", ECHO_HOST]


@dataclass(frozen=True)
class ColdStart:
    """Both hosts' cold starts, in milliseconds, measured in the same run."""

    host: dict[str, float]
    echo: dict[str, float]

    @property
    def ratio(self) -> float:
        return self.host["p50_ms"] / self.echo["p50_ms"]

    def meets_target(self) -> bool:
        return self.ratio <= TARGET_RATIO

    def to_json(self) -> dict[str, object]:
        return {
            "ratio": round(self.ratio, 2),
            "target_ratio": TARGET_RATIO,
            "host_cold_start_ms": self.host["p50_ms"],
            "host": self.host,
            "echo_host": self.echo,
        }

    def report(self) -> str:
        verdict = "meets" if self.meets_target() else "MISSES"
        return (
            f"host cold start (process start to first reply): {self.host}\n"
            f"bare echo host (same interpreter, -S):          {self.echo}\n"
            f"ratio host/echo p50: {self.ratio:.2f}x ({verdict} the {TARGET_RATIO}x target)"
        )


def _summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered), 1),
        "p90_ms": round(ordered[int(0.9 * (len(ordered) - 1))], 1),
        "max_ms": round(ordered[-1], 1),
    }


def _wait_for_daemon(run_dir: Path, daemon: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while not (run_dir / RUNTIME_FILE_NAME).exists():
        if daemon.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the daemon did not start")
        time.sleep(0.05)


def _install(home: Path, env: dict[str, str]) -> Path:
    machine = hostinstall.Environment(env=env, launcher_dir=home / "native-host")
    targets = hostinstall.targets_for([], system=False, machine=machine, user_data_dirs=[home / "browser"])
    return hostinstall.install(targets, system=False, extension_ids=[], machine=machine).launcher


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "coldstart",
        help="native host cold start to its first reply, against a bare python start",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--runs", type=int, default=20, help="cold starts of each host (default 20)")
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    parser.set_defaults(func=run, parser=parser)


def run(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="nmhost-bench-") as home:
        env = dict(
            os.environ,
            CATS_COMPANION_HOME=home,
            CATS_COMPANION_HOST_AUTOSTART="0",
            PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
        )
        daemon = subprocess.Popen(
            [sys.executable, "-m", "companion", "serve", "--log-level", "WARNING"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait_for_daemon(Path(home) / "run", daemon)
            launcher = _install(Path(home), env)
            result = measure([str(launcher), origin_of(EXTENSION_ID)], env, args.runs)
        finally:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(timeout=15)
    print(result.report())
    if args.json:
        print(json.dumps(result.to_json()))
    return 0


def measure(host_command: list[str], env: dict[str, str], runs: int) -> ColdStart:
    """`runs` cold starts of the host and of the echo host, alternated so load falls on both alike."""
    echo = echo_command()
    # Warm the OS file cache, as a second browser start would find it.
    _one_host_run(host_command, env)
    _one_host_run(echo, env)
    host_ms: list[float] = []
    echo_ms: list[float] = []
    for _ in range(runs):
        host_ms.append(_one_host_run(host_command, env))
        echo_ms.append(_one_host_run(echo, env))
    return ColdStart(_summary(host_ms), _summary(echo_ms))
