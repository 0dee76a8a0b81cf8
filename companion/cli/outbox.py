"""`cats-companion outbox`, `event` and `campaign`: follow and steer the push outbox, feed campaign events.

    cats-companion outbox list [--status failed,waiting] [--limit N] [--json]
    cats-companion outbox show ID | retry ID... | cancel ID...
    cats-companion outbox send [--cats-url URL] [--max-wait S]    send it here, now (no daemon needed)
    cats-companion event record --campaign NAME --type outreach --outreach email_sent --email ada@x.org
    cats-companion event import FILE.json                        all entries, or none of them
    cats-companion campaign list | create NAME [--trigger T] [--record-type R] | archive ID

Every command works on this user's database directly (WAL lets it share the file with a running
daemon, whose worker picks new items up within seconds). `outbox send` refuses while another
process sends the outbox, so an item is never sent by two processes. Exit status: 0 success,
1 refused or failed, 2 usage.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Final, TextIO

from companion.errors import CompanionError, KeyMissingError
from companion.keystore import DEFAULT_BASE_URL, load_key, normalize_base_url

EXIT_OK: Final = 0
EXIT_FAILURE: Final = 1
#: The longest wait (Retry-After, backoff) `outbox send` sits through before it stops and says so.
DEFAULT_MAX_WAIT: Final = 300.0
_STATUSES: Final = ("queued", "sending", "waiting", "synced", "failed", "cancelled")
_EVENT_TYPES: Final = ("added", "outreach", "replied", "interested", "not_interested", "meeting_booked")
_OUTREACH: Final = (
    "email_sent",
    "linkedin_connection_request",
    "linkedin_message",
    "inmail",
    "call",
    "text_message",
)
_TRIGGERS: Final = ("on_add", "on_reply", "when_interested", "never")
_RECORD_TYPES: Final = ("candidates", "contacts")

Action = Callable[[argparse.Namespace, TextIO], Awaitable[int]]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    _register_outbox(subparsers)
    _register_event(subparsers)
    _register_campaign(subparsers)


def _with_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")


def _register_outbox(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    outbox = subparsers.add_parser(
        "outbox", help="follow, retry, cancel or send the pushes waiting for CATS", description=__doc__
    )
    commands = outbox.add_subparsers(dest="outbox_command", metavar="COMMAND")
    commands.required = True

    listing = commands.add_parser("list", help="outbox items, newest first, and counts by status")
    listing.add_argument("--status", type=_statuses, default=None, help="comma-separated statuses to show")
    listing.add_argument("--limit", type=_positive, default=50, help="how many items (default 50)")
    _with_json(listing)
    listing.set_defaults(func=_runner(_outbox_list))

    show = commands.add_parser("show", help="one item and what the sync log says about it")
    show.add_argument("id", type=_positive)
    _with_json(show)
    show.set_defaults(func=_runner(_outbox_show))

    for name, text in (
        ("retry", "queue failed items again once fixed"),
        ("cancel", "never send these items"),
    ):
        command = commands.add_parser(name, help=text)
        command.add_argument("ids", type=_positive, nargs="+", metavar="ID")
        _with_json(command)
        command.set_defaults(func=_runner(_outbox_retry if name == "retry" else _outbox_cancel))

    send = commands.add_parser(
        "send", help="send the outbox to CATS from this process until nothing more can be sent"
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
    send.set_defaults(func=_runner(_outbox_send))


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
    record.set_defaults(func=_runner(_event_record))

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
    importing.set_defaults(func=_runner(_event_import))


def _register_campaign(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    campaign = subparsers.add_parser("campaign", help="list, create and archive campaigns")
    commands = campaign.add_subparsers(dest="campaign_command", metavar="COMMAND")
    commands.required = True
    listing = commands.add_parser("list", help="the campaigns")
    listing.add_argument("--archived", action="store_true", help="include archived campaigns")
    _with_json(listing)
    listing.set_defaults(func=_runner(_campaign_list))
    create = commands.add_parser("create", help="create a campaign")
    create.add_argument("name")
    create.add_argument("--trigger", choices=_TRIGGERS, help="when members sync (default: the settings')")
    create.add_argument(
        "--record-type", choices=_RECORD_TYPES, help="what members sync as (default Candidate)"
    )
    _with_json(create)
    create.set_defaults(func=_runner(_campaign_create))
    archive = commands.add_parser("archive", help="archive a campaign (no new members or events)")
    archive.add_argument("id", type=_positive)
    _with_json(archive)
    archive.set_defaults(func=_runner(_campaign_archive))


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, not {text!r}")
    return int(text)


def _statuses(text: str) -> list[str]:
    wanted = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [status for status in wanted if status not in _STATUSES]
    if unknown or not wanted:
        raise argparse.ArgumentTypeError(f"statuses are {', '.join(_STATUSES)}")
    return wanted


def _runner(action: Action) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        return asyncio.run(_guarded(action, args, sys.stdout))

    return run


async def _guarded(action: Action, args: argparse.Namespace, out: TextIO) -> int:
    try:
        return await action(args, out)
    except CompanionError as exc:
        if getattr(args, "json", False):
            out.write(json.dumps({"error": exc.to_dict()}, ensure_ascii=False) + "\n")
        print(f"cats-companion: {exc.message} ({exc.code})", file=sys.stderr)
        return EXIT_FAILURE


# --- the pieces, built on this user's files -----------------------------------------------------------


class _Local:
    """This user's database and settings, as the daemon would open them."""

    async def __aenter__(self) -> _Local:
        from companion import paths
        from companion.services.push import PushService, inputs_from
        from companion.settings.catalogue_store import CATALOGUE_FILE, CatalogueStore
        from companion.settings.service import SettingsService
        from companion.store import open_database

        self.db = await open_database()
        self.settings = SettingsService(
            config_dir=paths.config_dir(),
            site_dir=paths.site_config_dir(),
            catalogue=CatalogueStore(paths.data_dir() / CATALOGUE_FILE),
        )
        self.inputs = inputs_from(self.settings)
        self.push = PushService(self.db, self.inputs)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.db.close()


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


