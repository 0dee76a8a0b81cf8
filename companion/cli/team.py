"""`cats-companion team init|add-member|members|remove-member|join|status|leave`: team mode, on PostgreSQL.

    cats-companion team init postgresql://admin@db.example.com/team [--cats-url URL]
    cats-companion team add-member alice [--name "Alice Smith"] [--admin]
    cats-companion team members [--json]
    cats-companion team remove-member alice
    cats-companion team join postgresql://alice@db.example.com/team [--cats-url URL]
    cats-companion team status [--json]
    cats-companion team leave

These work without the daemon, like `key`: they change the companion's configuration (the team
record in the config dir, companion.team.local) and the OS keyring, and act on the team's
PostgreSQL database, none of which the daemon owns; the password must be typed at this terminal,
which a daemon cannot prompt on. The daemon keeps no team state in phase 1; when later phases make
it use the team, it reads the record and the keyring at start, as it reads the CATS key. They only
ask a running daemon (never start one) for this companion's CATS site (companion.cli.team_site).

Passwords come from a hidden prompt, or the first line of stdin when it is piped, never from the
command line; a DSN holding one is refused. Every message is built without the password, and each
command cuts it out of whatever it prints all the same.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import getpass
import json
import sys
from datetime import UTC, datetime
from typing import Any, Final, TextIO

from companion import __version__
from companion.cli.team_site import LocalSite, local_site
from companion.errors import CompanionError, ConfigError, TeamNotJoinedError, TeamRemovedError
from companion.keystore import normalize_base_url
from companion.secret import DatabasePassword
from companion.team import admin, local, membership, removal, roster
from companion.team.credentials import TeamPasswordStore
from companion.team.dsn import TeamDsn, parse_dsn
from companion.team.migrations import latest_version
from companion.team.roles import check_login_name
from companion.team.site import CatsSite, can_confirm
from companion.team.team_info import TeamInfo

EXIT_OK: Final = 0
EXIT_FAILURE: Final = 1
EXIT_USAGE: Final = 2

_ARGV_REFUSAL: Final = (
    "the database password is never taken from the command line (other users see it in the process "
    "list, your shell keeps it in its history): type it at the hidden prompt, or pipe it on stdin. If "
    "it is now in your shell history, consider changing it."
)


_NOT_IN_A_TEAM: Final = (
    "this companion belongs to no team: run `cats-companion team join DSN` (the admin: `team init DSN`) first"
)


class _BadPassword(Exception):
    """What was typed or piped cannot be used as a password; the message never quotes it."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    team = subparsers.add_parser(
        "team",
        help=(
            "team mode: share a PostgreSQL database with your team "
            "(init, add-member, members, remove-member, join, status, leave)"
        ),
        description=(
            "Team mode keeps a team's shared state in a PostgreSQL database the team runs or rents. "
            "The database password lives in the OS keyring, never on the command line or in a file."
        ),
    )
    actions = team.add_subparsers(dest="team_action", metavar="ACTION")
    actions.required = True

    site = argparse.ArgumentParser(add_help=False)
    site.add_argument(
        "--cats-url",
        metavar="URL",
        help="this companion's CATS API base URL (default: the running daemon's, else the CATS default)",
    )
    # Not a real way in: it catches a password typed on the command line, to refuse it plainly.
    site.add_argument("--password", dest="argv_password", nargs="?", const="", help=argparse.SUPPRESS)

    init = actions.add_parser(
        "init",
        parents=[site],
        help="admin: create or migrate the team in a PostgreSQL database",
        description=(
            "Create the team's schema, group roles and row-level security in the database DSN names, "
            "recording this companion's CATS site, or migrate an existing team (never destroying "
            "anything). The DSN's user needs CREATEROLE and CREATE on the database the first time "
            "(docs/teams.md). Its password is read from a hidden prompt or stdin and kept in the OS "
            "keyring; this companion then belongs to the team, as its admin."
        ),
    )
    init.add_argument("dsn", metavar="DSN", help="postgresql://USER@HOST[:PORT]/DATABASE[?sslmode=require]")
    init.set_defaults(func=run_init)

    add = actions.add_parser(
        "add-member",
        help="admin: create a member's PostgreSQL login role",
        description=(
            "Create the login role ROLE in the team's member group, with the password read from a "
            "hidden prompt (twice) or stdin; it reaches the server only as a SCRAM verifier."
        ),
    )
    add.add_argument("role", metavar="ROLE", help="the member's PostgreSQL login name (e.g. alice)")
    add.add_argument("--name", default="", help="the member's name as the team sees it")
    add.add_argument(
        "--admin",
        action="store_true",
        help="make them an admin too: they add and remove members, edit the team policy, undo any alias",
    )
    add.add_argument("--password", dest="argv_password", nargs="?", const="", help=argparse.SUPPRESS)
    add.set_defaults(func=run_add_member)

    members = actions.add_parser(
        "members",
        help="list who is in the team: role, name, admin or member, when added, whether they can log in",
        description=(
            "Every member of the team, removed ones included (the team's history names them): login "
            "role, display name, admin or member, when added and by whom, whether the role can still "
            "log in. Admins and members alike may list them."
        ),
    )
    members.add_argument("--json", action="store_true", help="print one JSON object")
    members.set_defaults(func=run_members)

    remove = actions.add_parser(
        "remove-member",
        help="admin: remove a member: no more login or rights, open sessions ended, live claims released",
        description=(
            "Remove ROLE from the team at once, whatever client they use: the team's groups and the "
            "role's LOGIN are taken away, its open sessions ended, its live person claims released for "
            "teammates. The member row stays, marked removed, so the team's history keeps naming them "
            "(docs/teams.md, Removing a member). Needs CREATEROLE and the admin group."
        ),
    )
    remove.add_argument(
        "role", metavar="ROLE", help="the member's PostgreSQL login name (team members lists them)"
    )
    remove.set_defaults(func=run_remove_member)

    join = actions.add_parser(
        "join",
        parents=[site],
        help="join the team whose database DSN names",
        description=(
            "Check the connection with the password (hidden prompt or stdin), that the team uses this "
            "companion's CATS site and schema version, then keep the password in the OS keyring and "
            "record the team in the config dir. Nothing is kept when a check fails."
        ),
    )
    join.add_argument("dsn", metavar="DSN", help="postgresql://USER@HOST[:PORT]/DATABASE[?sslmode=require]")
    join.set_defaults(func=run_join)

    status = actions.add_parser(
        "status",
        help="say which team this companion is in and whether its database answers",
        description="The team, its CATS site, your role, whether its database answers, its schema version.",
    )
    status.add_argument("--json", action="store_true", help="print one JSON object")
    status.set_defaults(func=run_status)

    leave = actions.add_parser(
        "leave",
        help="forget the team: the local record and the password in the keyring",
        description=(
            "Forget the team this companion belongs to: the team record and the database password "
            "in the keyring. The team's database is not touched (its admin removes members)."
        ),
    )
    leave.set_defaults(func=run_leave)


