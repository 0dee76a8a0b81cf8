"""`cats-companion sync`: sync the company cache now, in this user's daemon, and follow its progress.

The daemon owns the cache, so it does the sync (started when none runs, with `--cats-url` when
given) and two processes never sync the same cache. The command asks it through the CLI's one
client (companion.cli.daemon_client) and reads the sync state until the run ends. Progress goes to
stderr: one redrawn line on a terminal, one line per page otherwise. Exit status 0 on success,
1 on failure.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final, TextIO

from companion.cli.daemon_client import CALLER, DaemonClient, DaemonRefusal, error_of
from companion.errors import CompanionError, ConfigError
from companion.keystore import DEFAULT_BASE_URL, normalize_base_url
from companion.nmhost.link import daemon_command

if TYPE_CHECKING:
    from companion.services.sync_state import SyncProgress

EXIT_OK: Final = 0
EXIT_FAILURE: Final = 1
#: How often the daemon's progress is read while following it.
POLL_SECONDS: Final = 0.5
#: The daemon's sync routes (no native message type covers the sync yet).
_BAR_WIDTH: Final = 24


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "sync",
        help="sync the company cache from CATS now",
        description=(
            "Bring the local company cache up to date with CATS. The companion daemon does the sync "
            "(it is started if it is not running) and this command shows its progress."
        ),
    )
    parser.add_argument(
        "--cats-url",
        default=None,
        help=f"CATS API base URL: must be the running daemon's; a daemon started here uses it "
        f"(default: the daemon's, else {DEFAULT_BASE_URL})",
    )
    parser.add_argument(
        "--full",
        action="store_true",
        help="read every company again (also removes companies deleted in CATS), not only the changes",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    return sync_command(cats_url=args.cats_url, full=args.full, out=sys.stderr)


def sync_command(
    *,
    cats_url: str | None,
    full: bool,
    out: TextIO,
    poll: float = POLL_SECONDS,
    client: DaemonClient | None = None,
) -> int:
    """The whole command; returns the exit status. Blocks: call it off any event loop.

    `client` replaces the one made here (which starts the daemon, for `cats_url`, when none runs).
    """
    printer = ProgressPrinter(out)
    try:
        url = normalize_base_url(cats_url) if cats_url is not None else None
        start = [*daemon_command(), *(["--cats-url", url] if url is not None else [])]
        with client or DaemonClient(f"{CALLER} sync", command=start, notices=out) as daemon:
            return _follow(daemon, url, full, printer, poll)
    except (CompanionError, DaemonRefusal) as exc:
        error = error_of(exc)
        printer.say(f"cats-companion sync: {error.get('message')} ({error.get('code')})")
    return EXIT_FAILURE


# --- progress --------------------------------------------------------------------------------------


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


class ProgressPrinter:
    """Draws sync progress: a bar, pages, companies and the time left (from the pace so far)."""

    def __init__(
        self, stream: TextIO, *, tty: bool | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._stream = stream
        self._tty = stream.isatty() if tty is None else tty
        self._clock = clock
        self._first: tuple[float, int] | None = None
        self._last_pages: int | None = None
        #: The last line drawn: phase, pages total and companies, for `finish`.
        self._shown: tuple[str, int | None, int] | None = None
        self._drawn = False

    def update(self, progress: SyncProgress) -> None:
        self.show(progress.phase, progress.pages_done, progress.pages_total, progress.companies_done)

    def show(self, phase: str, pages_done: int, pages_total: int | None, companies_done: int) -> None:
        if pages_done == self._last_pages:
            return
        self._last_pages = pages_done
        self._shown = (phase, pages_total, companies_done)
        now = self._clock()
        if self._first is None:
            # A resumed scan starts part-way: the pace counts only the pages seen here.
            self._first = (now, pages_done)
        line = self.line(phase, pages_done, pages_total, companies_done, now)
        if self._tty:
            self._stream.write("\r\x1b[K" + line)
            self._drawn = True
        else:
            self._stream.write(line + "\n")
        self._stream.flush()

    def line(self, phase: str, done: int, total: int | None, companies: int, now: float) -> str:
        parts = [f"{phase} sync"]
        if total:
            filled = min(_BAR_WIDTH, _BAR_WIDTH * done // total)
            parts.append(f"[{'#' * filled}{'-' * (_BAR_WIDTH - filled)}] {done}/{total} pages")
        else:
            parts.append(f"{done} pages")
        parts.append(f"{companies:,} companies")
        if total and done < total and self._first is not None:
            started, first_done = self._first
            pace = (now - started) / (done - first_done) if done > first_done else None
            if pace is not None:
                parts.append(f"~{_duration(pace * max(0, total - done))} left")
        return "  ".join(parts)

    def finish(self, companies_in_cache: int) -> None:
        """The run succeeded: draw the bar at its total (polling may have missed the last pages)."""
        if self._shown is None:
            return
        phase, total, seen = self._shown
        if total and self._last_pages != total:
            # A full sync writes every company CATS has: the cache's count is the run's.
            self.show(phase, total, total, max(seen, companies_in_cache) if phase == "full" else seen)

    def close(self) -> None:
        """End the redrawn line, so what follows starts on a line of its own."""
        if self._drawn:
            self._stream.write("\n")
            self._stream.flush()
            self._drawn = False

    def say(self, text: str) -> None:
        self.close()
        self._stream.write(text + "\n")
        self._stream.flush()


# --- in the daemon ------------------------------------------------------------------------------------


def _follow(daemon: DaemonClient, url: str | None, full: bool, printer: ProgressPrinter, poll: float) -> int:
    if url is not None:
        served = daemon.call("status").get("cats", {}).get("base_url")
        if served != url:
            raise ConfigError(
                f"the running companion daemon syncs {served}, not {url}; "
                "leave out --cats-url or restart the daemon with that URL"
            )
    answer = daemon.call("sync.start", {"full": full})
    if not answer.get("started"):
        printer.say("a sync is already running; following it")
    state: dict[str, Any] = answer.get("state", {})
    while state.get("running"):
        _show(printer, state)
        time.sleep(poll)
        state = daemon.call("sync.state")
    error = state.get("last_error")
    if error:
        raise DaemonRefusal(error if isinstance(error, dict) else {"message": str(error)})
    printer.finish(int(state.get("companies_in_cache") or 0))
    summary = f"company cache synced: {state.get('companies_in_cache', 0):,} companies"
    sent = state.get("last_run_requests")
    if isinstance(sent, int):
        summary += f" ({sent:,} CATS request{'' if sent == 1 else 's'})"
    printer.say(summary)
    return EXIT_OK


def _show(printer: ProgressPrinter, state: dict[str, Any]) -> None:
    if state.get("phase") is None:
        return
    printer.show(
        str(state["phase"]),
        int(state.get("pages_done") or 0),
        state.get("pages_total"),
        int(state.get("companies_done") or 0),
    )
