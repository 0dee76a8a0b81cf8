"""`cats-companion outbox`, `event` and `campaign`: follow and steer the push outbox, feed campaign events.

    cats-companion outbox list [--status failed,waiting] [--limit N] [--json]
    cats-companion outbox show ID | retry ID... | cancel ID...
    cats-companion outbox send [--cats-url URL] [--max-wait S]    no daemon running: send it from here
    cats-companion event record --campaign NAME --type outreach --outreach email_sent --email ada@x.org
    cats-companion event import FILE.json                        all entries, or none of them
    cats-companion campaign list | create NAME [--trigger T] [--record-type R] | archive ID

Every command but `outbox send` asks this user's companion daemon (companion.cli.daemon_client),
starting it when none runs, so it sees and changes what the browser does, in the daemon's own
database (the demo's too). `outbox send` is for machines where no daemon runs: it sends this
user's outbox from this process, and refuses while a daemon runs (whose worker sends it already)
or while another process sends. Exit status: 0 success, 1 refused or failed, 2 usage.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final, TextIO, get_args

from companion.cli.daemon_client import CALLER, DaemonClient, DaemonRefusal, error_of, running
from companion.errors import (
    BadRequestError,
    CompanionError,
    EventImportInvalidError,
    KeyMissingError,
    OutboxBusyError,
)
from companion.keystore import DEFAULT_BASE_URL, load_key, normalize_base_url
from companion.nmhost.link import REQUEST_TIMEOUT
from companion.rules.person import EventType, OutreachType
from companion.settings.fields import RecordType
from companion.settings.models import SyncTrigger
from companion.store.outbox import ItemStatus

EXIT_OK: Final = 0
EXIT_FAILURE: Final = 1
#: The longest wait (Retry-After, backoff) `outbox send` sits through before it stops and says so.
DEFAULT_MAX_WAIT: Final = 300.0
#: The most items the daemon lists at once (outbox.list's limit).
MAX_LIST: Final = 500
#: An import of thousands of events is one transaction in the daemon: give it time.
IMPORT_TIMEOUT: Final = 300.0
# The choices are the models' own, so a new status, event or trigger reaches the CLI by itself.
_STATUSES: Final = get_args(ItemStatus)
_EVENT_TYPES: Final = tuple(EventType)
_OUTREACH: Final = tuple(OutreachType)
_TRIGGERS: Final = get_args(SyncTrigger)
_RECORD_TYPES: Final = get_args(RecordType)

Action = Callable[[argparse.Namespace, DaemonClient, TextIO], int]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    _register_outbox(subparsers)
    _register_event(subparsers)
    _register_campaign(subparsers)


def _with_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")


def _register_outbox(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    outbox = subparsers.add_parser(
        "outbox",
        help="follow, retry, cancel or send the pushes waiting for CATS",
        description=__doc__,
        # The docstring's usage lines are laid out by hand: keep them as written.
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = outbox.add_subparsers(dest="outbox_command", metavar="COMMAND")
    commands.required = True

    listing = commands.add_parser("list", help="outbox items, newest first, and counts by status")
    listing.add_argument("--status", type=_statuses, default=None, help="comma-separated statuses to show")
    listing.add_argument(
        "--limit", type=_limit, default=50, help=f"how many items (default 50, at most {MAX_LIST})"
    )
    _with_json(listing)
    listing.set_defaults(func=_daemon(_outbox_list))

    show = commands.add_parser("show", help="one item and what the sync log says about it")
    show.add_argument("id", type=_positive)
    _with_json(show)
    show.set_defaults(func=_daemon(_outbox_show))

    for name, text in (
        ("retry", "queue failed items again once fixed"),
        ("cancel", "never send these items"),
    ):
        command = commands.add_parser(name, help=text)
        command.add_argument("ids", type=_positive, nargs="+", metavar="ID")
        _with_json(command)
        command.set_defaults(func=_daemon(_outbox_retry if name == "retry" else _outbox_cancel))

    send = commands.add_parser(
        "send",
        help="no daemon running: send the outbox to CATS from this process until nothing more can be sent",
    )
    send.add_argument(
        "--cats-url", default=DEFAULT_BASE_URL, help=f"CATS API base URL (default {DEFAULT_BASE_URL})"
    )
    send.add_argument(
        "--max-wait",
        type=float,
        default=DEFAULT_MAX_WAIT,
        help=f"stop instead of waiting longer than this many seconds (default {DEFAULT_MAX_WAIT:.0f})",
    )
    _with_json(send)
    send.set_defaults(func=_send_here)


def _register_event(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    event = subparsers.add_parser("event", help="record campaign events (for outreach tools and scripts)")
    commands = event.add_subparsers(dest="event_command", metavar="COMMAND")
    commands.required = True

    record = commands.add_parser("record", help="record one event on a campaign member")
    record.add_argument("--campaign", required=True, help="the campaign's name or id")
    record.add_argument("--type", required=True, choices=_EVENT_TYPES)
    record.add_argument("--outreach", choices=_OUTREACH, help="for --type outreach")
    record.add_argument("--at", help="when it happened (RFC 3339; default now)")
    record.add_argument("--text", help="the message, or a note about it")
    record.add_argument("--id", help="the event's id in your tool (recording it again changes nothing)")
    record.add_argument("--sync-as", choices=_RECORD_TYPES, help="for --type added: Candidate or Contact")
    who = record.add_argument_group("the person (by id, or by their data)")
    who.add_argument("--person-id", type=_positive)
    who.add_argument("--person-json", type=Path, metavar="FILE", help="the person's data as a JSON object")
    who.add_argument("--first-name")
    who.add_argument("--last-name")
    who.add_argument("--email", action="append", default=[])
    who.add_argument("--linkedin")
    who.add_argument("--company")
    who.add_argument("--title")
    _with_json(record)
    record.set_defaults(func=_daemon(_event_record))

    importing = commands.add_parser(
        "import",
        help="record every event of a JSON file, or none of them",
        description=(
            'The file holds a list of events (or {"events": [...]}), each like the --json form of '
            '`event record`: {"campaign": "Q3", "person": {"emails": ["ada@x.org"], ...}, '
            '"type": "outreach", "outreach": "email_sent", "at": "2025-05-01T09:00:00Z", "id": "..."}. '
            "The whole file is checked first; a bad entry is named and nothing is recorded."
        ),
    )
    importing.add_argument("file", type=Path)
    _with_json(importing)
    importing.set_defaults(func=_daemon(_event_import, timeout=IMPORT_TIMEOUT))


def _register_campaign(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    campaign = subparsers.add_parser("campaign", help="list, create and archive campaigns")
    commands = campaign.add_subparsers(dest="campaign_command", metavar="COMMAND")
    commands.required = True
    listing = commands.add_parser("list", help="the campaigns")
    listing.add_argument("--archived", action="store_true", help="include archived campaigns")
    _with_json(listing)
    listing.set_defaults(func=_daemon(_campaign_list))
    create = commands.add_parser("create", help="create a campaign")
    create.add_argument("name")
    create.add_argument("--trigger", choices=_TRIGGERS, help="when members sync (default: the settings')")
    create.add_argument(
        "--record-type", choices=_RECORD_TYPES, help="what members sync as (default Candidate)"
    )
    _with_json(create)
    create.set_defaults(func=_daemon(_campaign_create))
    archive = commands.add_parser("archive", help="archive a campaign (no new members or events)")
    archive.add_argument("id", type=_positive)
    _with_json(archive)
    archive.set_defaults(func=_daemon(_campaign_archive))


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, not {text!r}")
    return int(text)


def _limit(text: str) -> int:
    value = _positive(text)
    if value > MAX_LIST:
        raise argparse.ArgumentTypeError(f"at most {MAX_LIST} items at once")
    return value


def _statuses(text: str) -> list[str]:
    wanted = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [status for status in wanted if status not in _STATUSES]
    if unknown or not wanted:
        raise argparse.ArgumentTypeError(f"statuses are {', '.join(_STATUSES)}")
    return wanted


def _daemon(action: Action, *, timeout: float = REQUEST_TIMEOUT) -> Callable[[argparse.Namespace], int]:
    """The command `action`, run against this user's daemon (started when none runs)."""

    def run(args: argparse.Namespace) -> int:
        try:
            with DaemonClient(f"{CALLER} {args.command}", timeout=timeout) as client:
                return action(args, client, sys.stdout)
        except (CompanionError, DaemonRefusal) as exc:
            return _failed(args, sys.stdout, error_of(exc))

    return run


