"""`cats-companion serve`: run this user's companion daemon until SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from typing import TYPE_CHECKING, Any

from companion.errors import CompanionError
from companion.keystore import DEFAULT_BASE_URL

if TYPE_CHECKING:
    from companion.server.daemon import DaemonConfig

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="run the companion daemon (loopback HTTP API and per-user socket)",
        description=(
            "Run the companion daemon for this user. It listens on 127.0.0.1 only and on a per-user "
            "socket, writes its port and token to daemon.json in the runtime dir, and stops cleanly "
            "on SIGTERM or Ctrl-C. The CATS API key is read from the OS keyring (`cats-companion key set`)."
        ),
    )
    parser.add_argument(
        "--cats-url", default=DEFAULT_BASE_URL, help=f"CATS API base URL (default {DEFAULT_BASE_URL})"
    )
    parser.add_argument(
        "--port", type=int, default=0, help="TCP port on 127.0.0.1 (default 0: any free port)"
    )
    parser.add_argument(
        "--extension-id",
        action="append",
        default=[],
        metavar="ID",
        help="id of a browser extension allowed to call the API (repeatable)",
    )
    parser.add_argument(
        "--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"), help="default INFO"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from companion.server.daemon import DaemonConfig, extension_origin

    config = DaemonConfig(
        cats_base_url=args.cats_url,
        port=args.port,
        extension_origins=tuple(extension_origin(e) for e in args.extension_id),
    )
    try:
        return asyncio.run(_serve(config))
    except CompanionError as exc:
        print(f"cats-companion serve: {exc.message}", file=sys.stderr)
        return 1


async def _serve(config: DaemonConfig) -> int:
    from companion.server.daemon import start_daemon, wait_for_stop_signal

    daemon = await start_daemon(config)
    try:
        where = f" and {daemon.socket_path}" if daemon.socket_path else ""
        print(f"cats-companion daemon listening on {daemon.url}{where}", flush=True)
        await wait_for_stop_signal()
    finally:
        await daemon.close()
    return 0
