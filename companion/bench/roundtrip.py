"""`cats-companion bench roundtrip`: a lookup from a content script to the daemon and back, in Chromium.

What it drives, all in a temporary directory and on loopback only:

- the CATS sandbox in this process, and the companion daemon against it in its own process with its
  company cache synced (the lookup answers from the cache, as it does for a recruiter);
- Debian's Chromium through Playwright, headless, with the unpacked extension loaded and our native
  host installed into the temporary profile (`install-host --user-data-dir`), plus a bare stdlib
  echo host registered in the same profile under a second host name;
- a profile page (served to the browser by Playwright's router under a linkedin.com URL, so the
  content script is injected exactly as for a recruiter).

From inside the content script's own world (reached over CDP), it times, interleaved so that both
see the same machine load: a `company.lookup` through the worker's native port, the host and the
daemon and back, and the same trip with the echo host in place of ours (content script -> worker ->
echo host -> back). Both use one runtime port from the content script to the worker (a bench-only
listener the command adds to the worker), so the only difference is our host and daemon against a
bare echo. It also times the lookup through the card's real path (its client, `shared/client.js`,
over its events port and the worker's router), the same by `runtime.sendMessage` (how the client
asks while no events port is open), and the host's cold start: `connectNative` to the first reply,
a new host each time.

Extension pages time with 0.1 ms resolution and a trip takes about 1 ms, so each sample is a batch
of `--batch` sequential trips timed together, divided by their number. The headline is the ratio of
the lookup's p50 to the echo's (absolute times on a shared machine are noise). Targets: at most 3
times the echo round trip, and a lookup p50 of at most 2 ms. `--json` prints one JSON object as
the last line.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import math
import os
import shutil
import statistics
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

from companion import paths
from companion.bench.browser import CHROMIUM, CHROMIUM_ARGS
from companion.cli import host
from companion.errors import CompanionError
from companion.nmhost.config import AUTOSTART_ENV, EXTENSION_ID
from companion.nmhost.locations import HOME_ENV

ECHO_HOST: Final = "com.cats_companion.bench_echo"
PROFILE_URL: Final = "https://www.linkedin.com/in/bench-roundtrip-person/"
TARGET_P50_MS: Final = 2.0
TARGET_RATIO: Final = 3.0
DEFAULT_SAMPLES: Final = 100
#: Trips per sample: 10 trips of ~1 ms make a sample 100 clock ticks long.
DEFAULT_BATCH: Final = 10
DEFAULT_COMPANIES: Final = 500
#: Every wait on the browser is bounded (milliseconds).
WAIT_MS: Final = 20_000

ECHO_SCRIPT: Final = '''"""A bare native-messaging echo host: each frame back unchanged (the baseline)."""
import struct
import sys

read, write = sys.stdin.buffer.read, sys.stdout.buffer
while True:
    header = read(4)
    if len(header) < 4:
        break
    body = read(struct.unpack("=I", header)[0])
    write.write(header + body)
    write.flush()
'''

# Installed into the worker: a runtime port from the content script whose messages are answered by
# the worker's real native port (`companion.request`, set by worker.js) or by the echo host. The
# port is named like the worker's event port so that the worker's own handler keeps it open.
WORKER_LISTENER: Final = """(echoHost) => {
  if (globalThis.__benchListener) return true;
  const pending = new Map();
  let echo = null, nextId = 1;
  const echoPort = () => {
    if (echo) return echo;
    echo = chrome.runtime.connectNative(echoHost);
    echo.onMessage.addListener((m) => {
      const done = pending.get(m.id);
      if (done) { pending.delete(m.id); done(m); }
    });
    echo.onDisconnect.addListener(() => { echo = null; });
    return echo;
  };
  globalThis.__benchListener = (port) => {
    port.onMessage.addListener((m) => {
      if (!m || !m.bench) return;
      const reply = (ok) => port.postMessage({ event: "bench.reply", data: { seq: m.seq, ok } });
      if (m.bench === "echo") {
        const id = nextId++;
        pending.set(id, () => reply(true));
        echoPort().postMessage({ id, type: "company.lookup", params: m.params, v: 1 });
      } else {
        globalThis.companion.request("company.lookup", m.params).then(() => reply(true), () => reply(false));
      }
    });
  };
  chrome.runtime.onConnect.addListener(globalThis.__benchListener);
  return true;
}"""

# Runs in the content script's world: interleaved lookup / echo trips over one port, then the
# lookup through the card's own client, then by runtime.sendMessage (both through the worker's router).
CONTENT_BENCH: Final = """async ({ samples, warmup, batch, params, eventsPort }) => {
  const port = chrome.runtime.connect({ name: eventsPort });
  const waiting = new Map();
  let seq = 0;
  port.onMessage.addListener((m) => {
    if (!m || m.event !== "bench.reply") return;
    const done = waiting.get(m.data.seq);
    if (done) { waiting.delete(m.data.seq); done(m.data); }
  });
  const trip = (kind) => new Promise((resolve, reject) => {
    const s = ++seq;
    const timer = setTimeout(() => { waiting.delete(s); reject(new Error(kind + " timed out")); }, 10000);
    waiting.set(s, (data) => {
      clearTimeout(timer);
      data.ok ? resolve() : reject(new Error(kind + " failed"));
    });
    port.postMessage({ bench: kind, seq: s, params });
  });
  // Extension pages' clock ticks in 0.1 ms and a trip takes about 1 ms: one sample is the mean of
  // `batch` sequential trips, timed together, so the figures are finer than the clock.
  const timed = async (fn) => {
    const t0 = performance.now();
    for (let k = 0; k < batch; k++) await fn();
    return (performance.now() - t0) / batch;
  };
  const lookup = [], echo = [], card = [], message = [];
  for (let i = 0; i < warmup; i++) { await trip("lookup"); await trip("echo"); }
  for (let i = 0; i < samples; i++) {
    lookup.push(await timed(() => trip("lookup")));
    echo.push(await timed(() => trip("echo")));
  }
  port.disconnect();
  // The card's own client (shared/client.js), as the card uses it: subscribed to events, so its
  // requests go on the events port through the worker's router; then by runtime.sendMessage, which
  // is how it asks while no events port is open.
  const { createClient } = await import(chrome.runtime.getURL("shared/client.js"));
  const client = createClient(chrome);
  const stop = client.subscribe("push.state", () => {});
  for (let i = 0; i < warmup; i++) await client.send("company.lookup", params);
  for (let i = 0; i < samples; i++) card.push(await timed(() => client.send("company.lookup", params)));
  stop();
  client.close();
  const viaMessage = async () => {
    const reply = await chrome.runtime.sendMessage({ kind: "native", type: "company.lookup", params });
    if (!reply || !reply.ok) throw new Error("router lookup failed: " + JSON.stringify(reply && reply.error));
  };
  for (let i = 0; i < warmup; i++) await viaMessage();
  for (let i = 0; i < samples; i++) message.push(await timed(viaMessage));
  return { lookup, echo, card, message };
}"""

# Runs in the worker: a new host process per sample, timed from connectNative to its first reply.
COLD_START: Final = """async ({ host, samples }) => {
  const times = [];
  for (let i = 0; i < samples; i++) {
    const t0 = performance.now();
    await new Promise((resolve, reject) => {
      const port = chrome.runtime.connectNative(host);
      const fail = (why) => { clearTimeout(timer); reject(new Error(host + ": " + why)); };
      const timer = setTimeout(() => { port.disconnect(); fail("no answer"); }, 15000);
      port.onMessage.addListener(() => { clearTimeout(timer); port.disconnect(); resolve(); });
      port.onDisconnect.addListener(() => fail(chrome.runtime.lastError?.message || "disconnected"));
      port.postMessage({ id: 1, type: "ping", params: {}, v: 1 });
    });
    times.push(performance.now() - t0);
  }
  return times;
}"""

PROFILE_PAGE: Final = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{name} - {title} - {company} | LinkedIn</title>
<link rel="canonical" href="{url}">
<script type="application/ld+json">{ld}</script></head>
<body><main><h1>{name}</h1><p>{title} at {company}</p></main></body></html>"""


