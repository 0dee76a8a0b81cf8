"""``cats-companion cats probe``: find out what this CATS account does where the reference is unsure.

Spends 5 requests (7 more with ``--write-probes``), prints the table and stores the answers as the
account's profile in this user's database. When this user's daemon runs (and neither
``--cats-url`` nor ``--key-file`` names another account or key), the daemon probes, on its budget,
and follows the answers at once; otherwise the probe runs here, with the key from the keyring (or
``--key-file``), and the daemon follows the stored profile from its next start.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from companion.errors import CompanionError, KeyMissingError
from companion.keystore import DEFAULT_BASE_URL, load_key, normalize_base_url

if TYPE_CHECKING:
    from companion.services.account_probe import ProbeReport


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "cats",
        help="look at the CATS account itself",
        description="Commands about the CATS account the companion talks to.",
    )
    sub = parser.add_subparsers(dest="cats_command", required=True, metavar="COMMAND")
    probe = sub.add_parser(
        "probe",
        help="find out what this CATS account does where the reference is unsure, and adapt",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    probe.add_argument(
        "--cats-url",
        default=None,
        help=f"CATS API base URL (default: the running daemon's, else {DEFAULT_BASE_URL})",
    )
    probe.add_argument(
        "--key-file",
        type=Path,
        default=None,
        help="read the API key from this private file instead of the keyring",
    )
    probe.add_argument(
        "--write-probes",
        action="store_true",
        help="also create, change and delete one probe company (at most 10 more requests)",
    )
    probe.add_argument("--json", action="store_true", help="print one JSON object")
    probe.set_defaults(func=run_probe)


def run_probe(args: argparse.Namespace) -> int:
    from companion.cli.daemon_client import DaemonClient, DaemonRefusal, error_of, running
    from companion.services.account_probe import ProbeReport

    try:
        if args.cats_url is None and args.key_file is None and running() is not None:
            with DaemonClient("cats-companion cats", start=False) as daemon:
                data = daemon.call("cats.probe", {"write_probes": args.write_probes})
            report = ProbeReport.model_validate(data)
        else:
            report = asyncio.run(_probe(args))
    except (CompanionError, DaemonRefusal) as exc:
        if args.json:
            print(json.dumps({"error": error_of(exc)}))
        else:
            print(f"cats-companion cats probe: {exc.message}", file=sys.stderr)
        return 1
    _print(sys.stdout, report, as_json=args.json)
    return 0 if report.writes_left_behind == 0 else 1


async def _probe(args: argparse.Namespace) -> ProbeReport:
    from companion.cli.serve import read_key_file
    from companion.services.account_probe import run_and_store
    from companion.store import open_database

    url = normalize_base_url(args.cats_url or DEFAULT_BASE_URL)
    # keyring may block on D-Bus: keep it off the event loop.
    key = (
        read_key_file(args.key_file) if args.key_file is not None else await asyncio.to_thread(load_key, url)
    )
    if key is None:
        raise KeyMissingError(
            f"no CATS API key stored for {url}; run `cats-companion key set --cats-url {url}`"
        )
    db = await open_database()
    try:
        return await run_and_store(db, url, key, write_probes=args.write_probes)
    finally:
        await db.close()


def _print(out: TextIO, report: ProbeReport, *, as_json: bool) -> None:
    if as_json:
        data = {
            "requests": report.requests,
            "writes_left_behind": report.writes_left_behind,
            "answers": report.answers.model_dump(),
            "rows": [row.model_dump() for row in report.rows],
        }
        print(json.dumps(data), file=out)
        return
    headers = ("question", "answer", "evidence", "what the companion does")
    rows = [(r.question, r.answer, r.evidence, r.action) for r in report.rows]
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(headers)]
    for line in (headers, tuple("-" * w for w in widths), *rows):
        print("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip(), file=out)
    print(
        f"\n{report.requests} CATS requests; probe records left behind: {report.writes_left_behind}. "
        "Stored as this account's profile.",
        file=out,
    )