async def _outbox_list(args: argparse.Namespace, out: TextIO) -> int:
    async with _Local() as local:
        items = await local.push.outbox.items(statuses=args.status, limit=args.limit)
        counts = await local.push.outbox.counts()
    public = [item.public() for item in items]
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "empty"
    text = "\n".join([f"outbox: {summary}", *(_item_line(item) for item in public)])
    _emit(out, args, {"items": public, "counts": counts}, text)
    return EXIT_OK


async def _outbox_show(args: argparse.Namespace, out: TextIO) -> int:
    async with _Local() as local:
        item = await local.push.item(args.id)
        log = await local.push.log.entries(outbox_id=args.id)
    lines = [_item_line(item.public())]
    for entry in reversed(log):
        changed = f" changed {', '.join(entry.changed_fields)}" if entry.changed_fields else ""
        said = f": {entry.message}" if entry.message else ""
        lines.append(f"  {entry.at.isoformat()}  {entry.action} ({entry.outcome}){changed}{said}")
    _emit(
        out, args, {"item": item.public(), "log": [e.model_dump(mode="json") for e in log]}, "\n".join(lines)
    )
    return EXIT_OK


async def _each(args: argparse.Namespace, out: TextIO, retry: bool) -> int:
    done: list[dict[str, Any]] = []
    refused: list[dict[str, Any]] = []
    async with _Local() as local:
        for item_id in args.ids:
            try:
                item = await (local.push.retry(item_id) if retry else local.push.cancel(item_id))
            except CompanionError as exc:
                refused.append({"id": item_id, "error": exc.to_dict()})
                print(f"cats-companion: {exc.message} ({exc.code})", file=sys.stderr)
            else:
                done.append(item.public())
    verb = "queued again" if retry else "cancelled"
    _emit(out, args, {"items": done, "refused": refused}, "\n".join(f"{r['id']}: {verb}" for r in done))
    return EXIT_FAILURE if refused else EXIT_OK


async def _outbox_retry(args: argparse.Namespace, out: TextIO) -> int:
    return await _each(args, out, retry=True)


async def _outbox_cancel(args: argparse.Namespace, out: TextIO) -> int:
    return await _each(args, out, retry=False)


