"""`cats-companion install-host` / `uninstall-host`: register the native host with Chromium-family browsers.

Writes a launcher script that pins this interpreter, the host's config beside it, and the host
manifest `com.cats_companion.host.json` into each browser's NativeMessagingHosts directory (Linux,
macOS) or under its registry key (Windows). Everything written is listed, with a hash, in an
install record beside the launcher, so `uninstall-host` removes exactly that: files changed since
are left alone, and so are directories it did not create.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import importlib
import json
import os
import re
import shlex
import stat
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Protocol

import platformdirs

import companion
from companion import paths
from companion.nmhost.config import CONFIG_ENV, EXTENSION_ID, origin_of
from companion.nmhost.locations import APP_NAME, HOME_ENV

HOST_NAME: Final = "com.cats_companion.host"
MANIFEST_FILE: Final = f"{HOST_NAME}.json"
HOST_DESCRIPTION: Final = "CATS Companion: connects the browser extension to the local companion app"
LAUNCHER_POSIX: Final = "cats-companion-host"
LAUNCHER_WINDOWS: Final = "cats-companion-host.bat"
HOST_CONFIG_FILE: Final = "host-config.json"
RECORD_FILE: Final = "install-record.json"
BROWSERS: Final = ("chrome", "chromium", "edge", "brave", "vivaldi")
_EXTENSION_ID = re.compile(r"^[a-p]{32}$")


@dataclass(frozen=True)
class BrowserDirs:
    """Where one browser looks for host manifests; None where we know of no location."""

    #: Linux: the browser's config dir under $XDG_CONFIG_HOME (its user data dir).
    linux_user: str
    linux_system: str | None
    #: macOS: the user data dir under ~/Library/Application Support.
    mac_user: str
    mac_system: str | None
    #: Windows: the key under HKCU (user) or HKLM (--system).
    windows_key: str


BROWSER_DIRS: Final[Mapping[str, BrowserDirs]] = {
    "chrome": BrowserDirs(
        "google-chrome",
        "/etc/opt/chrome/native-messaging-hosts",
        "Google/Chrome",
        "/Library/Google/Chrome/NativeMessagingHosts",
        r"Software\Google\Chrome\NativeMessagingHosts",
    ),
    "chromium": BrowserDirs(
        "chromium",
        "/etc/chromium/native-messaging-hosts",
        "Chromium",
        "/Library/Application Support/Chromium/NativeMessagingHosts",
        r"Software\Chromium\NativeMessagingHosts",
    ),
    "edge": BrowserDirs(
        "microsoft-edge",
        "/etc/opt/edge/native-messaging-hosts",
        "Microsoft Edge",
        "/Library/Microsoft/Edge/NativeMessagingHosts",
        r"Software\Microsoft\Edge\NativeMessagingHosts",
    ),
    "brave": BrowserDirs(
        "BraveSoftware/Brave-Browser",
        None,
        "BraveSoftware/Brave-Browser",
        None,
        r"Software\BraveSoftware\Brave-Browser\NativeMessagingHosts",
    ),
    "vivaldi": BrowserDirs("vivaldi", None, "Vivaldi", None, r"Software\Vivaldi\NativeMessagingHosts"),
}


class InstallError(Exception):
    """The install could not be done; nothing was left half-written."""


class Registry(Protocol):
    """The Windows registry, reduced to what host registration needs (the OS edge tests replace)."""

    def set_default(self, hive: str, key: str, value: str) -> None: ...

    def get_default(self, hive: str, key: str) -> str | None: ...

    def delete(self, hive: str, key: str) -> None: ...


def _winreg() -> Any:
    # Through importlib: the module exists only on Windows, and its stubs only when checking for it.
    return importlib.import_module("winreg")


class WinRegistry:
    """The real registry through winreg (Windows only)."""

    def _hive(self, hive: str) -> Any:
        winreg = _winreg()
        return winreg.HKEY_LOCAL_MACHINE if hive == "HKLM" else winreg.HKEY_CURRENT_USER

    def set_default(self, hive: str, key: str, value: str) -> None:
        winreg = _winreg()
        with winreg.CreateKey(self._hive(hive), key) as handle:
            winreg.SetValueEx(handle, "", 0, winreg.REG_SZ, value)

    def get_default(self, hive: str, key: str) -> str | None:
        winreg = _winreg()
        try:
            with winreg.OpenKey(self._hive(hive), key) as handle:
                value, _kind = winreg.QueryValueEx(handle, "")
        except OSError:
            return None
        return str(value)

    def delete(self, hive: str, key: str) -> None:
        winreg = _winreg()
        with contextlib.suppress(FileNotFoundError):
            winreg.DeleteKey(self._hive(hive), key)


@dataclass(frozen=True)
class Target:
    """One place a browser finds the manifest: a directory, or (Windows) a registry key."""

    browser: str
    directory: Path | None = None
    hive: str | None = None
    key: str | None = None

    def describe(self) -> str:
        if self.directory is not None:
            return str(self.directory / MANIFEST_FILE)
        return f"{self.hive}\\{self.key}"


@dataclass
class Environment:
    """The machine as install-host sees it; tests pass a fake one (platform, home, registry)."""

    platform: str = sys.platform
    home: Path = field(default_factory=Path.home)
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    python: str = sys.executable
    registry: Registry | None = None
    #: Where the launcher, its config and the install record go (None: the data dir, or the
    #: site data dir with --system).
    launcher_dir: Path | None = None

    def config_home(self) -> Path:
        xdg = self.env.get("XDG_CONFIG_HOME", "")
        return Path(xdg) if os.path.isabs(xdg) else self.home / ".config"

    def user_data_dir(self, browser: str) -> Path:
        """The browser's default user data dir (where its user-level NativeMessagingHosts lives)."""
        dirs = BROWSER_DIRS[browser]
        if self.platform == "darwin":
            return self.home / "Library" / "Application Support" / dirs.mac_user
        return self.config_home() / dirs.linux_user

    def host_dir(self, system: bool) -> Path:
        if self.launcher_dir is not None:
            return self.launcher_dir
        if system:
            return Path(platformdirs.site_data_dir(APP_NAME, appauthor=False)) / "native-host"
        return paths.data_dir() / "native-host"