def _failed(args: argparse.Namespace, out: TextIO, error: dict[str, Any]) -> int:
    if getattr(args, "json", False):
        out.write(json.dumps({"error": error}, ensure_ascii=False) + "\n")
    print(f"cats-companion: {error.get('message')} ({error.get('code')})", file=sys.stderr)
    return EXIT_FAILURE


def _emit(out: TextIO, args: argparse.Namespace, data: Any, text: str) -> None:
    out.write((json.dumps(data, ensure_ascii=False, default=str) if args.json else text) + "\n")


def _item_line(item: dict[str, Any]) -> str:
    state = item["status"]
    if state == "waiting" and item.get("waiting_for"):
        state += f" ({item['waiting_for']} until {item['not_before']})"
    if item.get("cats_id"):
        state += f" -> CATS {item['cats_id']}"
    error = item.get("error")
    reason = (
        f"  {error['code']}: {error['message']}" if error and item["status"] in ("failed", "waiting") else ""
    )
    return f"{item['id']:>6}  {item['summary']:<34} person {item['person_id']:<5} {state}{reason}"


def _counts(counts: dict[str, int], empty: str) -> str:
    return ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or empty


# --- through the daemon -------------------------------------------------------------------------------


def _outbox_list(args: argparse.Namespace, daemon: DaemonClient, out: TextIO) -> int:
    query: dict[str, Any] = {"limit": args.limit}
    if args.status is not None:
        query["status"] = args.status
    listed = daemon.call("outbox.list", query)
    items: list[dict[str, Any]] = listed["items"]
    text = "\n".join([f"outbox: {_counts(listed['counts'], 'empty')}", *(_item_line(i) for i in items)])
    _emit(out, args, {"items": items, "counts": listed["counts"]}, text)
    return EXIT_OK


