"""The `cats-companion` command: one argparse parser, each subcommand owned by its feature module."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from companion import __version__

#: Feature modules that each expose `register(subparsers)`; the parser they add sets `func`,
#: which takes the parsed namespace and returns the exit status. Imported only when the CLI
#: runs, so a feature's dependencies never slow down another's start.
COMMAND_MODULES: tuple[str, ...] = (
    "companion.cli.demo",
    "companion.cli.serve",
    "companion.cli.sandbox",
    "companion.cli.key",
    "companion.cli.host",
    "companion.cli.doctor",
    "companion.cli.sync",
    "companion.cli.lookup",
    "companion.cli.bench",
    "companion.cli.settings",
    "companion.cli.outbox",
    "companion.cli.team",
    "companion.cli.cats",
)

Handler = Callable[[argparse.Namespace], int]


#: Log level for every command (DEBUG, INFO, WARNING, ...); WARNING unless set.
LOG_LEVEL_ENV = "CATS_COMPANION_LOG_LEVEL"


class _Parser(argparse.ArgumentParser):
    """argparse, except that a usage error never echoes the arguments it did not recognise.

    A user who pastes the API key on the command line by mistake must not see it printed back
    (into a terminal scrollback, a CI log or a bug report).
    """

    def error(self, message: str) -> NoReturn:
        if message.startswith("unrecognized arguments:"):
            count = len(message.split(":", 1)[1].split())
            message = f"{count} unrecognized argument(s) (not shown, in case one is a secret)"
        super().error(message)


def _configure_logging(args: argparse.Namespace) -> None:
    level_name = (getattr(args, "log_level", None) or os.environ.get(LOG_LEVEL_ENV) or "WARNING").upper()
    logging.basicConfig(
        level=getattr(logging, level_name, logging.WARNING),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="cats-companion",
        description="Local companion between your browser and the CATS applicant tracking system.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--log-level",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        type=str.upper,
        help=f"how much to log to stderr (default WARNING, or ${LOG_LEVEL_ENV})",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _configure_logging(args)
    handler: Handler = args.func
    try:
        return handler(args)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
