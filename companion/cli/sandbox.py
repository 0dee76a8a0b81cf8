"""``cats-companion sandbox``: run the CATS v3 sandbox on a loopback port until SIGINT or SIGTERM.

The first line printed is ``CATS sandbox listening on http://HOST:PORT/v3`` so scripts and
tests can read the address (useful with ``--port 0``); the next lines give the API key and the
control API's URL and token.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from companion.sandbox.faults import FaultKind, FaultSettings
from companion.sandbox.quirks import Quirk, describe, parse_quirks

if TYPE_CHECKING:
    from companion.sandbox.app import SandboxConfig

LISTENING_PREFIX = "CATS sandbox listening on "


def _fault_kinds(text: str) -> list[FaultKind]:
    kinds: list[FaultKind] = []
    for part in text.split(","):
        part = part.strip()
        try:
            kinds.append(FaultKind(part))
        except ValueError:
            choices = ", ".join(kind.value for kind in FaultKind)
            raise argparse.ArgumentTypeError(f"unknown fault kind {part!r} (choose from {choices})") from None
    return kinds


def _quirks(text: str) -> frozenset[Quirk]:
    try:
        return parse_quirks(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: %(default)s)")
    parser.add_argument("--port", type=int, default=0, help="port to listen on; 0 picks a free one (default)")
    parser.add_argument(
        "--api-key",
        default=None,
        help="the token clients must send as 'Authorization: Token KEY' (default: the demo key)",
    )
    parser.add_argument("--seed", type=int, default=0, metavar="N", help="seed N companies at start")
    parser.add_argument(
        "--seed-random", type=int, default=0, metavar="S", help="random seed of the generated data"
    )
    parser.add_argument(
        "--rate-limit", type=int, default=500, metavar="N", help="requests per rolling hour; 0 = off"
    )
    parser.add_argument(
        "--duplicate-status", type=int, default=409, metavar="STATUS", help="status of a check_duplicate hit"
    )
    parser.add_argument("--db", default=None, metavar="PATH", help="SQLite file that keeps data across runs")
    parser.add_argument(
        "--fault-rate", type=float, default=0.0, metavar="P", help="share of CATS requests that get a fault"
    )
    parser.add_argument(
        "--faults",
        type=_fault_kinds,
        default=None,
        metavar="KINDS",
        help="comma-separated kinds for --fault-rate: 429,500,503,hang,reset_after,slow (default: 500,503)",
    )
    parser.add_argument("--fault-seed", type=int, default=0, metavar="S", help="random seed of the faults")
    parser.add_argument(
        "--hang-seconds", type=float, default=60.0, help="how long a 'hang' fault holds a request"
    )
    parser.add_argument("--slow-seconds", type=float, default=2.0, help="delay of a 'slow' fault")
    parser.add_argument(
        "--quirks",
        type=_quirks,
        default=frozenset(),
        metavar="LIST",
        help="comma-separated quirks a real CATS account may show: " + ", ".join(q.value for q in Quirk),
    )
    parser.add_argument(
        "--control-token", default=None, help="X-Sandbox-Control token of the control API (default: random)"
    )


def register(subparsers: Any) -> None:
    """Add the ``sandbox`` subcommand to the ``cats-companion`` parser."""
    parser = subparsers.add_parser(
        "sandbox",
        help="run the CATS v3 sandbox (a local double of the CATS API)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser)
    parser.set_defaults(func=run)


def config_from_args(args: argparse.Namespace) -> SandboxConfig:
    """The SandboxConfig the options describe; pydantic's ValidationError when they do not fit."""
    # Imported here: the whole CLI imports this module to build its parser, and the app pulls
    # in the store and routes, which only this command needs.
    from companion.sandbox.app import SandboxConfig

    kinds = args.faults if args.faults is not None else [FaultKind.SERVER_ERROR, FaultKind.UNAVAILABLE]
    fields: dict[str, Any] = {
        "rate_limit": args.rate_limit,
        "duplicate_status": args.duplicate_status,
        "db_path": args.db,
        "seed": args.seed,
        "seed_random": args.seed_random,
        "quirks": args.quirks,
        "faults": FaultSettings.uniform(
            args.fault_rate,
            kinds,
            random_seed=args.fault_seed,
            hang_seconds=args.hang_seconds,
            slow_seconds=args.slow_seconds,
        ),
    }
    if args.api_key is not None:
        fields["api_key"] = args.api_key
    if args.control_token is not None:
        fields["control_token"] = args.control_token
    return SandboxConfig(**fields)


async def serve(config: SandboxConfig, host: str, port: int) -> int:
    """Run until SIGINT/SIGTERM, then shut down cleanly."""
    from companion.sandbox.app import DEMO_API_KEY, start_sandbox

    sandbox = await start_sandbox(config, host, port)
    try:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            # Windows has no loop signal handlers; Ctrl+C arrives as KeyboardInterrupt instead.
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signum, stop.set)
        key_note = config.api_key if config.api_key == DEMO_API_KEY else "the one given with --api-key"
        print(f"{LISTENING_PREFIX}{sandbox.url}", flush=True)
        print(f"API key: {key_note}  (send 'Authorization: Token <key>')", flush=True)
        print(
            f"Control API: {sandbox.control_url}  (header X-Sandbox-Control: {config.control_token})",
            flush=True,
        )
        if config.quirks:
            print(f"Quirks: {describe(config.quirks)}", flush=True)
        counts = sandbox.store.record_counts()
        print(
            f"Records: {counts.get('companies', 0)} companies, {counts.get('contacts', 0)} contacts, "
            f"{counts.get('candidates', 0)} candidates. Stop with Ctrl+C.",
            flush=True,
        )
        await stop.wait()
    finally:
        await sandbox.close()
    print("CATS sandbox stopped.", file=sys.stderr, flush=True)
    return 0


def run(args: argparse.Namespace) -> int:
    try:
        config = config_from_args(args)
    except (ValidationError, ValueError) as exc:
        print(f"cats-companion sandbox: invalid option: {exc}", file=sys.stderr)
        return 2
    try:
        return asyncio.run(serve(config, args.host, args.port))
    except OSError as exc:
        print(f"cats-companion sandbox: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m companion.cli.sandbox``: the same command without the rest of the CLI."""
    parser = argparse.ArgumentParser(prog="cats-companion sandbox", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
