"""`cats-companion sync`: sync the company cache now, through the running daemon or in this process.

With a daemon running for this user (daemon.json in the runtime dir), the daemon is asked to sync
and its progress is followed over the loopback API, so two processes never sync the same cache.
Without one, the sync runs here with the key from the OS keyring. Progress goes to stderr: one
redrawn line on a terminal, one line per page otherwise. Exit status 0 on success, 1 on failure.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Callable
from typing import Any, Final, TextIO

import aiohttp

from companion.errors import CompanionError, ConfigError, KeyMissingError
from companion.keystore import DEFAULT_BASE_URL, load_key, normalize_base_url
from companion.server import runtime
from companion.services.sync_state import SyncProgress

EXIT_OK: Final = 0
EXIT_FAILURE: Final = 1
#: How often the daemon's progress is read while following it.
POLL_SECONDS: Final = 0.5
_BAR_WIDTH: Final = 24
_HTTP_TIMEOUT: Final = aiohttp.ClientTimeout(total=10)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "sync",
        help="sync the company cache from CATS now",
        description=(
            "Bring the local company cache up to date with CATS. If the companion daemon is running, "
            "it does the sync and this command shows its progress; otherwise the sync runs here, "
            "with the API key from the OS keyring."
        ),
    )
    parser.add_argument(
        "--cats-url", default=None, help=f"CATS API base URL (default: the daemon's, else {DEFAULT_BASE_URL})"
    )
    parser.add_argument(
        "--full",
        action="store_true",
        help="read every company again (also removes companies deleted in CATS), not only the changes",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    return asyncio.run(sync_command(cats_url=args.cats_url, full=args.full, out=sys.stderr))


async def sync_command(*, cats_url: str | None, full: bool, out: TextIO, poll: float = POLL_SECONDS) -> int:
    """The whole command; returns the exit status."""
    printer = ProgressPrinter(out)
    try:
        url = normalize_base_url(cats_url) if cats_url is not None else None
        daemon = await _running_daemon()
        if daemon is not None:
            return await _through_daemon(daemon, url, full, printer, poll)
        return await _in_process(url or DEFAULT_BASE_URL, full, printer)
    except CompanionError as exc:
        printer.say(f"cats-companion sync: {exc.message} ({exc.code})")
    except DaemonRefusal as exc:
        printer.say(f"cats-companion sync: {exc.message} ({exc.code})")
    return EXIT_FAILURE


class DaemonRefusal(Exception):
    """The daemon answered with an error (`{"error": {"code", "message"}}`)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


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
        self._drawn = False

    def update(self, progress: SyncProgress) -> None:
        self.show(progress.phase, progress.pages_done, progress.pages_total, progress.companies_done)

    def show(self, phase: str, pages_done: int, pages_total: int | None, companies_done: int) -> None:
        if pages_done == self._last_pages:
            return
        self._last_pages = pages_done
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
        if total and self._first is not None:
            started, first_done = self._first
            pace = (now - started) / (done - first_done) if done > first_done else None
            if pace is not None:
                parts.append(f"~{_duration(pace * max(0, total - done))} left")
        return "  ".join(parts)

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


# --- in this process ----------------------------------------------------------------------------------


async def _in_process(url: str, full: bool, printer: ProgressPrinter) -> int:
    from companion.cats.client import CatsClient
    from companion.services.company_sync import CompanySync
    from companion.store import open_database
    from companion.store.companies import CompanyCache

    # keyring may block on D-Bus: keep it off the event loop.
    key = await asyncio.to_thread(load_key, url)
    if key is None:
        raise KeyMissingError(
            f"no CATS API key stored for {url}; run `cats-companion key set --cats-url {url}`"
        )
    db = await open_database()
    try:
        async with CatsClient(url, key) as client:
            cache = CompanyCache(db)
            engine = CompanySync(client, cache)
            engine.on_progress(printer.update)
            outcome = await engine.run(full=full)
            count = await cache.count()
    finally:
        await db.close()
    removed = f", {outcome.removed:,} removed" if outcome.removed else ""
    printer.say(
        f"company cache synced ({outcome.phase}): {count:,} companies, "
        f"{outcome.upserted:,} updated{removed}, {outcome.pages} pages"
    )
    return EXIT_OK


# --- through the daemon --------------------------------------------------------------------------------


async def _running_daemon() -> runtime.RuntimeInfo | None:
    run_dir = runtime.runtime_dir()
    info = runtime.read_runtime_file(run_dir)
    if info is None or not runtime.pid_alive(info.pid) or not await runtime.answers(run_dir, info):
        return None
    return info


async def _through_daemon(
    daemon: runtime.RuntimeInfo, url: str | None, full: bool, printer: ProgressPrinter, poll: float
) -> int:
    base = f"http://127.0.0.1:{daemon.port}"
    headers = {"Authorization": f"Bearer {daemon.token}"}
    async with aiohttp.ClientSession(base_url=base, headers=headers, timeout=_HTTP_TIMEOUT) as http:
        if url is not None:
            status = await _call(http, "GET", "/api/status")
            served = status.get("cats", {}).get("base_url")
            if served != url:
                raise ConfigError(
                    f"the running companion daemon syncs {served}, not {url}; "
                    "leave out --cats-url or restart the daemon with that URL"
                )
        answer = await _call(http, "POST", "/api/sync", {"full": full})
        if not answer.get("started"):
            printer.say("a sync is already running; following it")
        state = answer.get("state", {})
        while state.get("running"):
            _show(printer, state)
            await asyncio.sleep(poll)
            state = await _call(http, "GET", "/api/sync")
    error = state.get("last_error")
    if error:
        raise DaemonRefusal(str(error.get("code")), str(error.get("message")))
    printer.say(f"company cache synced: {state.get('companies_in_cache', 0):,} companies")
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


async def _call(
    http: aiohttp.ClientSession, method: str, path: str, body: dict[str, Any] | None = None
) -> dict[str, Any]:
    try:
        async with http.request(method, path, json=body) as response:
            payload = await response.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        raise CompanionError(
            f"the companion daemon did not answer {method} {path}: {type(exc).__name__}"
        ) from None
    if not isinstance(payload, dict):
        raise CompanionError(f"the companion daemon sent an unreadable answer to {method} {path}")
    if response.status >= 400:
        error = payload.get("error") or {}
        raise DaemonRefusal(
            str(error.get("code") or "internal"), str(error.get("message") or response.status)
        )
    return payload