def extension_id_from_key(key_b64: str) -> str:
    """Chrome's extension id for a manifest `key`: sha256 of the DER public key, 32 hex digits as a-p."""
    digest = hashlib.sha256(base64.b64decode(key_b64)).hexdigest()[:32]
    return "".join(chr(ord("a") + int(c, 16)) for c in digest)


def check_extension_id(value: str) -> str:
    if not _EXTENSION_ID.match(value):
        raise argparse.ArgumentTypeError(f"{value!r} is not an extension id (32 letters a-p)")
    return value


def targets_for(
    browsers: Iterable[str], *, system: bool, machine: Environment, user_data_dirs: Iterable[Path] = ()
) -> list[Target]:
    """Where to register for `browsers` (user or system level) and for each explicit user data dir."""
    targets = [
        Target("custom", directory=Path(d).absolute() / "NativeMessagingHosts") for d in user_data_dirs
    ]
    for browser in browsers:
        dirs = BROWSER_DIRS[browser]
        if machine.platform == "win32":
            hive = "HKLM" if system else "HKCU"
            targets.append(Target(browser, hive=hive, key=f"{dirs.windows_key}\\{HOST_NAME}"))
            continue
        if not system:
            targets.append(Target(browser, directory=machine.user_data_dir(browser) / "NativeMessagingHosts"))
            continue
        where = dirs.mac_system if machine.platform == "darwin" else dirs.linux_system
        if where is None:
            raise InstallError(f"there is no known system-wide location for {browser}; install it per user")
        targets.append(Target(browser, directory=Path(where)))
    return targets


def installed_browsers(machine: Environment) -> list[str]:
    """Browsers whose user data dir exists (on Windows: all, the registry keys cost nothing)."""
    if machine.platform == "win32":
        return list(BROWSERS)
    return [b for b in BROWSERS if machine.user_data_dir(b).is_dir()]


def manifest_for(launcher: Path, extension_ids: Sequence[str]) -> dict[str, object]:
    return {
        "name": HOST_NAME,
        "description": HOST_DESCRIPTION,
        "path": str(launcher),
        "type": "stdio",
        "allowed_origins": [origin_of(i) for i in extension_ids],
    }