# --- commands ----------------------------------------------------------------------------------------


def run_init(args: argparse.Namespace) -> int:
    return _joining(args, "init")


def run_join(args: argparse.Namespace) -> int:
    return _joining(args, "join")


def _joining(args: argparse.Namespace, action: str) -> int:
    """`init` and `join`: both end with this companion recorded as belonging to the team."""
    where = f"team {action}"
    if args.argv_password is not None:
        return _fail(where, _ARGV_REFUSAL, EXIT_USAGE)
    try:
        dsn = parse_dsn(args.dsn)
        cats_url = normalize_base_url(args.cats_url) if args.cats_url else None
        current = local.load()
    except ConfigError as exc:
        return _fail(where, exc.message, EXIT_USAGE)
    if current is not None and current.dsn != dsn.url:
        return _fail(
            where,
            f"this companion already belongs to the team at {current.dsn}; "
            "run `cats-companion team leave` first",
        )
    store = TeamPasswordStore()
    try:
        # Before asking for the password: is there anywhere to keep it?
        store.check()
        password = read_password(
            sys.stdin, f"PostgreSQL password for {dsn.user}@{dsn.host} (typing is hidden): "
        )
    except CompanionError as exc:
        return _fail(where, exc.message)
    except _BadPassword as exc:
        return _fail(where, str(exc), EXIT_USAGE)
    try:
        mine = local_site(cats_url)
    except ConfigError as exc:
        return _fail(where, exc.message)
    try:
        if action == "init":
            outcome = asyncio.run(admin.init_team(dsn, password, mine.site, companion_version=__version__))
            found, access = outcome.team, "admin"
        else:
            joined = asyncio.run(
                membership.join_team(dsn, password, mine.site, companion_version=__version__)
            )
            found, access = joined.team, joined.access
        _remember(dsn, password, found, access)
    except CompanionError as exc:
        return _fail(where, _redact(exc.message, password))
    if action == "init":
        _print_init(dsn, outcome)
    else:
        print(f"Joined team {found.team_id} at {dsn.url} as {dsn.user} ({access}).")
    print(_site_note(found.site, mine))
    return EXIT_OK


