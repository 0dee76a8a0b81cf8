"""The `cats-companion key` command: store the CATS API key in the keyring, check it, remove it."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from typing import TYPE_CHECKING, Final, TextIO

from companion.cats_url import configured_url, remember_url
from companion.cli.demo_state import running_demo
from companion.errors import (
    CatsAuthError,
    CatsError,
    CatsForbiddenError,
    CatsNetworkError,
    CatsRateLimitedError,
    CatsUnavailableError,
    ConfigError,
    KeyringUnavailableError,
)
from companion.keystore import DEFAULT_BASE_URL, KeyringKeyStore, normalize_base_url
from companion.secret import ApiKey

if TYPE_CHECKING:
    from companion.cats.client import ConnectionInfo

EXIT_OK: Final = 0
EXIT_FAILURE: Final = 1
EXIT_USAGE: Final = 2

DEFAULT_TIMEOUT: Final = 20.0
PROMPT: Final = "CATS API key (typing is hidden): "

_NO_KEY_ON_ARGV: Final = (
    "cats-companion key set: the API key is never taken from the command line, where other users "
    "can see it in the process list and your shell keeps it in its history. Run "
    "`cats-companion key set` and paste the key at the hidden prompt, or pipe it in: "
    "`cats-companion key set < key-file`. If the key is now in your shell history, consider "
    "creating a new one in CATS."
)


class _BadKeyInput(Exception):
    """What was typed or piped cannot be an API key; the message never quotes it."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--cats-url",
        type=_cats_url,
        default=None,
        metavar="URL",
        help="the CATS API base URL the key belongs to (default: the one a key was last set for, "
        f"else {DEFAULT_BASE_URL}); `key set` keeps it for the daemon",
    )
    timeout = argparse.ArgumentParser(add_help=False)
    timeout.add_argument(
        "--timeout",
        type=_seconds,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"how long to wait for CATS (default: {DEFAULT_TIMEOUT:g})",
    )

    key = subparsers.add_parser(
        "key",
        help="store, check or remove the CATS API key (kept in the OS keyring)",
        description="Manage the CATS API key. It lives in the OS keyring, one key per CATS URL.",
    )
    actions = key.add_subparsers(dest="key_action", metavar="ACTION")
    actions.required = True

    set_parser = actions.add_parser(
        "set",
        parents=[common, timeout],
        help="check a key with CATS, then store it",
        description=(
            "Read the API key from a hidden prompt (or one line on stdin when it is piped), check it "
            "with one request to CATS, and store it in the OS keyring only if CATS accepts it."
        ),
    )
    # Neither is a real way in: they catch a key typed on the command line, so that it is refused
    # without argparse echoing it back in an "unrecognized arguments" error.
    set_parser.add_argument("argv_key", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    set_parser.add_argument(
        "--key", "--api-key", "--token", dest="argv_key_option", nargs="?", const="", help=argparse.SUPPRESS
    )
    set_parser.set_defaults(func=run_set)

    status_parser = actions.add_parser(
        "status",
        parents=[common, timeout],
        help="say whether the stored key works (one request to CATS)",
        description="Check the stored key with one request to CATS and say whether it works, or why not.",
    )
    status_parser.set_defaults(func=run_status)

    clear_parser = actions.add_parser(
        "clear",
        parents=[common],
        help="remove the stored key",
        description="Remove the API key for the CATS URL from the OS keyring.",
    )
    clear_parser.set_defaults(func=run_clear)


def run_set(args: argparse.Namespace) -> int:
    if args.argv_key or args.argv_key_option is not None:
        return _fail(_NO_KEY_ON_ARGV, EXIT_USAGE)
    try:
        url = _url(args)
    except ConfigError as exc:
        return _fail(f"key not stored: {exc.message}")
    keys = KeyringKeyStore()
    try:
        # Before asking for the key or spending a CATS request: is there anywhere to put it?
        previous = keys.get(url)
    except KeyringUnavailableError as exc:
        return _fail(f"key not stored: {exc.message}")
    try:
        key = read_key(sys.stdin)
    except _BadKeyInput as exc:
        return _fail(f"key not stored: {exc}")
    try:
        info = check_connection(url, key, args.timeout)
    except CatsError as exc:
        return _fail(f"key not stored: {explain_cats_error(exc, url, key)}")
    try:
        keys.set(url, key)
        backend = keys.backend_name()
    except KeyringUnavailableError as exc:
        return _fail(f"key not stored: {exc.message}")
    replaced = " (replacing the previous key)" if previous is not None and previous != key else ""
    print(f"CATS accepted the key ({describe(info)}); stored it for {url} in {backend}{replaced}.")
    try:
        # So a daemon started without --cats-url (the native host starts one on demand) uses this site.
        remember_url(url)
    except OSError as exc:
        return _fail(f"the key is stored, but the CATS URL could not be kept for the daemon ({exc})")
    return EXIT_OK


def _url(args: argparse.Namespace) -> str:
    """--cats-url, else the URL the companion was set up with (ConfigError when its file is damaged)."""
    given: str | None = args.cats_url
    return given if given is not None else configured_url()


def run_status(args: argparse.Namespace) -> int:
    demo = running_demo()
    if demo is not None and args.cats_url is None:
        # The demo's daemon takes the sandbox's demo key directly; the keyring plays no part.
        print(
            f"the demo is running: its daemon uses the CATS sandbox at {demo.sandbox_url} with the "
            "sandbox's demo key (not the keyring). For a real CATS account, stop the demo and run "
            "`cats-companion key set`."
        )
        return EXIT_OK
    try:
        url = _url(args)
    except ConfigError as exc:
        return _fail(f"not connected: {exc.message}")
    keys = KeyringKeyStore()
    try:
        key = keys.get(url)
    except KeyringUnavailableError as exc:
        return _fail(f"not connected: the keyring is unavailable. {exc.message}")
    if key is None:
        return _fail(f"not connected: no API key is stored for {url}. Run `cats-companion key set`.")
    try:
        info = check_connection(url, key, args.timeout)
    except CatsError as exc:
        return _fail(f"not connected: {explain_cats_error(exc, url, key)}")
    print(f"connected to {url} ({describe(info)})")
    return EXIT_OK


def run_clear(args: argparse.Namespace) -> int:
    try:
        url = _url(args)
    except ConfigError as exc:
        return _fail(f"key not removed: {exc.message}")
    try:
        removed = KeyringKeyStore().delete(url)
    except KeyringUnavailableError as exc:
        return _fail(f"key not removed: {exc.message}")
    if removed:
        print(f"Removed the API key for {url} from the keyring.")
    else:
        print(f"No API key was stored for {url}; nothing to remove.")
    return EXIT_OK


def read_key(stdin: TextIO | None) -> ApiKey:
    """The key from a hidden prompt on a terminal, else the first line of stdin."""
    if stdin is not None and stdin.isatty():
        try:
            text = getpass.getpass(PROMPT)
        except EOFError:
            text = ""
    else:
        text = stdin.readline() if stdin is not None else ""
    text = text.strip()
    if not text:
        raise _BadKeyInput(
            "no API key was given: paste it at the prompt, or pipe it on stdin "
            "(`cats-companion key set < key-file`)"
        )
    if not (text.isascii() and text.isprintable()) or any(ch.isspace() for ch in text):
        raise _BadKeyInput(
            "what was given is not an API key: it contains spaces, control or non-ASCII characters; "
            "give the key alone, on one line"
        )
    return ApiKey(text)


def check_connection(url: str, key: ApiKey, timeout: float) -> ConnectionInfo:
    """One request to CATS with `key`; raises the CatsError that says what went wrong."""
    # Imported here so that `cats-companion --help` and the other commands do not load aiohttp.
    from companion.cats.client import CatsClient

    async def check() -> ConnectionInfo:
        async with CatsClient(url, key, timeout=timeout) as client:
            return await client.check_connection()

    return asyncio.run(check())


def describe(info: ConnectionInfo) -> str:
    """The CATS site the key belongs to and, when CATS said so, the requests left this hour."""
    site = info.subdomain or (f"#{info.site_id}" if info.site_id is not None else "of unknown name")
    text = f"site {site}"
    if info.mode:
        text += f", mode {info.mode}"
    if info.budget.source == "headers":
        text += f", {info.budget.remaining} of {info.budget.limit} requests left this hour"
    return text


def explain_cats_error(exc: CatsError, url: str, key: ApiKey) -> str:
    """What went wrong, in the user's terms; never quotes the key even if an error message did."""
    if isinstance(exc, CatsAuthError):
        return (
            f"CATS at {url} refused the API key (HTTP {exc.status or 401}). Check that it is a v3 API "
            "key, copied whole, and that it has not been revoked."
        )
    detail = exc.message.replace(key.reveal(), "<api key redacted>")
    if isinstance(exc, CatsForbiddenError):
        return f"CATS at {url} accepted the key but its user is not allowed to read ({detail})."
    if isinstance(exc, CatsRateLimitedError):
        return f"CATS's request limit is used up; try again in {exc.retry_after:.0f} s ({detail})."
    if isinstance(exc, CatsNetworkError):
        return f"CATS could not be reached at {url} ({detail}). Check the URL and your connection."
    if isinstance(exc, CatsUnavailableError):
        return f"CATS at {url} is not answering properly ({detail}). Try again later."
    return f"CATS at {url} answered unexpectedly ({detail})."


def _cats_url(text: str) -> str:
    try:
        return normalize_base_url(text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(exc.message) from None


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= 300:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds between 0 and 300")
    return value


def _fail(message: str, code: int = EXIT_FAILURE) -> int:
    print(message, file=sys.stderr)
    return code