def launcher_text(machine: Environment, host_config: Path) -> str:
    """The script Chrome runs: exports the host's config and runs the host with this interpreter.

    `-S` skips site-packages processing (a third of the start-up time), so PYTHONPATH names the
    directory this `companion` package lives in.
    """
    package_root = str(Path(companion.__file__).resolve().parent.parent)
    variables = {CONFIG_ENV: str(host_config), "PYTHONPATH": package_root}
    home = machine.env.get(HOME_ENV)
    if home:
        # The companion was installed for a relocated home: the host must find that daemon.
        variables[HOME_ENV] = home
    if machine.platform == "win32":
        lines = ["@echo off", *(f'set "{k}={v}"' for k, v in variables.items())]
        lines.append(f'"{machine.python}" -S -m companion.nmhost %*')
        return "\r\n".join(lines) + "\r\n"
    lines = [
        "#!/bin/sh",
        "# Written by `cats-companion install-host`: Chrome runs this for the CATS Companion.",
    ]
    lines += [f"{k}={shlex.quote(v)}" for k, v in variables.items()]
    lines.append("export " + " ".join(variables))
    lines.append(f'exec {shlex.quote(machine.python)} -S -m companion.nmhost "$@"')
    return "\n".join(lines) + "\n"


# --- the install record -----------------------------------------------------------------------


@dataclass
class InstallRecord:
    files: dict[str, str] = field(default_factory=dict)  # path -> sha256 of what we wrote
    directories: list[str] = field(default_factory=list)  # directories we created
    registry: list[dict[str, str]] = field(default_factory=list)  # {"hive", "key", "value"}

    @classmethod
    def load(cls, path: Path) -> InstallRecord:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError) as exc:
            raise InstallError(
                f"the install record {path} cannot be read ({exc}); remove it by hand"
            ) from None
        return cls(
            files=dict(raw.get("files", {})),
            directories=list(raw.get("directories", [])),
            registry=list(raw.get("registry", [])),
        )

    def save(self, path: Path) -> None:
        document = {
            "version": 1,
            "files": self.files,
            "directories": self.directories,
            "registry": self.registry,
        }
        path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")

    def empty(self) -> bool:
        return not (self.files or self.directories or self.registry)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class _Writer:
    """Writes files and registry values, remembering how to undo each one if a later step fails."""

    def __init__(self, record: InstallRecord, registry: Registry | None) -> None:
        self.record = record
        self._registry = registry
        self._undo: list[Callable[[], None]] = []

    def directory(self, path: Path) -> None:
        missing = []
        current = path
        while not current.exists():
            missing.append(current)
            current = current.parent
        for directory in reversed(missing):
            directory.mkdir(mode=0o755)
            self._undo.append(directory.rmdir)
            if str(directory) not in self.record.directories:
                self.record.directories.append(str(directory))

    def file(self, path: Path, text: str, mode: int) -> None:
        self.directory(path.parent)
        data = text.encode("utf-8")
        before = path.read_bytes() if path.exists() else None
        path.write_bytes(data)
        path.chmod(mode)

        def undo() -> None:
            if before is None:
                path.unlink()
            else:
                path.write_bytes(before)

        self._undo.append(undo)
        self.record.files[str(path)] = _sha256(data)

    def registry_value(self, hive: str, key: str, value: str) -> None:
        if self._registry is None:
            raise InstallError("the Windows registry is not available here")
        before = self._registry.get_default(hive, key)
        self._registry.set_default(hive, key, value)
        registry = self._registry

        def undo() -> None:
            if before is None:
                registry.delete(hive, key)
            else:
                registry.set_default(hive, key, before)

        self._undo.append(undo)
        entry = {"hive": hive, "key": key, "value": value}
        if entry not in self.record.registry:
            self.record.registry.append(entry)

    def roll_back(self) -> None:
        for undo in reversed(self._undo):
            with contextlib.suppress(OSError):
                undo()


@dataclass(frozen=True)
class InstallResult:
    launcher: Path
    manifests: list[str]
    record: Path


