"""`cats-companion serve`: run this user's companion daemon until SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from companion.cats_url import configured_url
from companion.errors import CompanionError, ConfigError
from companion.keystore import DEFAULT_BASE_URL
from companion.secret import ApiKey, DatabasePassword
from companion.secret_file import MAX_SECRET_FILE_BYTES, read_secret_file

if TYPE_CHECKING:
    from companion.server.daemon import DaemonConfig
    from companion.tray import DaemonTrayActions, TrayHandle

log = logging.getLogger(__name__)

#: A key file bigger than this is not an API key file (CATS keys are a few dozen characters).
MAX_KEY_FILE_BYTES: Final = MAX_SECRET_FILE_BYTES


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="run the companion daemon (loopback HTTP API and per-user socket)",
        description=(
            "Run the companion daemon for this user. It listens on 127.0.0.1 only and on a per-user "
            "socket, writes its port and token to daemon.json in the runtime dir, and stops cleanly "
            "on SIGTERM or Ctrl-C. The CATS API key is read from the OS keyring (`cats-companion key set`), "
            "or, for sandboxes and automation, from a private file named by --key-file."
        ),
    )
    parser.add_argument(
        "--cats-url",
        default=None,
        help="CATS API base URL (default: the one `cats-companion key set` or the settings window "
        f"last stored a key for, else {DEFAULT_BASE_URL})",
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
        "--admin",
        action="store_true",
        help="admin mode: edit, lock and export the team policy (needs the right to write the "
        "system-wide config folder)",
    )
    parser.add_argument(
        "--tray",
        action="store_true",
        help="show a tray icon (Open settings, Sync now, Quit) where the desktop has one",
    )
    parser.add_argument(
        "--key-file",
        type=Path,
        metavar="PATH",
        help="read the CATS API key from PATH instead of the keyring; meant for sandboxes and "
        "automation. PATH must be a regular file owned by you with mode 0600, holding only the key",
    )
    parser.add_argument(
        "--team-password-file",
        type=Path,
        metavar="PATH",
        help="read the team database's password from PATH instead of the keyring (benches, demos, "
        "automation); a regular file owned by you with mode 0600, holding only the password",
    )
    parser.add_argument(
        "--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"), help="default INFO"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from companion.server.daemon import DaemonConfig, extension_origin

    try:
        config = DaemonConfig(
            # A daemon the native host starts has no --cats-url: it runs as the companion was set up.
            cats_base_url=args.cats_url if args.cats_url is not None else configured_url(),
            port=args.port,
            extension_origins=tuple(extension_origin(e) for e in args.extension_id),
            admin=args.admin,
        )
        key = read_key_file(args.key_file) if args.key_file is not None else None
        if args.team_password_file is not None:
            password = read_team_password_file(args.team_password_file)
            config = dataclasses.replace(config, team_password=password)
        return asyncio.run(_serve(config, tray=args.tray, key=key))
    except CompanionError as exc:
        print(f"cats-companion serve: {exc.message}", file=sys.stderr)
        return 1


def read_key_file(path: Path) -> ApiKey:
    """The API key held in `path`, which must be a regular file of this user that nobody else can read.

    Raises ConfigError (naming the file, never its content) for a missing, foreign, group- or
    world-accessible, non-regular (symlink, FIFO, directory), oversized or empty file.
    """
    text = read_secret_file(path, "key file").strip()
    if any(char.isspace() for char in text):
        raise ConfigError(f"the key file {path} must hold the key alone, on one line")
    return ApiKey(text)


def read_team_password_file(path: Path) -> DatabasePassword:
    """The team database's password held in `path` (private, as for the key file): its first line, kept
    exactly (a password may begin or end with a space); ConfigError for a second line."""
    text = read_secret_file(path, "team password file").removesuffix("\n").removesuffix("\r")
    if any(char in text for char in "\x00\r\n"):
        raise ConfigError(f"the team password file {path} must hold the password alone, on one line")
    return DatabasePassword(text)


async def _serve(config: DaemonConfig, *, tray: bool = False, key: ApiKey | None = None) -> int:
    from companion.server.daemon import start_daemon, wait_for_stop_signal

    daemon = await start_daemon(config, key=key)
    quit_asked = asyncio.Event()
    icon: TrayHandle | None = None
    actions: DaemonTrayActions | None = None
    follow: asyncio.Task[None] | None = None
    # Listening for SIGTERM from here on, so one that comes while the icon starts is not lost.
    waits = [asyncio.create_task(wait_for_stop_signal()), asyncio.create_task(quit_asked.wait())]
    try:
        where = f" and {daemon.socket_path}" if daemon.socket_path else ""
        print(f"cats-companion daemon listening on {daemon.url}{where}", flush=True)
        if tray:
            from companion.tray import DaemonTrayActions, start_tray

            actions = DaemonTrayActions(daemon, asyncio.get_running_loop(), quit_asked.set)
            # Showing the icon waits for the desktop (a second or two): not on the daemon's loop.
            icon = await asyncio.to_thread(start_tray, actions)
            if icon is not None:
                follow = asyncio.create_task(actions.follow(icon), name="tray-status")
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in waits:
            task.cancel()
        if follow is not None:
            follow.cancel()
        if icon is not None:
            icon.stop()
        if actions is not None:
            await actions.close()
        await daemon.close()
    return 0
