"""`cats-companion demo`: the companion daemon against the embedded CATS sandbox, demo key in place.

This is the README's main command. It needs no CATS account and no keyring: the sandbox's demo
key is not a secret, so it is handed to the daemon directly (a real key only ever comes from the
OS keyring). The daemon keeps its data in a `demo` directory of its own, so a demo never mixes
sandbox companies into the cache of a real CATS account. The sandbox keeps its data in that
directory too (sandbox.sqlite3, seeded only when empty), so what the outbox says it pushed is
still in CATS after a restart; `--reset` deletes both and starts afresh. The daemon records itself
in the usual runtime dir, so (being this user's one daemon while it runs) the browser and every
CLI command in another terminal reach it with no extra setting, and see the demo's data; a note
beside it (companion.cli.demo_state) tells `doctor` and `key status` that the demo runs.

Once the daemon listens, it also registers the native host with every Chromium-family browser
found for this user (what `cats-companion install-host` does; running it again rewrites the same
files) and says how to load the unpacked extension, so a recruiter following the README gets a
working card on a profile page. `--no-install-host` leaves the browsers alone.

`--team` runs a whole team instead (companion/cli/demo_team.py): a private PostgreSQL cluster, the
sandbox and three daemons, one of them the team's admin.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import sys
from pathlib import Path
from typing import Any

import companion
from companion import paths
from companion.cli import demo_state, host
from companion.errors import CompanionError

DEFAULT_SEED = 2000
#: The sandbox's database, in the demo's data dir beside the daemon's: what the outbox sent stays.
SANDBOX_DB_NAME = "sandbox.sqlite3"
#: Names to try with `cats-companion lookup` in the default demo data (seed_random=1): two plain
#: matches and one with a look-alike ("LUTRON ELECTRONICS CO., INC."), checked by tests/cli/test_demo.py.
TRY_LOOKUPS: tuple[str, ...] = ("Wonder Workshop", "Laird Connectivity", "Lutron Electronics")


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run the companion against the embedded CATS sandbox (no CATS account needed)",
        description=(
            "Start the CATS sandbox (a faithful CATS v3 double seeded with real organisation names) "
            "and the companion daemon pointed at it, with the sandbox's demo key. Ctrl-C stops both."
        ),
    )
    parser.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help=f"companies to seed (default {DEFAULT_SEED})"
    )
    parser.add_argument("--sandbox-port", type=int, default=0, help="sandbox port (default: any free port)")
    parser.add_argument("--port", type=int, default=0, help="companion port (default: any free port)")
    parser.add_argument(
        "--rate-limit", type=int, default=500, help="sandbox requests per rolling hour (default 500; 0 = off)"
    )
    parser.add_argument(
        "--team",
        action="store_true",
        help="a team instead: a private PostgreSQL cluster, the sandbox and three daemons (alice the admin, "
        "bob, carol); needs PostgreSQL's server binaries installed",
    )
    parser.add_argument(
        "--reset",
        action="store_true",
        help="start afresh: forget the sandbox's data and the demo daemon's (kept between demos otherwise)",
    )
    parser.add_argument(
        "--stop-after",
        type=float,
        default=None,
        metavar="SECONDS",
        help="stop by itself after SECONDS instead of waiting for Ctrl-C",
    )
    parser.add_argument(
        "--no-install-host",
        dest="install_host",
        action="store_false",
        help="do not register the native host with the browsers found (install-host does it later)",
    )
    parser.set_defaults(func=run)


def extension_dir() -> Path:
    """The unpacked extension beside the `companion` package (a source checkout, as the README uses)."""
    return Path(companion.__file__).resolve().parent.parent / "extension"


def host_lines(machine: host.Environment | None = None) -> list[str]:
    """Register the native host for the browsers found and say so; never raises (the demo runs anyway)."""
    machine = machine or host.Environment(registry=host.WinRegistry() if sys.platform == "win32" else None)
    browsers = host.installed_browsers(machine)
    if not browsers:
        return [
            "Native host      not registered: no Chrome, Chromium, Edge, Brave or Vivaldi profile found",
            "                 for this user; start the browser once, then run `cats-companion install-host`",
        ]
    try:
        targets = host.targets_for(browsers, system=False, machine=machine)
        result = host.install(targets, system=False, extension_ids=[], machine=machine)
    except (host.InstallError, OSError) as exc:
        return [
            f"Native host      not registered: {exc}",
            "                 run `cats-companion install-host` to retry",
        ]
    lines = [f"Native host      registered for {', '.join(browsers)} (launcher {result.launcher})"]
    lines += [f"  manifest       {where}" for where in result.manifests]
    return lines


def extension_lines(folder: Path | None = None) -> list[str]:
    folder = folder or extension_dir()
    where = str(folder) if (folder / "manifest.json").is_file() else "the extension/ folder of your checkout"
    return [
        "Browser extension load it once: open chrome://extensions, turn on Developer mode,",
        f"  Load unpacked  and choose {where}",
        "  then           open a LinkedIn profile page: the CATS card appears on it",
    ]


def lookup_lines(seed: int) -> list[str]:
    """What to try first in another terminal; the names are in the default data only."""
    if seed < DEFAULT_SEED:
        return []
    first, *others = (f'`cats-companion lookup "{name}"`' for name in TRY_LOOKUPS)
    lines = [f"Try            {first} (add --json for the card's data)"]
    return lines + [f"               {other}" for other in others]


def reset(demo_dir: Path) -> None:
    """Forget the demo's data: the sandbox's and the daemon's (their database files and journals)."""
    if demo_dir.is_dir():
        shutil.rmtree(demo_dir)