def install(
    targets: Sequence[Target], *, system: bool, extension_ids: Sequence[str], machine: Environment
) -> InstallResult:
    """Write the launcher, its config and a manifest per target; all or nothing."""
    if not targets:
        raise InstallError("nothing to install into: no browser was named or found")
    ids = list(dict.fromkeys([EXTENSION_ID, *extension_ids]))
    host_dir = machine.host_dir(system)
    record_path = host_dir / RECORD_FILE
    record = InstallRecord.load(record_path)
    writer = _Writer(record, machine.registry)
    windows = machine.platform == "win32"
    launcher = host_dir / (LAUNCHER_WINDOWS if windows else LAUNCHER_POSIX)
    host_config = host_dir / HOST_CONFIG_FILE
    manifest_text = json.dumps(manifest_for(launcher, ids), indent=2) + "\n"
    written: list[str] = []
    try:
        writer.directory(host_dir)
        config = {"allowed_origins": [origin_of(i) for i in ids], "log": False, "autostart": True}
        writer.file(host_config, json.dumps(config, indent=2) + "\n", 0o644)
        writer.file(launcher, launcher_text(machine, host_config), 0o755)
        if windows:
            # Windows reads the manifest wherever the registry value points: keep it beside the launcher.
            shared = host_dir / MANIFEST_FILE
            writer.file(shared, manifest_text, 0o644)
        for target in targets:
            if target.directory is not None:
                writer.file(target.directory / MANIFEST_FILE, manifest_text, 0o644)
            else:
                assert target.hive is not None and target.key is not None
                writer.registry_value(target.hive, target.key, str(host_dir / MANIFEST_FILE))
            written.append(target.describe())
        record.save(record_path)
    except OSError as exc:
        writer.roll_back()
        where = f" ({exc.filename})" if exc.filename else ""
        hint = " (system-wide installs need administrator rights)" if system else ""
        raise InstallError(
            f"could not write{where}: {exc.strerror or exc}{hint}; nothing was changed"
        ) from None
    except InstallError:
        writer.roll_back()
        raise
    if machine.python == sys.executable:
        compile_host_modules()
    return InstallResult(launcher=launcher, manifests=written, record=record_path)


def host_module_files() -> list[Path]:
    """The source files the launcher's `python -S -m companion.nmhost` imports (ours, stdlib aside)."""
    package = Path(companion.__file__).resolve().parent
    return [package / "__init__.py", package / "errors.py", *sorted((package / "nmhost").glob("*.py"))]


def compile_host_modules() -> list[Path]:
    """Byte-compile the host's modules now, so Chrome's first start of the host reads bytecode.

    Compiling them at each start costs more than the rest of the host's start-up, and Python
    cannot always keep what it compiled (PYTHONDONTWRITEBYTECODE, a checkout it may not write
    to): then every start would pay it again. Best effort: returns the files it could not compile.
    """
    import compileall
    import py_compile

    failed: list[Path] = []
    for source in host_module_files():
        try:
            # The default check (the source's time stamp) is the one the import system uses.
            ok = compileall.compile_file(
                str(source), quiet=2, invalidation_mode=py_compile.PycInvalidationMode.TIMESTAMP
            )
        except OSError:
            ok = False
        if not ok:
            failed.append(source)
    return failed


def uninstall(*, system: bool, machine: Environment) -> tuple[list[str], list[str]]:
    """Remove what the install record lists: (removed, kept because they changed since)."""
    host_dir = machine.host_dir(system)
    record_path = host_dir / RECORD_FILE
    record = InstallRecord.load(record_path)
    removed: list[str] = []
    kept: list[str] = []
    for name, digest in record.files.items():
        path = Path(name)
        try:
            current = path.read_bytes()
        except FileNotFoundError:
            continue
        if _sha256(current) != digest:
            kept.append(f"{path} (changed since it was installed)")
            continue
        path.unlink()
        removed.append(str(path))
    for entry in record.registry:
        registry = machine.registry
        if registry is None:
            kept.append(f"{entry['hive']}\\{entry['key']} (no registry here)")
        elif registry.get_default(entry["hive"], entry["key"]) == entry["value"]:
            registry.delete(entry["hive"], entry["key"])
            removed.append(f"{entry['hive']}\\{entry['key']}")
        elif registry.get_default(entry["hive"], entry["key"]) is not None:
            kept.append(f"{entry['hive']}\\{entry['key']} (changed since it was installed)")
    record_path.unlink(missing_ok=True)
    # Deepest first, and only when empty: a directory someone else put files in stays.
    for name in sorted(record.directories, key=len, reverse=True):
        with contextlib.suppress(OSError):
            Path(name).rmdir()
            removed.append(name)
    return removed, kept