class BenchError(CompanionError):
    """The bench could not run (no browser, no Playwright, the extension did not load...)."""

    code = "bench.failed"


@dataclass(frozen=True)
class Percentiles:
    p50: float
    p90: float
    p99: float
    max: float

    @classmethod
    def of(cls, samples: Sequence[float]) -> Percentiles:
        if not samples:
            raise BenchError("no samples were taken")
        ordered = sorted(samples)

        def rank(q: float) -> float:
            # Nearest rank: a p99 of 100 samples is the 99th, never an interpolation below it.
            return ordered[max(0, math.ceil(q * len(ordered)) - 1)]

        return cls(p50=statistics.median(ordered), p90=rank(0.90), p99=rank(0.99), max=ordered[-1])


@dataclass(frozen=True)
class RoundTrip:
    lookup: Percentiles
    echo: Percentiles
    #: Through the card's own client over its events port, and by runtime.sendMessage.
    card: Percentiles
    message: Percentiles
    host_cold_start: Percentiles
    echo_cold_start: Percentiles
    samples: int
    companies: int
    #: Sequential trips timed together per sample (each sample is their mean).
    batch: int = 1

    @property
    def ratio(self) -> float:
        return self.lookup.p50 / self.echo.p50 if self.echo.p50 > 0 else math.inf

    def meets_targets(self) -> bool:
        return self.lookup.p50 <= TARGET_P50_MS and self.ratio <= TARGET_RATIO

    def to_json(self) -> dict[str, Any]:
        return {
            "lookup_p50_ms": round(self.lookup.p50, 3),
            "lookup_p99_ms": round(self.lookup.p99, 3),
            "echo_p50_ms": round(self.echo.p50, 3),
            "echo_p99_ms": round(self.echo.p99, 3),
            "ratio": round(self.ratio, 2),
            "card_lookup_p50_ms": round(self.card.p50, 3),
            "card_lookup_p99_ms": round(self.card.p99, 3),
            "message_lookup_p50_ms": round(self.message.p50, 3),
            "host_cold_start_ms": round(self.host_cold_start.p50, 1),
            "echo_cold_start_ms": round(self.echo_cold_start.p50, 1),
            "samples": self.samples,
            "batch": self.batch,
            "companies": self.companies,
            "targets": {"lookup_p50_ms": TARGET_P50_MS, "ratio": TARGET_RATIO},
            "meets_targets": self.meets_targets(),
            "detail": {name: asdict(getattr(self, name)) for name in ("lookup", "echo", "card", "message")},
        }