def run(args: argparse.Namespace) -> int:
    if args.stop_after is not None and args.stop_after <= 0:
        print("cats-companion demo: --stop-after must be positive", file=sys.stderr)
        return 2
    try:
        if args.team:
            from companion.cli.demo_team import run_team_demo

            return asyncio.run(run_team_demo(args))
        return asyncio.run(_demo(args))
    except CompanionError as exc:
        print(f"cats-companion demo: {exc.message}", file=sys.stderr)
        return 1


async def _demo(args: argparse.Namespace) -> int:
    from companion.sandbox.app import SandboxConfig, start_sandbox
    from companion.secret import ApiKey
    from companion.server.daemon import DaemonConfig, start_daemon, wait_for_stop_signal
    from companion.services.sync_scheduler import SyncPolicy

    demo_dir = paths.data_dir() / "demo"
    if args.reset:
        reset(demo_dir)
    demo_dir.mkdir(parents=True, exist_ok=True)
    # Seeded only into an empty database: a restarted demo finds what the last one left there.
    sandbox = await start_sandbox(
        SandboxConfig(
            seed=args.seed, seed_random=1, rate_limit=args.rate_limit, db_path=str(demo_dir / SANDBOX_DB_NAME)
        ),
        port=args.sandbox_port,
    )
    try:
        daemon = await start_daemon(
            # The demo fills its company cache at once (a real daemon waits 30 s after start-up).
            DaemonConfig(
                cats_base_url=sandbox.url, port=args.port, data_dir=demo_dir, sync=SyncPolicy(start_delay=0.0)
            ),
            key=ApiKey(sandbox.api_key),
        )
        try:
            counts = sandbox.store.record_counts()
            print(
                f"CATS sandbox     {sandbox.url}\n"
                f"  API key        {sandbox.api_key} (the sandbox's demo key, not a secret)\n"
                f"  data           {counts['companies']} companies, {counts['contacts']} contacts, "
                f"{counts['candidates']} candidates\n"
                f"                 in {demo_dir / SANDBOX_DB_NAME} (kept; `--reset` starts afresh)\n"
                f"  control API    {sandbox.control_url}/\n"
                f"  control token  {sandbox.control_token} (header X-Sandbox-Control)\n"
                f"Companion daemon {daemon.url}\n"
                f"  socket         {daemon.socket_path or 'none on this platform'}\n"
                f"  port and token {daemon.runtime_file}\n"
                f"  data           {demo_dir}\n"
                "  commands       `cats-companion outbox list`, `campaign list`, `sync` ... in another\n"
                "                 terminal use this daemon and its data while the demo runs",
                flush=True,
            )
            # After the daemon listens: a browser connecting now finds it instead of starting another.
            extra = host_lines() if args.install_host else []
            print(
                "\n".join([*extra, *extension_lines(), *lookup_lines(args.seed), "Press Ctrl-C to stop."]),
                flush=True,
            )
            with demo_state.recorded(sandbox.url, demo_dir), contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wait_for_stop_signal(), args.stop_after)
        finally:
            await daemon.close()
    finally:
        await sandbox.close()
    print("stopped.", flush=True)
    return 0
