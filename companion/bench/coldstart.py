"""Cold start of the native host: process start to the first reply, against a running daemon.

    cats-companion bench coldstart [--runs 20] [--json]

Starts a daemon (`python -m companion serve`) under a temporary CATS_COMPANION_HOME, installs the
host there (`install-host --user-data-dir`), then runs its launcher the way Chrome does (argv[1] =
our extension origin, frames on stdin/stdout) `--runs` times, sending `ping` and timing until its
reply is read. Prints p50/p90/max, and the same for a bare `python -c pass` so the interpreter's
own start-up is visible (on a busy machine both grow). The target is p50 < 80 ms.
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
from pathlib import Path

from companion.cli import host as hostinstall
from companion.nmhost.config import EXTENSION_ID, origin_of
from companion.nmhost.locations import RUNTIME_FILE_NAME

_LENGTH = struct.Struct("=I")


def _frame(message: dict[str, object]) -> bytes:
    body = json.dumps(message).encode()
    return _LENGTH.pack(len(body)) + body


def _one_host_run(launcher: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    host = subprocess.Popen(  # noqa: S603 -- the launcher we just installed
        [str(launcher), origin_of(EXTENSION_ID)],
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


def _bare_python() -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return (time.perf_counter() - started) * 1000


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
    parser.add_argument("--runs", type=int, default=20)
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
            _one_host_run(launcher, env)  # warm the OS file cache, as a second browser start would be
            host = _summary([_one_host_run(launcher, env) for _ in range(args.runs)])
            bare = _summary([_bare_python() for _ in range(args.runs)])
        finally:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(timeout=15)
    print(f"host cold start (process start to first reply): {host}")
    print(f"bare `python -c pass`:                          {bare}")
    if args.json:
        print(json.dumps({"host_cold_start_ms": host["p50_ms"], "host": host, "bare_python": bare}))
    return 0