def run_add_member(args: argparse.Namespace) -> int:
    where = "team add-member"
    if args.argv_password is not None:
        return _fail(where, _ARGV_REFUSAL, EXIT_USAGE)
    try:
        role = check_login_name(args.role)
        record = local.load()
    except ConfigError as exc:
        return _fail(where, exc.message, EXIT_USAGE)
    if record is None:
        return _fail(where, _NOT_IN_A_TEAM)
    dsn = record.team_dsn()
    try:
        admin_password = _stored_password(dsn)
        new_password = read_new_password(sys.stdin, role)
        team = asyncio.run(
            admin.add_member(
                dsn, admin_password, role, new_password, display_name=args.name, as_admin=args.admin
            )
        )
    except CompanionError as exc:
        return _fail(where, exc.message)
    except _BadPassword as exc:
        return _fail(where, str(exc), EXIT_USAGE)
    member_dsn = dataclasses.replace(dsn, user=role)
    print(
        f"Added {role} to team {team.team_id}{' as an admin' if args.admin else ''}. They join with\n"
        f"  cats-companion team join {member_dsn.url}\n"
        "and the password you chose, which you give them by a private channel."
    )
    return EXIT_OK


def run_members(args: argparse.Namespace) -> int:
    where = "team members"
    try:
        dsn, password = _own_credentials()
        team, found = asyncio.run(roster.list_members(dsn, password))
    except CompanionError as exc:
        return _fail(where, exc.message)
    listed = [_member_json(member) for member in found]
    if args.json:
        print(json.dumps({"team_id": team.team_id, "members": listed}, indent=2, sort_keys=True))
    else:
        print(render_members(team.team_id, listed))
    return EXIT_OK


def run_remove_member(args: argparse.Namespace) -> int:
    where = "team remove-member"
    try:
        dsn, password = _own_credentials()
        done = asyncio.run(removal.remove_member(dsn, password, args.role))
    except CompanionError as exc:
        return _fail(where, exc.message)
    who = f"{done.role_name} ({done.display_name})" if done.display_name else done.role_name
    when = f"{done.removed_at.isoformat()} by {done.removed_by}"
    head = (
        f"Removed {who} from team {done.team.team_id}"
        if done.newly_removed
        else f"{who} was removed on {when}"
    )
    print(
        f"{head}.\n"
        f"  login: refused from now on (the role is kept, NOLOGIN, without the team's groups)\n"
        f"  open sessions ended: {done.sessions_ended}\n"
        f"  person claims released for teammates: {done.claims_released}\n"
        "  their claims, ledger rows and alias confirmations keep naming them"
    )
    if done.sessions_problem is not None:
        print(f"  {done.sessions_left} session(s) still open: {done.sessions_problem}", file=sys.stderr)
        return EXIT_FAILURE
    return EXIT_OK


def run_status(args: argparse.Namespace) -> int:
    where = "team status"
    try:
        record = local.load()
    except ConfigError as exc:
        return _fail(where, exc.message)
    report, code = status_report(record)
    if args.json:
        print(json.dumps(report, indent=2, sort_keys=True))
    else:
        print(render_status(report))
    return code


def run_leave(args: argparse.Namespace) -> int:
    where = "team leave"
    try:
        record = local.load()
    except ConfigError as exc:
        # A damaged record cannot name its password's keyring entry; removing the file still leaves.
        local.forget()
        print(f"Removed the damaged team record ({exc.message}); no password entry could be named to remove.")
        return EXIT_OK
    if record is None:
        print("This companion belongs to no team; nothing to forget.")
        return EXIT_OK
    try:
        removed = TeamPasswordStore().delete(record.team_dsn())
    except CompanionError as exc:
        return _fail(where, f"still in the team: {exc.message}")
    local.forget()
    password = "and its password from the keyring" if removed else "(no password was in the keyring)"
    print(f"Left team {record.team_id}: removed the record of {record.dsn} {password}.")
    return EXIT_OK