def _outbox_show(args: argparse.Namespace, daemon: DaemonClient, out: TextIO) -> int:
    shown = daemon.call("outbox.get", {"id": args.id})
    lines = [_item_line(shown["item"])]
    for entry in reversed(shown["log"]):
        changed = f" changed {', '.join(entry['changed_fields'])}" if entry.get("changed_fields") else ""
        said = f": {entry['message']}" if entry.get("message") else ""
        lines.append(f"  {entry['at']}  {entry['action']} ({entry['outcome']}){changed}{said}")
    _emit(out, args, {"item": shown["item"], "log": shown["log"]}, "\n".join(lines))
    return EXIT_OK


def _each(args: argparse.Namespace, daemon: DaemonClient, out: TextIO, message_type: str) -> int:
    done: list[dict[str, Any]] = []
    refused: list[dict[str, Any]] = []
    for item_id in args.ids:
        try:
            done.append(daemon.call(message_type, {"id": item_id})["item"])
        except DaemonRefusal as exc:
            # One item the daemon refuses does not stop the others; no daemon at all does.
            refused.append({"id": item_id, "error": exc.error})
            print(f"cats-companion: {exc.message} ({exc.code})", file=sys.stderr)
    verb = "queued again" if message_type == "outbox.retry" else "cancelled"
    _emit(out, args, {"items": done, "refused": refused}, "\n".join(f"{r['id']}: {verb}" for r in done))
    return EXIT_FAILURE if refused else EXIT_OK


def _outbox_retry(args: argparse.Namespace, daemon: DaemonClient, out: TextIO) -> int:
    return _each(args, daemon, out, "outbox.retry")


def _outbox_cancel(args: argparse.Namespace, daemon: DaemonClient, out: TextIO) -> int:
    return _each(args, daemon, out, "outbox.cancel")


def _event_record(args: argparse.Namespace, daemon: DaemonClient, out: TextIO) -> int:
    event: dict[str, Any] = {"type": args.type}
    if args.campaign.isdigit():
        event["campaign_id"] = int(args.campaign)
    else:
        event["campaign"] = args.campaign
    for name in ("outreach", "at", "text", "id"):
        if getattr(args, name) is not None:
            event[name] = getattr(args, name)
    if args.sync_as:
        event["record_type"] = args.sync_as
    if args.person_id:
        event["person_id"] = args.person_id
    person = _person_args(args)
    if person:
        event["person"] = person
    accepted = daemon.call("event.record", event)
    text = f"event {accepted['event_id']}: " + (
        "already recorded"
        if not accepted["recorded"]
        else f"{accepted['reason']}; {len(accepted['items'])} item(s) queued"
    )
    _emit(out, args, accepted, text)
    return EXIT_OK


