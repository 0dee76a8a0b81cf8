"""`cats-companion settings [--admin] [--no-open]`: open the settings window through a one-time link.

Asks this user's daemon, through the CLI's one client (companion.cli.daemon_client, which starts a
daemon with the tray when none answers), for a one-time link, prints it and opens it in the default
browser. The link works once, within a minute; the browser trades it for a session cookie, so the
token itself never reaches the browser or the command line. The link comes from the `window.link`
operation, which also says whether the daemon runs in admin mode (what `--admin` must check).
"""

from __future__ import annotations

import argparse
import sys
import webbrowser
from collections.abc import Callable
from typing import Any, TextIO

from companion.cli.daemon_client import CALLER, DaemonClient, DaemonRefusal
from companion.errors import CompanionError
from companion.nmhost.link import DaemonLocator, daemon_command

Opener = Callable[[str], object]


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "settings",
        help="open the settings window in your browser",
        description=(
            "Open the settings window: print a one-time link to it and open it in the default browser. "
            "Starts the companion daemon if it is not running."
        ),
    )
    parser.add_argument(
        "--admin",
        action="store_true",
        help="admin mode: edit and lock the team's settings (needs the right to write the system-wide "
        "config folder; starts the daemon in admin mode)",
    )
    parser.add_argument("--no-open", action="store_true", help="only print the link; do not open a browser")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    return open_settings(admin=args.admin, open_browser=not args.no_open)


def start_command(*, admin: bool) -> list[str]:
    """How `settings` starts a daemon when none runs: with the tray (if the desktop has one)."""
    return [*daemon_command(), "--tray", *(["--admin"] if admin else [])]


def request_link(
    *, admin: bool, locator: DaemonLocator | None = None, notices: TextIO | None = None
) -> dict[str, Any]:
    """Ask this user's daemon (started when needed) for a one-time link: `{"url", "expires_in", "admin"}`.

    `locator` replaces the client's own (tests); raises CompanionError or DaemonRefusal.
    """
    command = start_command(admin=admin)
    with DaemonClient(f"{CALLER} settings", command=command, locator=locator, notices=notices) as daemon:
        return daemon.call("window.link")


def open_settings(
    *,
    admin: bool,
    open_browser: bool,
    locator: DaemonLocator | None = None,
    opener: Opener = webbrowser.open,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        answer = request_link(admin=admin, locator=locator, notices=err)
    except CompanionError as exc:
        print(f"cats-companion settings: {exc.message}", file=err)
        return 1
    except DaemonRefusal as exc:
        print(f"cats-companion settings: the companion refused to make a link: {exc.message}", file=err)
        return 1
    if admin and not answer.get("admin"):
        print(
            "cats-companion settings: the companion already running is not in admin mode; stop it "
            "(Quit in the tray icon, or end `cats-companion serve`), then run "
            "`cats-companion settings --admin` again",
            file=err,
        )
        return 1
    url = str(answer["url"])
    print(f"Settings window (this link works once, within {int(answer.get('expires_in', 60))} s):", file=out)
    print(url, file=out, flush=True)
    if open_browser and not opener(url):
        print("No browser could be opened: open the link above yourself.", file=err)
    return 0
