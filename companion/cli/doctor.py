"""`cats-companion doctor`: check the installation end to end and say what to fix.

Each check prints one line, OK, WARN, FAIL or SKIP, and for anything not OK what to do about it.
The exit status is 0 when nothing FAILed. No request goes to CATS unless `--online` is given
(every request counts against the 500 an hour). The offline checks read files (manifests, runtime
files and their modes, settings); the running daemon is asked through the CLI's one client
(companion.cli.daemon_client), which doctor never lets start a daemon: it reports one missing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import stat
import struct
import subprocess
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal, TextIO

from companion import __version__, paths
from companion.cats_url import configured_url
from companion.cli import demo_state, host
from companion.cli.daemon_client import CALLER, DaemonClient, DaemonRefusal
from companion.cli.lookup import age_text
from companion.errors import CompanionError, ConfigError, DaemonTimeoutError
from companion.keystore import DEFAULT_BASE_URL, KeyringKeyStore, normalize_base_url
from companion.nmhost import locations
from companion.nmhost.config import EXTENSION_ID, origin_of

Status = Literal["OK", "WARN", "FAIL", "SKIP"]
#: How long the launcher may take to answer a test frame (a cold Python start plus imports).
LAUNCHER_TIMEOUT: Final = 15.0
#: How long the daemon may take to answer doctor's questions.
HTTP_TIMEOUT: Final = 5.0
#: Any id other than ours: the launcher must refuse it, which proves it runs our host.
_PROBE_ORIGIN: Final = "chrome-extension://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/"


@dataclass(frozen=True)
class Check:
    status: Status
    title: str
    detail: str
    fix: str | None = None

    def render(self) -> str:
        line = f"{self.status:<5} {self.title}: {self.detail}"
        return line + (f"\n      -> {self.fix}" if self.fix else "")


@dataclass
class Options:
    machine: host.Environment = field(default_factory=host.Environment)
    user_data_dirs: Sequence[Path] = ()
    cats_url: str | None = None
    online: bool = False
    #: Whether to run each launcher once with a test frame (slow-ish: a Python start).
    run_launchers: bool = True


def python_check() -> Check:
    return Check(
        "OK",
        "python",
        f"Python {platform.python_version()} at {sys.executable}; cats-companion {__version__}",
    )


def paths_check() -> Check:
    """Where the daemon and the native host meet (both compute it with companion.nmhost.locations)."""
    return Check("OK", "runtime dir", locations.runtime_dir())


# --- host manifests and launchers -------------------------------------------------------------


def manifest_locations(options: Options) -> Iterator[tuple[str, Path, bool]]:
    """(label, manifest path, browser present) for every place a manifest of ours may be."""
    machine = options.machine
    for directory in options.user_data_dirs:
        yield (
            f"--user-data-dir {directory}",
            Path(directory) / "NativeMessagingHosts" / host.MANIFEST_FILE,
            True,
        )
    if machine.platform == "win32":
        return
    for browser in host.BROWSERS:
        data_dir = machine.user_data_dir(browser)
        yield browser, data_dir / "NativeMessagingHosts" / host.MANIFEST_FILE, data_dir.is_dir()
        dirs = host.BROWSER_DIRS[browser]
        system = dirs.mac_system if machine.platform == "darwin" else dirs.linux_system
        if system is not None:
            yield f"{browser} (system)", Path(system) / host.MANIFEST_FILE, False


def manifest_problems(manifest: Path) -> tuple[list[str], Path | None]:
    """What is wrong with a host manifest, and the launcher it names."""
    try:
        raw = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return [f"cannot be read as JSON ({exc})"], None
    if not isinstance(raw, dict):
        return ["is not a JSON object"], None
    problems = []
    if raw.get("name") != host.HOST_NAME:
        problems.append(f"its name is {raw.get('name')!r}, not {host.HOST_NAME!r} (Chrome will not find it)")
    if raw.get("type") != "stdio":
        problems.append('its type is not "stdio"')
    origins = raw.get("allowed_origins")
    if not isinstance(origins, list) or origin_of(EXTENSION_ID) not in origins:
        problems.append(f"allowed_origins does not list our extension ({origin_of(EXTENSION_ID)})")
    launcher_path = raw.get("path")
    launcher = Path(launcher_path) if isinstance(launcher_path, str) else None
    if launcher is None or not launcher.is_absolute():
        problems.append("its path is not absolute (Chrome requires an absolute path)")
        launcher = None
    elif not launcher.exists():
        problems.append(f"its launcher {launcher} does not exist")
    elif not host.is_executable(launcher):
        problems.append(f"its launcher {launcher} is not executable")
    return problems, launcher


def manifest_checks(options: Options) -> tuple[list[Check], list[Path]]:
    checks: list[Check] = []
    launchers: list[Path] = []
    found_any = browser_seen = False
    reinstall = "run `cats-companion install-host` again"
    for label, manifest, browser_present in manifest_locations(options):
        browser_seen = browser_seen or browser_present
        if not manifest.exists():
            if browser_present:
                checks.append(
                    Check(
                        "WARN",
                        f"host manifest ({label})",
                        f"{manifest} is missing, so this browser cannot reach the companion",
                        "run `cats-companion install-host`",
                    )
                )
            continue
        found_any = True
        problems, launcher = manifest_problems(manifest)
        if problems:
            checks.append(
                Check("FAIL", f"host manifest ({label})", f"{manifest}: {'; '.join(problems)}", reinstall)
            )
        else:
            checks.append(Check("OK", f"host manifest ({label})", str(manifest)))
        if launcher is not None and launcher.exists() and launcher not in launchers:
            launchers.append(launcher)
    if not found_any and not browser_seen:
        # Nothing is broken yet: there is no browser to register with.
        checks.append(
            Check(
                "WARN",
                "host manifest",
                "no Chrome, Chromium, Edge, Brave or Vivaldi profile found for this user, so no browser "
                "can reach the companion yet",
                "install one and start it once, then run `cats-companion install-host` "
                "(or add --browser NAME / --user-data-dir DIR)",
            )
        )
    elif not found_any:
        checks.append(
            Check(
                "FAIL",
                "host manifest",
                "no browser has the CATS Companion native host registered",
                "run `cats-companion install-host` (add --browser NAME if your browser was not found)",
            )
        )
    return checks, launchers


def launcher_checks(launcher: Path, *, run: bool) -> list[Check]:
    title = f"launcher {launcher}"
    interpreter = host.launcher_interpreter(launcher)
    if interpreter is None:
        return [Check("WARN", title, "not written by install-host; cannot tell which Python it runs")]
    if not host.is_executable(Path(interpreter)):
        return [
            Check(
                "FAIL",
                title,
                f"its Python {interpreter} no longer exists (was the virtualenv moved or removed?)",
                "run `cats-companion install-host` again from the installation you use",
            )
        ]
    checks = []
    if os.path.realpath(interpreter) != os.path.realpath(sys.executable):
        checks.append(
            Check(
                "WARN",
                title,
                f"runs {interpreter}, not this installation's {sys.executable}",
                "run `cats-companion install-host` from the installation you mean to use",
            )
        )
    if run:
        checks.append(_probe_launcher(launcher, title))
    else:
        checks.append(Check("OK", title, f"runs {interpreter}"))
    return checks


def _probe_launcher(launcher: Path, title: str) -> Check:
    """Start the launcher as Chrome would, for a foreign origin: our host answers with one refusal frame."""
    try:
        done = subprocess.run(  # noqa: S603 -- the launcher path comes from our own manifest
            [str(launcher), _PROBE_ORIGIN],
            input=b"",
            capture_output=True,
            timeout=LAUNCHER_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Check("FAIL", title, f"could not be run ({exc})", "run `cats-companion install-host` again")
    reply = _first_frame(done.stdout)
    code = reply.get("error", {}).get("code") if isinstance(reply, dict) else None
    if code == "auth.origin":
        return Check("OK", title, "starts the native host (it answered a test message)")
    stderr = done.stderr.decode("utf-8", "replace").strip().splitlines()
    return Check(
        "FAIL",
        title,
        f"did not answer like the native host (exit {done.returncode}"
        + (f": {stderr[-1]}" if stderr else "")
        + ")",
        "run `cats-companion install-host` again",
    )


def _first_frame(data: bytes) -> Any:
    if len(data) < 4:
        return None
    (size,) = struct.unpack("=I", data[:4])
    try:
        return json.loads(data[4 : 4 + size])
    except ValueError:
        return None


# --- the daemon ------------------------------------------------------------------------------------


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def daemon_checks() -> tuple[list[Check], dict[str, Any] | None, dict[str, Any] | None]:
    """Runtime files and permissions, and whether the daemon answers; also its status and sync state."""
    run_dir = Path(locations.runtime_dir())
    checks: list[Check] = []
    not_running = Check(
        "WARN",
        "daemon",
        "not running",
        "nothing to do: the native host starts it when the browser needs it (or run `cats-companion serve`)",
    )
    if not run_dir.exists():
        return [not_running], None, None
    problem = locations.private_dir_problem(str(run_dir))
    if problem is not None:
        checks.append(
            Check("FAIL", "runtime dir", problem, f"remove {run_dir}; the daemon recreates it privately")
        )
        return checks, None, None
    for name, wanted in ((locations.RUNTIME_FILE_NAME, 0o600), (locations.SOCKET_NAME, 0o600)):
        path = run_dir / name
        if path.exists() and os.name == "posix" and _mode(path) & 0o077:
            checks.append(
                Check(
                    "FAIL",
                    name,
                    f"{path} has mode {_mode(path):04o}, not {wanted:04o}",
                    "stop the daemon and remove the file",
                )
            )
    info = locations.read_daemon_info(str(run_dir))
    if info is None:
        checks.append(not_running)
        return checks, None, None
    with DaemonClient(f"{CALLER} doctor", start=False, timeout=HTTP_TIMEOUT) as daemon:
        try:
            status = daemon.call("status")
        except (CompanionError, DaemonRefusal) as exc:
            checks.append(_silent_daemon(info.pid, exc))
            return checks, None, None
        try:
            # No message type reports the sync state yet: its HTTP route, through the same client.
            sync: dict[str, Any] | None = daemon.call("sync.state")
        except (CompanionError, DaemonRefusal):
            sync = None
    cats = status.get("cats", {})
    checks.append(
        Check(
            "OK",
            "daemon",
            f"running (pid {info.pid}, version {status.get('version')}, up {status.get('uptime_seconds')} s)",
        )
    )
    state = cats.get("state")
    if state == "connected":
        checks.append(Check("OK", "CATS connection", str(cats.get("detail"))))
    elif state in ("bad_key", "not_configured"):
        checks.append(
            Check(
                "FAIL",
                "CATS connection",
                str(cats.get("detail")),
                "run `cats-companion key set` with a valid key",
            )
        )
    elif state == "keyring_locked":
        checks.append(
            Check(
                "FAIL",
                "CATS connection",
                str(cats.get("detail")),
                "unlock the keyring (log in to the desktop, or `gnome-keyring-daemon --unlock`)",
            )
        )
    else:
        checks.append(Check("WARN", "CATS connection", f"{state}: {cats.get('detail')}"))
    return checks, status, sync


def _silent_daemon(pid: int, exc: CompanionError | DaemonRefusal) -> Check:
    """The daemon daemon.json names did not answer doctor's question, and why."""
    if isinstance(exc, DaemonRefusal):
        why = f"it refused doctor's request ({exc.code}: {exc.message})"
    elif isinstance(exc, DaemonTimeoutError):
        why = f"it does not answer within {HTTP_TIMEOUT:.0f} s"
    else:
        why = "it does not answer"
    return Check(
        "FAIL",
        "daemon",
        f"daemon.json names pid {pid}, but {why}",
        "run `cats-companion serve` (it replaces the stale files), or kill that process",
    )