# --- the pieces -------------------------------------------------------------------------------------


def extension_dir() -> Path:
    from companion.cli.demo import extension_dir as beside_package

    folder = beside_package()
    if not (folder / "manifest.json").is_file():
        raise BenchError(f"the unpacked extension is not at {folder}; run the bench from a source checkout")
    return folder


def find_chromium(explicit: str | None) -> str:
    for candidate in (
        explicit,
        shutil.which("chromium"),
        CHROMIUM,
        shutil.which("chromium-browser"),
    ):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise BenchError("no Chromium found: install Debian's `chromium` package or name it with --browser")


def write_echo_host(folder: Path, manifest_dir: Path) -> None:
    """The echo host: a script, a launcher pinning this interpreter (with -S, as ours), and its manifest."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "echo_host.py"
    script.write_text(ECHO_SCRIPT, encoding="utf-8")
    launcher = folder / "echo-host"
    launcher.write_text(f'#!/bin/sh\nexec "{sys.executable}" -S "{script}" "$@"\n', encoding="utf-8")
    launcher.chmod(0o755)
    manifest = host.manifest_for(launcher, [EXTENSION_ID]) | {"name": ECHO_HOST}
    manifest_dir.mkdir(parents=True, exist_ok=True)
    (manifest_dir / f"{ECHO_HOST}.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")


def install_host(user_data_dir: Path, launcher_dir: Path) -> None:
    machine = host.Environment(env=dict(os.environ), launcher_dir=launcher_dir)
    target = host.Target("custom", directory=user_data_dir / "NativeMessagingHosts")
    host.install([target], system=False, extension_ids=[], machine=machine)


def profile_page(name: str, title: str, company: str) -> str:
    ld = json.dumps(
        {
            "@context": "http://schema.org",
            "@type": "Person",
            "name": name,
            "jobTitle": [title],
            "worksFor": [{"@type": "Organization", "name": company}],
            "url": PROFILE_URL,
        }
    )
    return PROFILE_PAGE.format(name=name, title=title, company=company, url=PROFILE_URL, ld=ld)


@contextlib.contextmanager
def companion_home(path: Path) -> Iterator[None]:
    """Point this process (the daemon) and the browser's children (the host) at one temporary home."""
    before = {name: os.environ.get(name) for name in (HOME_ENV, AUTOSTART_ENV)}
    os.environ[HOME_ENV] = str(path)
    # The bench starts the daemon itself: a host that found none must say so, not start another.
    os.environ[AUTOSTART_ENV] = "0"
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.asynccontextmanager
async def companion_stack(companies: int, home: Path) -> AsyncIterator[str]:
    """Sandbox + daemon with a synced cache; yields the name of a cached company to look up.

    The daemon runs in its own process under `home`, as it does for a recruiter: in this process it
    would share an event loop and a CPU with Playwright's client and the sandbox. The sandbox stays
    here; it is idle once the cache is synced.
    """
    from companion.bench.soak import DaemonProcess, write_key_file
    from companion.cli.sync import sync_command
    from companion.sandbox.app import SandboxConfig, start_sandbox

    sandbox = await start_sandbox(SandboxConfig(seed=companies, seed_random=7, rate_limit=0))
    try:
        paths.private_dir(home)
        key_file = write_key_file(home / "cats-key", sandbox.api_key)
        daemon = DaemonProcess(home, cats_url=sandbox.url, key_file=key_file)
        try:
            await daemon.start()
            progress = io.StringIO()
            async with asyncio.timeout(120):
                # The CLI's sync blocks on the daemon's socket: off this loop, which runs the sandbox.
                status = await asyncio.to_thread(sync_command, cats_url=None, full=True, out=progress)
            if status != 0:
                raise BenchError(f"the company sync failed: {progress.getvalue().strip()}")
            company = sandbox.store.list_records("companies", 1, 1).items[0]["name"]
            yield str(company)
        finally:
            await daemon.stop()
    finally:
        await sandbox.close()