def _person_args(args: argparse.Namespace) -> dict[str, Any]:
    person: dict[str, Any] = {}
    if args.person_json is not None:
        try:
            loaded = json.loads(args.person_json.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise BadRequestError(f"cannot read the person from {args.person_json}: {exc}") from None
        if not isinstance(loaded, dict):
            raise BadRequestError(f"{args.person_json} must hold a JSON object")
        person.update(loaded)
    simple = {
        "first_name": args.first_name,
        "last_name": args.last_name,
        "linkedin": args.linkedin,
        "current_company": args.company,
        "title": args.title,
    }
    person.update({key: value for key, value in simple.items() if value is not None})
    if args.email:
        person["emails"] = args.email
    return person


def _event_import(args: argparse.Namespace, daemon: DaemonClient, out: TextIO) -> int:
    try:
        document = json.loads(args.file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise EventImportInvalidError(f"cannot read {args.file}: {exc.strerror or exc}", entry=None) from None
    except ValueError as exc:
        raise EventImportInvalidError(f"{args.file} is not JSON: {exc}", entry=None) from None
    events = document.get("events") if isinstance(document, dict) else document
    if not isinstance(events, list):
        raise EventImportInvalidError(
            f'{args.file} must hold a JSON list of events, or an object {{"events": [...]}}', entry=None
        )
    result = daemon.call("event.import", {"events": events})
    text = (
        f"{result['events']} events: {result['recorded']} recorded, "
        f"{result['already_recorded']} already recorded; {result['items']} outbox item(s) queued"
    )
    _emit(out, args, result, text)
    return EXIT_OK


def _campaign_list(args: argparse.Namespace, daemon: DaemonClient, out: TextIO) -> int:
    campaigns: list[dict[str, Any]] = daemon.call("campaign.list", {"include_archived": args.archived})[
        "campaigns"
    ]
    lines = [
        f"{c['id']:>4}  {c['name']:<30} {c['members']:>5} members"
        f"  trigger {c['sync_trigger'] or '(settings)'}  sync as {c['record_type'] or 'candidates'}"
        f"{'  archived' if c['archived'] else ''}"
        for c in campaigns
    ]
    _emit(out, args, {"campaigns": campaigns}, "\n".join(lines) or "no campaigns")
    return EXIT_OK


def _campaign_create(args: argparse.Namespace, daemon: DaemonClient, out: TextIO) -> int:
    wanted: dict[str, Any] = {"name": args.name}
    if args.trigger is not None:
        wanted["sync_trigger"] = args.trigger
    if args.record_type is not None:
        wanted["record_type"] = args.record_type
    view = daemon.call("campaign.create", wanted)
    _emit(out, args, view, f"campaign {view['id']}: {view['name']}")
    return EXIT_OK


def _campaign_archive(args: argparse.Namespace, daemon: DaemonClient, out: TextIO) -> int:
    view = daemon.call("campaign.archive", {"id": args.id})
    _emit(out, args, view, f"campaign {view['id']} archived")
    return EXIT_OK


# --- `outbox send`: here, with no daemon ----------------------------------------------------------------


def _send_here(args: argparse.Namespace) -> int:
    try:
        daemon = running()
        if daemon is not None:
            # Sending from here too would race the daemon's worker (and, for the demo's daemon,
            # send another database's outbox than the one `outbox list` shows).
            raise OutboxBusyError(
                f"the companion daemon (pid {daemon.pid}) is running and its worker sends the outbox; "
                "follow it with `cats-companion outbox list` (`outbox send` is for when no daemon runs)"
            )
        return asyncio.run(_send(args, sys.stdout))
    except CompanionError as exc:
        return _failed(args, sys.stdout, exc.to_dict())


async def _send(args: argparse.Namespace, out: TextIO) -> int:
    from companion.app import CompanionConfig
    from companion.cats.client import CatsClient
    from companion.services.outbox_worker import OutboxWorker, lock_path_for
    from companion.services.push import inputs_from
    from companion.store import open_database
    from companion.store.db import default_path
    from companion.team.claims_link import TeamClaimsLink
    from companion.team.credentials import keyring_password

    url = normalize_base_url(args.cats_url)
    # keyring may block on D-Bus: keep it off the event loop.
    key = await asyncio.to_thread(load_key, url)
    if key is None:
        raise KeyMissingError(
            f"no CATS API key stored for {url}; run `cats-companion key set --cats-url {url}`"
        )
    counts: dict[str, int] = {}
    # No database yet means nothing was ever queued: say so rather than create an empty one.
    if default_path().exists():
        # The settings exactly as the daemon reads them (the team policy included).
        config = CompanionConfig(cats_base_url=url)
        settings = config.settings_service()
        # In a team, each person is claimed before a create, as the daemon's worker does.
        team, _why_not = config.team_record()
        claims = (
            TeamClaimsLink(team.team_dsn(), keyring_password(team.team_dsn())) if team is not None else None
        )
        db = await open_database()
        try:
            async with CatsClient(url, key) as client:
                worker = OutboxWorker(
                    db, client, inputs_from(settings), lock_path=lock_path_for(db), claims=claims
                )
                counts = await worker.drain(max_wait=args.max_wait)
        finally:
            if claims is not None:
                await claims.close()
            await db.close()
    _emit(out, args, {"counts": counts}, f"outbox: {_counts(counts, 'nothing to send')}")
    unfinished = sum(
        n for status, n in counts.items() if status in ("queued", "sending", "waiting", "failed")
    )
    return EXIT_OK if unfinished == 0 else EXIT_FAILURE