def cache_check(status: dict[str, Any] | None, sync: Any) -> Check:
    if status is None:
        return Check("SKIP", "company cache", "the daemon is not running, so its cache state is unknown")
    if not isinstance(sync, dict):
        return Check("SKIP", "company cache", "this daemon does not report its sync state")
    error = sync.get("last_error")
    if error:
        message = error.get("message") if isinstance(error, dict) else error
        return Check("WARN", "company cache", f"the last sync failed: {message}", "see `cats-companion sync`")
    return Check("OK", "company cache", cache_sentence(sync))


def cache_sentence(sync: dict[str, Any]) -> str:
    """The daemon's sync state as a sentence: companies, when last synced, at what cost, what next."""
    companies = sync.get("companies_in_cache")
    text = f"{companies:,} companies" if isinstance(companies, int) else "no companies yet"
    age = sync.get("cache_age_seconds")
    if isinstance(age, int | float):
        text += f", synced {age_text(age)} ago"
    else:
        text += ", never synced"
    sent = sync.get("last_run_requests")
    if isinstance(sent, int):
        text += f" (the last sync cost {sent:,} CATS request{'' if sent == 1 else 's'})"
    if sync.get("running"):
        text += f"; a sync is running ({sync.get('pages_done') or 0} pages read)"
    elif isinstance(sync.get("next_run_at"), str):
        due = str(sync["next_run_at"])[:19].replace("T", " ")
        text += f"; the next sync is due at {due} UTC"
    elif sync.get("configured") is False:
        text += "; no sync is scheduled until a CATS API key is set"
    return text + "."