# --- the commands -------------------------------------------------------------------------------


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "install-host",
        help="register the native messaging host with your browsers",
        description=(
            "Register the CATS Companion native host with Chromium-family browsers, so the extension can "
            "reach the companion. By default for every browser found for this user."
        ),
    )
    parser.add_argument(
        "--browser",
        action="append",
        choices=[*BROWSERS, "all"],
        help="a browser to register with (repeatable; default: those found)",
    )
    parser.add_argument("--system", action="store_true", help="for every user of this machine (needs admin)")
    parser.add_argument(
        "--extension-id",
        action="append",
        default=[],
        type=check_extension_id,
        metavar="ID",
        help=f"also allow this extension id (ours, {EXTENSION_ID}, always is)",
    )
    parser.add_argument(
        "--user-data-dir",
        action="append",
        default=[],
        type=Path,
        metavar="DIR",
        help="install into DIR/NativeMessagingHosts (a browser started with --user-data-dir=DIR)",
    )
    parser.set_defaults(func=run_install)
    remove = subparsers.add_parser(
        "uninstall-host",
        help="remove what install-host wrote",
        description="Remove exactly the files and registry keys install-host wrote, and nothing else.",
    )
    remove.add_argument("--system", action="store_true", help="remove the system-wide install")
    remove.set_defaults(func=run_uninstall)


def _machine() -> Environment:
    return Environment(registry=WinRegistry() if sys.platform == "win32" else None)


def run_install(args: argparse.Namespace, machine: Environment | None = None) -> int:
    machine = machine or _machine()
    chosen: list[str] = args.browser or []
    if "all" in chosen:
        browsers = list(BROWSERS)
    elif chosen:
        browsers = list(dict.fromkeys(chosen))
    elif args.user_data_dir:
        browsers = []
    else:
        browsers = installed_browsers(machine)
        if not browsers:
            print(
                "cats-companion install-host: no supported browser found for this user; name one with "
                "--browser (chrome, chromium, edge, brave, vivaldi or all)",
                file=sys.stderr,
            )
            return 1
    try:
        targets = targets_for(
            browsers, system=args.system, machine=machine, user_data_dirs=args.user_data_dir
        )
        result = install(targets, system=args.system, extension_ids=args.extension_id, machine=machine)
    except InstallError as exc:
        print(f"cats-companion install-host: {exc}", file=sys.stderr)
        return 1
    print(f"Native host launcher: {result.launcher}")
    for where in result.manifests:
        print(f"Registered: {where}")
    print(f"Extension id allowed: {EXTENSION_ID} (load the unpacked extension from the extension/ folder)")
    print(f"Undo with `cats-companion uninstall-host{' --system' if args.system else ''}`.")
    return 0


def run_uninstall(args: argparse.Namespace, machine: Environment | None = None) -> int:
    machine = machine or _machine()
    try:
        removed, kept = uninstall(system=args.system, machine=machine)
    except (InstallError, OSError) as exc:
        print(f"cats-companion uninstall-host: {exc}", file=sys.stderr)
        return 1
    if not removed and not kept:
        print("Nothing to remove: install-host has not written anything here.")
    for item in removed:
        print(f"Removed: {item}")
    for item in kept:
        print(f"Left in place: {item}")
    return 0


def launcher_interpreter(launcher: Path) -> str | None:
    """The interpreter a launcher written by install-host runs (for doctor), or None if unrecognised."""
    try:
        text = launcher.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("exec "):
            words = shlex.split(line)
            return words[1] if len(words) > 1 else None
        if line.startswith('"') and "-m companion.nmhost" in line:
            return line.split('"')[1]
    return None


def is_executable(path: Path) -> bool:
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return stat.S_ISREG(mode) and os.access(path, os.X_OK)