async def _content_context(cdp: Any, contexts: dict[int, dict[str, Any]]) -> int:
    """The execution context of our content script in the page (an isolated world of our extension)."""
    origin = f"chrome-extension://{EXTENSION_ID}"
    async with asyncio.timeout(WAIT_MS / 1000):
        while True:
            for context_id, context in contexts.items():
                aux = context.get("auxData") or {}
                if aux.get("type") == "isolated" and context.get("origin") == origin:
                    return context_id
            await asyncio.sleep(0.05)


async def drive_browser(
    chromium: str,
    user_data_dir: Path,
    company: str,
    *,
    samples: int,
    warmup: int,
    cold_starts: int,
    batch: int = DEFAULT_BATCH,
) -> dict[str, list[float]]:
    try:
        from playwright.async_api import async_playwright
    except ImportError as exc:
        raise BenchError("Playwright is not installed (pip install playwright)") from exc
    from companion.cli.host import HOST_NAME

    folder = extension_dir()
    page_html = profile_page("Bench Person", "Recruiting Engineer", company)
    async with async_playwright() as pw:
        context = await pw.chromium.launch_persistent_context(
            str(user_data_dir),
            executable_path=chromium,
            headless=True,
            args=[f"--disable-extensions-except={folder}", f"--load-extension={folder}", *CHROMIUM_ARGS],
            ignore_default_args=["--disable-extensions"],
            env=dict(os.environ),
        )
        try:
            worker = next((w for w in context.service_workers if EXTENSION_ID in w.url), None)
            if worker is None:
                worker = await context.wait_for_event(
                    "serviceworker", predicate=lambda w: EXTENSION_ID in w.url, timeout=WAIT_MS
                )
            await worker.evaluate(WORKER_LISTENER, ECHO_HOST)

            page = await context.new_page()

            async def serve(route: Any) -> None:
                if route.request.url.startswith(PROFILE_URL):
                    await route.fulfill(status=200, content_type="text/html; charset=utf-8", body=page_html)
                elif route.request.url.startswith(f"chrome-extension://{EXTENSION_ID}/"):
                    await route.continue_()  # the content script's own modules
                else:
                    await route.abort()

            await page.route("**/*", serve)
            cdp = await context.new_cdp_session(page)
            contexts: dict[int, dict[str, Any]] = {}
            cdp.on(
                "Runtime.executionContextCreated",
                lambda e: contexts.update({e["context"]["id"]: e["context"]}),
            )
            await cdp.send("Runtime.enable")
            await page.goto(PROFILE_URL, wait_until="domcontentloaded", timeout=WAIT_MS)
            context_id = await _content_context(cdp, contexts)
            params = {"name": company}
            options = {
                "samples": samples,
                "warmup": warmup,
                "batch": batch,
                "params": params,
                "eventsPort": "companion.events",
            }
            call = f"({CONTENT_BENCH})({json.dumps(options)})"
            result = await cdp.send(
                "Runtime.evaluate",
                {"expression": call, "contextId": context_id, "awaitPromise": True, "returnByValue": True},
            )
            if "exceptionDetails" in result:
                detail = (
                    result["exceptionDetails"].get("exception", {}).get("description")
                    or result["exceptionDetails"]
                )
                raise BenchError(f"the content-script bench failed: {detail}")
            trips: dict[str, list[float]] = result["result"]["value"]
            trips["host_cold"] = await worker.evaluate(
                COLD_START, {"host": HOST_NAME, "samples": cold_starts}
            )
            trips["echo_cold"] = await worker.evaluate(
                COLD_START, {"host": ECHO_HOST, "samples": cold_starts}
            )
            return trips
        finally:
            await context.close()