# --- the API key and settings ---------------------------------------------------------------------


def key_checks(base_url: str, *, online: bool) -> list[Check]:
    store = KeyringKeyStore()
    try:
        backend = store.backend_name()
        key = store.get(base_url)
    except CompanionError as exc:
        return [Check("FAIL", "keyring", exc.message)]
    checks = [Check("OK", "keyring", backend)]
    if key is None:
        checks.append(
            Check("FAIL", "API key", f"no CATS API key stored for {base_url}", "run `cats-companion key set`")
        )
        return checks
    checks.append(Check("OK", "API key", f"stored for {base_url}"))
    if online:
        checks.append(_online_check(base_url, key))
    return checks


def demo_key_check(demo: demo_state.RunningDemo) -> Check:
    """While the demo runs, its daemon needs no keyring: say what it uses instead."""
    return Check(
        "OK",
        "API key",
        f"the demo is running: its daemon uses the CATS sandbox at {demo.sandbox_url} with the sandbox's "
        "demo key, not the keyring (for a real CATS account: `cats-companion key set` once the demo stops)",
    )


def _online_check(base_url: str, key: Any) -> Check:
    from companion.cats.client import CatsClient

    async def probe() -> str:
        async with CatsClient(base_url, key) as client:
            info = await client.check_connection()
        return f"connected (site {info.subdomain or info.site_id or 'unknown'})"

    try:
        return Check("OK", "CATS (online)", asyncio.run(probe()))
    except CompanionError as exc:
        return Check("FAIL", "CATS (online)", f"{exc.code}: {exc.message}")