# --- status --------------------------------------------------------------------------------------------


def status_report(record: local.TeamRecord | None) -> tuple[dict[str, Any], int]:
    """What `team status` says, as data, and its exit status (0: not in a team, or all is well)."""
    known = latest_version()
    if record is None:
        return {"joined": False, "known_schema_version": known}, EXIT_OK
    dsn = record.team_dsn()
    report: dict[str, Any] = {
        "joined": True,
        "team_id": record.team_id,
        "dsn": record.dsn,
        "role": record.role,
        "access": record.access,
        "joined_at": record.joined_at.isoformat(),
        "cats": {"base_url": record.cats_base_url, "subdomain": record.cats_subdomain},
        "known_schema_version": known,
        "removed": False,
    }
    database: dict[str, Any] = {"reachable": False, "schema_version": None, "access": None, "error": None}
    report["database"] = database
    try:
        password = _stored_password(dsn)
    except CompanionError as exc:
        report["password_stored"] = False
        database["error"] = exc.to_dict()
        return report, EXIT_FAILURE
    report["password_stored"] = True
    try:
        seen = asyncio.run(membership.look(dsn, password))
    except CompanionError as exc:
        database["error"] = {**exc.to_dict(), "message": _redact(exc.message, password)}
        # The admin removed this member: said in so many words, with what this companion does now.
        report["removed"] = isinstance(exc, TeamRemovedError)
        return report, EXIT_FAILURE
    database.update(
        reachable=True,
        schema_version=seen.team.schema_version,
        access=seen.access,
        cats={"base_url": seen.team.site.base_url, "subdomain": seen.team.site.subdomain},
        last_seen_at=seen.member.last_seen_at.isoformat()
        if seen.member and seen.member.last_seen_at
        else None,
    )
    healthy = seen.team.schema_version == known and seen.access != "none"
    return report, EXIT_OK if healthy else EXIT_FAILURE


def render_status(report: dict[str, Any]) -> str:
    if not report["joined"]:
        return "This companion belongs to no team (single-user mode: SQLite only)."
    cats = report["cats"]
    site = f"{cats['subdomain']} at {cats['base_url']}" if cats["subdomain"] else cats["base_url"]
    lines = [
        f"team:      {report['team_id']} (joined {report['joined_at']})",
        f"database:  {report['dsn']}",
        f"CATS site: {site}",
        f"you:       {report['role']} ({report['access']})",
    ]
    database = report["database"]
    if database["reachable"]:
        version, known = database["schema_version"], report["known_schema_version"]
        match = "" if version == known else f" -- this companion needs {known}"
        lines.append(
            f"answers:   yes; schema version {version}{match}; your access there: {database['access']}"
        )
    elif report.get("removed"):
        lines.append("removed:   yes -- the team's admin removed you; this companion works alone (SQLite)")
        lines.append(f"           {database['error']['message']}")
    else:
        lines.append(f"answers:   no -- {database['error']['message']}")
    return "\n".join(lines)


def _member_json(member: roster.TeamMember) -> dict[str, Any]:
    stamps = ("added_at", "joined_at", "last_seen_at", "removed_at")
    found = dataclasses.asdict(member)
    return {**found, **{key: found[key].isoformat() if found[key] else None for key in stamps}}


def _minute(stamp: str) -> str:
    """An ISO 8601 UTC time to the minute, as a table cell: 2026-12-06 09:00."""
    return stamp[:16].replace("T", " ")


def render_members(team_id: str, members: list[dict[str, Any]]) -> str:
    """The members as a table: one line each, removed members last with who removed them and when."""
    header = ("ROLE", "NAME", "ACCESS", "ADDED", "LOGIN")
    rows = []
    for member in members:
        if member["removed_at"]:
            access = f"removed {_minute(member['removed_at'])} by {member['removed_by']}"
        else:
            access = member["access"]
        login = "yes" if member["can_login"] else "no" if member["role_exists"] else "no (role dropped)"
        rows.append(
            (member["role_name"], member["display_name"] or "-", access, _minute(member["added_at"]), login)
        )
    widths = [max(len(line[i]) for line in [header, *rows]) for i in range(len(header) - 1)]
    lines = [f"team {team_id}: {len(members)} member(s)"]
    for line in [header, *rows]:
        cells = [cell.ljust(width) for cell, width in zip(line, widths, strict=False)]
        lines.append("  ".join([*cells, line[-1]]))
    return "\n".join(lines)