async def run_bench(
    *,
    samples: int,
    warmup: int,
    companies: int,
    cold_starts: int,
    chromium: str | None,
    batch: int = DEFAULT_BATCH,
) -> RoundTrip:
    browser = find_chromium(chromium)
    with tempfile.TemporaryDirectory(prefix="cats-bench-roundtrip-") as tmp:
        root = Path(tmp)
        profile = root / "chromium-profile"
        with companion_home(root / "home"):
            install_host(profile, root / "native-host")
            write_echo_host(root / "echo-host", profile / "NativeMessagingHosts")
            async with companion_stack(companies, root / "home") as company:
                trips = await drive_browser(
                    browser,
                    profile,
                    company,
                    samples=samples,
                    warmup=warmup,
                    cold_starts=cold_starts,
                    batch=batch,
                )
    return RoundTrip(
        lookup=Percentiles.of(trips["lookup"]),
        echo=Percentiles.of(trips["echo"]),
        card=Percentiles.of(trips["card"]),
        message=Percentiles.of(trips["message"]),
        host_cold_start=Percentiles.of(trips["host_cold"]),
        echo_cold_start=Percentiles.of(trips["echo_cold"]),
        samples=samples,
        companies=companies,
        batch=batch,
    )


# --- the command ------------------------------------------------------------------------------------


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "roundtrip",
        help="time a company lookup from the extension's content script to the daemon and back",
        description=(
            "Drive headless Chromium with the extension and the native host against an in-process sandbox, "
            "and time a company lookup from the content script through the worker, the host and the daemon, "
            "next to the same trip through a bare echo host; plus the host's cold start."
        ),
    )
    parser.add_argument(
        "--samples", type=_positive, default=DEFAULT_SAMPLES, help="timed samples (batches) of each kind"
    )
    parser.add_argument(
        "--batch",
        type=_positive,
        default=DEFAULT_BATCH,
        help=f"sequential trips timed together per sample, finer than the clock (default {DEFAULT_BATCH})",
    )
    parser.add_argument("--warmup", type=int, default=20, help="untimed trips first (default 20)")
    parser.add_argument(
        "--companies", type=_positive, default=DEFAULT_COMPANIES, help="companies in the cache"
    )
    parser.add_argument("--cold-starts", type=_positive, default=5, help="host cold starts to time")
    parser.add_argument("--browser", help="the Chromium executable (default: chromium on PATH)")
    parser.add_argument("--json", action="store_true", help="end with one JSON object on the last line")
    parser.set_defaults(func=run)


def report(result: RoundTrip) -> str:
    lookup, echo, card, message = result.lookup, result.echo, result.card, result.message
    verdict = "meets" if result.meets_targets() else "MISSES"
    return "\n".join(
        [
            # The headline: absolute times on a shared machine are noise, the ratio to the echo is not.
            f"Lookup / echo round trip: {result.ratio:.2f}x (target <= {TARGET_RATIO}x)",
            f"Round trips from the content script ({result.samples} samples of {result.batch} trips each, "
            f"{result.companies} companies cached):",
            f"  company lookup (worker, host, daemon)  p50 {lookup.p50:7.3f} ms   p99 {lookup.p99:7.3f} ms",
            f"  echo (worker, bare echo host)          p50 {echo.p50:7.3f} ms   p99 {echo.p99:7.3f} ms",
            f"  lookup by the card's client (port)     p50 {card.p50:7.3f} ms   p99 {card.p99:7.3f} ms",
            f"  lookup by runtime.sendMessage          p50 {message.p50:7.3f} ms   p99 {message.p99:7.3f} ms",
            f"  lookup / echo                          {result.ratio:.2f}x",
            f"Host cold start (connectNative to first reply): ours {result.host_cold_start.p50:.1f} ms, "
            f"echo {result.echo_cold_start.p50:.1f} ms",
            f"Targets: lookup p50 <= {TARGET_P50_MS} ms and <= {TARGET_RATIO}x echo: {verdict}",
        ]
    )


def run(args: argparse.Namespace) -> int:
    try:
        result = asyncio.run(
            run_bench(
                samples=args.samples,
                warmup=args.warmup,
                companies=args.companies,
                cold_starts=args.cold_starts,
                chromium=args.browser,
                batch=args.batch,
            )
        )
    except (CompanionError, host.InstallError) as exc:
        print(f"cats-companion bench roundtrip: {exc}", file=sys.stderr)
        return 1
    print(report(result), flush=True)
    if args.json:
        print(json.dumps(result.to_json(), sort_keys=True), flush=True)
    return 0