def settings_checks() -> list[Check]:
    try:
        from companion.settings.effective import resolve
        from companion.settings.policy import load_policy
        from companion.settings.storage import SETTINGS_FILE, read_user_file
    except ImportError as exc:
        return [Check("SKIP", "settings", f"the settings module is not available here ({exc.name})")]
    policy = load_policy(paths.site_config_dirs(), os.environ)
    user_path = paths.config_dir() / SETTINGS_FILE
    user = read_user_file(user_path)
    effective = resolve(
        policy.policy,
        user.values,
        user_file=str(user_path),
        policy_problems=policy.problems,
        file_problems=(user.problem,) if user.problem else (),
    )
    if not effective.problems:
        where = f"team policy {policy.path}" if policy.policy is not None else "no team policy"
        return [Check("OK", "settings", f"{where}; your settings apply")]
    return [
        Check(
            "WARN", "settings", f"{problem.code}: {problem.message}", "fix the file named, or the team policy"
        )
        for problem in effective.problems
    ]


# --- putting it together ----------------------------------------------------------------------------


def run_checks(options: Options) -> list[Check]:
    checks = [python_check(), paths_check()]
    manifests, launchers = manifest_checks(options)
    checks += manifests
    for launcher in launchers:
        checks += launcher_checks(launcher, run=options.run_launchers)
    daemon, status, sync = daemon_checks()
    checks += daemon
    base_url = options.cats_url or (status or {}).get("cats", {}).get("base_url")
    if base_url is None:
        try:
            # What a daemon started now would use: the URL a key was set up for, else the default.
            base_url = configured_url()
        except ConfigError as exc:
            checks.append(Check("FAIL", "CATS URL", exc.message))
            base_url = DEFAULT_BASE_URL
    demo = demo_state.running_demo()
    if demo is not None and options.cats_url is None:
        checks.append(demo_key_check(demo))
    else:
        checks += key_checks(base_url, online=options.online)
    checks.append(cache_check(status, sync))
    checks += settings_checks()
    return checks


def report(checks: Iterable[Check], out: TextIO) -> int:
    failed = 0
    for check in checks:
        print(check.render(), file=out)
        failed += check.status == "FAIL"
    summary = "everything needed works" if not failed else f"{failed} problem(s) to fix"
    print(f"\n{summary}.", file=out)
    return 1 if failed else 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "doctor",
        help="check the installation and say what to fix",
        description=(
            "Check the native host registration, the daemon, the CATS API key, the cache and the settings. "
            "Makes no request to CATS unless --online is given."
        ),
    )
    parser.add_argument("--online", action="store_true", help="also check the key with one request to CATS")
    parser.add_argument("--cats-url", help="the CATS base URL whose key to check (default: the daemon's)")
    parser.add_argument(
        "--user-data-dir",
        action="append",
        default=[],
        type=Path,
        metavar="DIR",
        help="also check DIR/NativeMessagingHosts (a browser started with --user-data-dir=DIR)",
    )
    parser.add_argument("--no-run", action="store_true", help="do not start the launcher to test it")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        cats_url = normalize_base_url(args.cats_url) if args.cats_url else None
    except ConfigError as exc:
        print(f"cats-companion doctor: {exc.message}", file=sys.stderr)
        return 2
    options = Options(
        user_data_dirs=args.user_data_dir,
        cats_url=cats_url,
        online=args.online,
        run_launchers=not args.no_run,
    )
    return report(run_checks(options), sys.stdout)