# --- passwords ------------------------------------------------------------------------------------------


def read_password(stdin: TextIO | None, prompt: str) -> DatabasePassword:
    """A password from a hidden prompt on a terminal, else the first line of stdin (its newline dropped)."""
    if stdin is not None and stdin.isatty():
        try:
            text = getpass.getpass(prompt)
        except EOFError:
            text = ""
    else:
        text = stdin.readline().removesuffix("\n").removesuffix("\r") if stdin is not None else ""
    if not text:
        raise _BadPassword("no password was given: type it at the prompt, or pipe it on stdin")
    if any(ch in text for ch in "\x00\r\n"):
        raise _BadPassword(
            "the password contains a NUL or line-break character, which PostgreSQL cannot take"
        )
    return DatabasePassword(text)


def read_new_password(stdin: TextIO | None, role: str) -> DatabasePassword:
    """A new member's password: on a terminal typed twice (hidden) and compared; else one line of stdin."""
    first = read_password(stdin, f"Password for the new member {role} (typing is hidden): ")
    if stdin is not None and stdin.isatty():
        again = read_password(stdin, "The same password again: ")
        if again != first:
            raise _BadPassword("the two passwords differ; nothing was changed")
    return first


def _own_credentials() -> tuple[TeamDsn, DatabasePassword]:
    """This companion's team DSN and its password from the keyring; CompanionError when not in a team."""
    record = local.load()
    if record is None:
        raise TeamNotJoinedError(_NOT_IN_A_TEAM)
    dsn = record.team_dsn()
    return dsn, _stored_password(dsn)


def _stored_password(dsn: TeamDsn) -> DatabasePassword:
    found = TeamPasswordStore().get(dsn)
    if found is None:
        raise TeamNotJoinedError(
            f"no password for {dsn.url} is in the keyring; run `cats-companion team join {dsn.url}` again"
        )
    return found


def _remember(dsn: TeamDsn, password: DatabasePassword, team: TeamInfo, access: str) -> None:
    """The password into the keyring, then the record; if the record cannot be written, the password goes."""
    store = TeamPasswordStore()
    store.set(dsn, password)
    record = local.TeamRecord(
        dsn=dsn.url,
        team_id=team.team_id,
        cats_base_url=team.site.base_url,
        cats_subdomain=team.site.subdomain,
        role=dsn.user,
        access="admin" if access == "admin" else "member",
        joined_at=datetime.now(UTC),
    )
    try:
        local.save(record)
    except (OSError, CompanionError) as exc:
        store.delete(dsn)
        message = exc.message if isinstance(exc, CompanionError) else (exc.strerror or str(exc))
        raise ConfigError(f"could not write the team record ({message}); nothing was kept") from None


# --- output ------------------------------------------------------------------------------------------


def _print_init(dsn: TeamDsn, outcome: admin.InitOutcome) -> None:
    team = outcome.team
    verb = "Created" if outcome.created else "Checked"
    applied = ", ".join(str(v) for v in outcome.applied) or "none (up to date)"
    member_dsn = dataclasses.replace(dsn, user="NAME")
    print(
        f"{verb} team {team.team_id} in {dsn.url}: schema version {team.schema_version} "
        f"(migrations applied now: {applied}); group roles {team.roles.admin} and {team.roles.member}.\n"
        f"This companion belongs to the team, as its admin ({dsn.user}). Add members with "
        "`cats-companion team add-member NAME`; they join with "
        f"`cats-companion team join {member_dsn.url}`."
    )


def _site_note(team_site: CatsSite, mine: LocalSite) -> str:
    if can_confirm(team_site, mine.site):
        return f"CATS site: {team_site.describe()} (the same as this companion's, from {mine.source})."
    if mine.site.subdomain is None:
        why = f"this companion's site name is unknown ({mine.source})"
    else:
        why = "the team has not recorded its site name yet (an admin's `team init` does, once it knows it)"
    return f"CATS site: {team_site.describe()}; only the base URL was compared: {why}."


def _redact(message: str, password: DatabasePassword) -> str:
    return message.replace(password.reveal(), repr(password))


def _fail(where: str, message: str, code: int = EXIT_FAILURE) -> int:
    print(f"cats-companion {where}: {message}", file=sys.stderr)
    return code
