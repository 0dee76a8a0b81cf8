"""`cats-companion demo`: the companion daemon against the embedded CATS sandbox, demo key in place.

This is the README's main command. It needs no CATS account and no keyring: the sandbox's demo
key is not a secret, so it is handed to the daemon directly (a real key only ever comes from the
OS keyring). The daemon keeps its data in a `demo` directory of its own, so a demo never mixes
sandbox companies into the cache of a real CATS account.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from companion import paths
from companion.errors import CompanionError

DEFAULT_SEED = 2000


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
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(_demo(args))
    except CompanionError as exc:
        print(f"cats-companion demo: {exc.message}", file=sys.stderr)
        return 1


async def _demo(args: argparse.Namespace) -> int:
    from companion.cats.sandbox.app import SandboxConfig, start_sandbox
    from companion.secret import ApiKey
    from companion.server.daemon import DaemonConfig, start_daemon, wait_for_stop_signal

    sandbox = await start_sandbox(
        SandboxConfig(seed=args.seed, seed_random=1, rate_limit=args.rate_limit), port=args.sandbox_port
    )
    try:
        demo_dir = paths.data_dir() / "demo"
        daemon = await start_daemon(
            DaemonConfig(cats_base_url=sandbox.url, port=args.port, data_dir=demo_dir),
            key=ApiKey(sandbox.api_key),
        )
        try:
            counts = sandbox.store.record_counts()
            print(
                f"CATS sandbox     {sandbox.url}\n"
                f"  API key        {sandbox.api_key} (the sandbox's demo key, not a secret)\n"
                f"  data           {counts['companies']} companies, {counts['contacts']} contacts, "
                f"{counts['candidates']} candidates\n"
                f"  control API    {sandbox.control_url}/\n"
                f"  control token  {sandbox.control_token} (header X-Sandbox-Control)\n"
                f"Companion daemon {daemon.url}\n"
                f"  socket         {daemon.socket_path or 'none on this platform'}\n"
                f"  port and token {daemon.runtime_file}\n"
                f"  data           {demo_dir}\n"
                "Press Ctrl-C to stop.",
                flush=True,
            )
            await wait_for_stop_signal()
        finally:
            await daemon.close()
    finally:
        await sandbox.close()
    print("stopped.", flush=True)
    return 0
