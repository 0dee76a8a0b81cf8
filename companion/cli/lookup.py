"""`cats-companion lookup NAME [--json]`: the profile card's answer for a company, in a terminal.

    cats-companion lookup "Cisco Systems"            the match, its card fields, look-alikes, cache age
    cats-companion lookup "Cisco Systems" --json     the daemon's reply as the extension gets it

It asks this user's companion daemon (companion.cli.daemon_client, started when none runs) the
extension's own `company.lookup`, so it answers from the same cache, settings and confirmations as
the card on a LinkedIn page, and costs no CATS request. Exit status: 0 answered (match or not),
1 refused or failed, 2 usage.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Final, TextIO

from companion.cli.daemon_client import CALLER, DaemonClient, DaemonRefusal, error_of
from companion.errors import CompanionError

EXIT_OK: Final = 0
EXIT_FAILURE: Final = 1


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "lookup",
        help="which CATS company a name is, as the profile card shows it",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("name", metavar="NAME", help="the company's name, as a profile shows it")
    parser.add_argument("--website", default=None, help="the company's website, when known")
    parser.add_argument("--json", action="store_true", help="print the daemon's reply as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    return lookup_command(args.name, website=args.website, as_json=args.json, out=sys.stdout)


def lookup_command(
    name: str, *, website: str | None = None, as_json: bool, out: TextIO, client: DaemonClient | None = None
) -> int:
    """The whole command; returns the exit status. Blocks: call it off any event loop."""
    params = {"name": name, **({"website": website} if website else {})}
    try:
        with client or DaemonClient(f"{CALLER} lookup") as daemon:
            answer = daemon.call("company.lookup", params)
    except (CompanionError, DaemonRefusal) as exc:
        error = error_of(exc)
        if as_json:
            out.write(json.dumps({"error": error}, ensure_ascii=False) + "\n")
        print(f"cats-companion lookup: {error.get('message')} ({error.get('code')})", file=sys.stderr)
        return EXIT_FAILURE
    out.write((json.dumps(answer, ensure_ascii=False) if as_json else describe(name, answer)) + "\n")
    return EXIT_OK


def describe(name: str, answer: dict[str, Any]) -> str:
    """The card as lines of text: the match (or none), its fields, the warnings, then the cache."""
    match = answer.get("match")
    lines: list[str] = []
    if match:
        label = match.get("label") or "Match"
        lines.append(f"{label}: {match['company_name']} (CATS company {match['company_id']})")
        lines.append(f"  {match['reason']}")
        if answer.get("confirmed"):
            who = answer.get("confirmed_by")
            lines.append(f"  confirmed by {who}" if who else "  confirmed on this companion")
        for field in answer.get("company") or []:
            lines.append(
                f"  {field['label'] + ':':<18} {field['value'] if field['value'] is not None else '-'}"
            )
    else:
        lines.append(f"No CATS company matches {name!r}.")
    for warning in answer.get("warnings") or []:
        ids = ", ".join(str(company_id) for company_id in warning.get("company_ids") or [])
        lines.append(f"Warning: {warning['message']}" + (f" (CATS {ids})" if ids else ""))
    lines.append(_cache_line(answer.get("cache") or {}))
    return "\n".join(lines)


def _cache_line(cache: dict[str, Any]) -> str:
    text = f"Cache: {cache.get('state', 'unknown')}, {cache.get('companies', 0):,} companies"
    age = cache.get("age_seconds")
    if isinstance(age, (int, float)):
        text += f", synced {age_text(age)} ago"
    message = cache.get("message")
    return f"{text}. {message}" if message else text + "."


def age_text(seconds: float) -> str:
    """An age for people: seconds under two minutes, minutes under two hours, then hours."""
    seconds = max(0, round(seconds))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"
