"""The daemon's runtime files (daemon.json, daemon.sock, daemon.lock) and the one-daemon-per-user rule.

`daemon.json` (0600, in the 0700 runtime dir) tells local clients -- the native host, the CLI --
where the daemon listens: `{"port", "token", "pid", "version", "socket"}`. It is written
atomically once the listeners are up and removed on clean shutdown.

Only one daemon per user: `claim_runtime()` takes an exclusive flock on `daemon.lock` for the
daemon's lifetime (the kernel drops it if the process dies, so a crash never leaves it stuck),
and also refuses when the recorded pid is alive and its socket or port still answers (a daemon
that predates the lock, or a platform without flock). Runtime files left by a daemon that is
gone are stale and replaced.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from pathlib import Path
from typing import Final

from pydantic import BaseModel, ConfigDict, ValidationError

from companion import paths
from companion.errors import DaemonAlreadyRunningError
from companion.files import FileLock, write_atomic
from companion.nmhost.locations import RUNTIME_FILE_NAME, SOCKET_NAME

log = logging.getLogger(__name__)

LOCK_NAME: Final = "daemon.lock"
#: How long we wait for a recorded daemon to accept a connection before calling it gone.
ANSWER_TIMEOUT: Final = 1.0


class RuntimeInfo(BaseModel):
    """The content of daemon.json."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    port: int
    token: str
    pid: int
    version: str
    socket: str | None = None

    def __repr__(self) -> str:
        return f"RuntimeInfo(port={self.port}, pid={self.pid}, version={self.version!r}, token=<redacted>)"

    __str__ = __repr__


def runtime_dir(base: Path | None = None) -> Path:
    """The runtime dir, created 0700."""
    return paths.private_dir(base if base is not None else paths.runtime_dir())


def runtime_file_path(run_dir: Path) -> Path:
    return run_dir / RUNTIME_FILE_NAME


def socket_path(run_dir: Path) -> Path:
    return run_dir / SOCKET_NAME


def write_runtime_file(run_dir: Path, info: RuntimeInfo) -> Path:
    path = runtime_file_path(run_dir)
    write_atomic(path, info.model_dump_json() + "\n")
    return path


def read_runtime_file(run_dir: Path) -> RuntimeInfo | None:
    """The recorded daemon, or None when there is no readable record (a torn or foreign file is none)."""
    try:
        return RuntimeInfo.model_validate_json(runtime_file_path(run_dir).read_bytes())
    except (FileNotFoundError, ValidationError):
        return None


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists (on POSIX; elsewhere we cannot tell cheaply, so yes)."""
    if os.name != "posix":
        # os.kill on Windows terminates the process: never use it as a probe there.
        return True
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


async def answers(run_dir: Path, info: RuntimeInfo) -> bool:
    """Whether something accepts connections where `info` says the daemon listens."""
    sock = Path(info.socket) if info.socket else socket_path(run_dir)
    try:
        async with asyncio.timeout(ANSWER_TIMEOUT):
            if os.name == "posix" and sock.exists():
                _, writer = await asyncio.open_unix_connection(str(sock))
            else:
                _, writer = await asyncio.open_connection("127.0.0.1", info.port)
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


#: The daemon's instance lock (companion.files.FileLock on daemon.lock, held for its lifetime).
InstanceLock = FileLock


async def claim_runtime(run_dir: Path) -> InstanceLock:
    """Become this user's daemon: lock, refuse if another daemon lives, clear stale files.

    Raises DaemonAlreadyRunningError (changing nothing) when another daemon is alive.
    """
    lock = InstanceLock(run_dir / LOCK_NAME)
    if not lock.acquire():
        raise _already_running(read_runtime_file(run_dir))
    try:
        recorded = read_runtime_file(run_dir)
        if recorded is not None and pid_alive(recorded.pid) and await answers(run_dir, recorded):
            raise _already_running(recorded)
        leftovers = (runtime_file_path(run_dir), socket_path(run_dir))
        stale = [p for p in leftovers if p.exists() or p.is_symlink()]
        if stale:
            pid = recorded.pid if recorded else "unknown"
            log.warning("replacing stale runtime files left by a daemon that is gone (pid %s)", pid)
            for path in stale:
                path.unlink(missing_ok=True)
    except BaseException:
        lock.release()
        raise
    return lock


def remove_runtime_files(run_dir: Path, *, pid: int, sock: Path | None) -> None:
    """Remove our runtime file (only if it is still ours) and our socket."""
    recorded = read_runtime_file(run_dir)
    if recorded is not None and recorded.pid == pid:
        runtime_file_path(run_dir).unlink(missing_ok=True)
    if sock is not None:
        sock.unlink(missing_ok=True)


def _already_running(info: RuntimeInfo | None) -> DaemonAlreadyRunningError:
    where = f" (pid {info.pid}, http://127.0.0.1:{info.port})" if info else ""
    return DaemonAlreadyRunningError(
        f"a cats-companion daemon is already running for this user{where}; stop it first or use it"
    )