async def _outbox_send(args: argparse.Namespace, out: TextIO) -> int:
    from companion.cats.client import CatsClient
    from companion.services.outbox_worker import OutboxWorker, lock_path_for

    url = normalize_base_url(args.cats_url)
    # keyring may block on D-Bus: keep it off the event loop.
    key = await asyncio.to_thread(load_key, url)
    if key is None:
        raise KeyMissingError(
            f"no CATS API key stored for {url}; run `cats-companion key set --cats-url {url}`"
        )
    async with _Local() as local, CatsClient(url, key) as client:
        worker = OutboxWorker(local.db, client, local.inputs, lock_path=lock_path_for(local.db))
        counts = await worker.drain(max_wait=args.max_wait)
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "nothing to send"
    _emit(out, args, {"counts": counts}, f"outbox: {summary}")
    unfinished = sum(
        n for status, n in counts.items() if status in ("queued", "sending", "waiting", "failed")
    )
    return EXIT_OK if unfinished == 0 else EXIT_FAILURE


async def _event_record(args: argparse.Namespace, out: TextIO) -> int:
    from companion.services.push import EventRequest, parse

    data: dict[str, Any] = {"type": args.type}
    data["campaign_id" if args.campaign.isdigit() else "campaign"] = (
        int(args.campaign) if args.campaign.isdigit() else args.campaign
    )
    for name in ("outreach", "at", "text", "id"):
        if getattr(args, name) is not None:
            data[name] = getattr(args, name)
    if args.sync_as:
        data["record_type"] = args.sync_as
    if args.person_id:
        data["person_id"] = args.person_id
    person = _person_args(args)
    if person:
        data["person"] = person
    request = parse(EventRequest, data)
    async with _Local() as local:
        accepted = await local.push.record_event(request, source="cli")
    text = f"event {accepted.event_id}: " + (
        "already recorded"
        if not accepted.recorded
        else f"{accepted.reason}; {len(accepted.items)} item(s) queued"
    )
    _emit(out, args, accepted.model_dump(mode="json"), text)
    return EXIT_OK


def _person_args(args: argparse.Namespace) -> dict[str, Any]:
    person: dict[str, Any] = {}
    if args.person_json is not None:
        from companion.errors import BadRequestError

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


async def _event_import(args: argparse.Namespace, out: TextIO) -> int:
    from companion.errors import EventImportInvalidError

    try:
        document = json.loads(args.file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise EventImportInvalidError(f"cannot read {args.file}: {exc.strerror or exc}", entry=None) from None
    except ValueError as exc:
        raise EventImportInvalidError(f"{args.file} is not JSON: {exc}", entry=None) from None
    async with _Local() as local:
        result = await local.push.import_events(document, source="import")
    text = (
        f"{result.events} events: {result.recorded} recorded, {result.already_recorded} already recorded; "
        f"{result.items} outbox item(s) queued"
    )
    _emit(out, args, result.model_dump(mode="json"), text)
    return EXIT_OK


async def _campaign_list(args: argparse.Namespace, out: TextIO) -> int:
    async with _Local() as local:
        campaigns = await local.push.campaigns.list(include_archived=args.archived)
    lines = [
        f"{c.id:>4}  {c.name:<30} {c.members:>5} members  trigger {c.sync_trigger or '(settings)'}"
        f"  sync as {c.record_type or 'candidates'}{'  archived' if c.archived else ''}"
        for c in campaigns
    ]
    _emit(
        out,
        args,
        {"campaigns": [c.model_dump(mode="json") for c in campaigns]},
        "\n".join(lines) or "no campaigns",
    )
    return EXIT_OK


async def _campaign_create(args: argparse.Namespace, out: TextIO) -> int:
    from companion.services.campaigns import CampaignCreate
    from companion.services.push import parse

    request = parse(
        CampaignCreate, {"name": args.name, "sync_trigger": args.trigger, "record_type": args.record_type}
    )
    async with _Local() as local:
        view = await local.push.campaigns.create(request)
    _emit(out, args, view.model_dump(mode="json"), f"campaign {view.id}: {view.name}")
    return EXIT_OK


async def _campaign_archive(args: argparse.Namespace, out: TextIO) -> int:
    async with _Local() as local:
        view = await local.push.campaigns.archive(args.id)
    _emit(out, args, view.model_dump(mode="json"), f"campaign {view.id} archived")
    return EXIT_OK
