"""A private PostgreSQL cluster on this machine, in a temp dir on a free loopback port (demo, benches, tests).

    cluster = LocalCluster.create()          # LocalClusterError when PostgreSQL is not installed
    port = cluster.start_on_free_port()
    admin = await cluster.create_team_database("team_admin", password)   # an owner with CREATEROLE
    ...
    cluster.stop(); cluster.remove()

initdb and pg_ctl from the newest PostgreSQL found (Debian's /usr/lib/postgresql/N/bin, else on
PATH). PostgreSQL refuses to run as root: as root the server runs as the `postgres` system user
(runuser), in a dir it owns. The superuser reaches the server only over its Unix socket in that
private dir (trust); every other role logs in over TCP on 127.0.0.1 with a SCRAM password, as on a
managed PostgreSQL. Durability is off (fsync, synchronous commit): the cluster is thrown away.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import Final

import asyncpg

from companion.errors import LocalClusterError
from companion.secret import DatabasePassword
from companion.team.roles import check_login_name, quote_ident, quote_literal
from companion.team.scram import scram_verifier

SUPERUSER: Final = "postgres"
HOST: Final = "127.0.0.1"
#: Bounds on every wait: initdb, start, stop, one admin statement.
INITDB_TIMEOUT: Final = 120.0
START_TIMEOUT: Final = 60
STOP_TIMEOUT: Final = 30
SQL_TIMEOUT: Final = 30.0
#: A free port can be taken between our probe and the server's bind: try a few.
START_ATTEMPTS: Final = 3


def find_bindir() -> Path | None:
    """The newest PostgreSQL server binaries: Debian's /usr/lib/postgresql/N/bin, else initdb on PATH."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda path: int(Path(path).parts[-3]) if Path(path).parts[-3].isdigit() else 0,
    )
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


def memory_dir() -> str | None:
    """The shared-memory dir when writable: CREATE DATABASE takes 0.02 s there, 0.25 s on a disk."""
    # mkdtemp makes a private (0700) dir inside it, so the shared dir's other users see nothing.
    shm = "/dev/shm"  # noqa: S108
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK | os.X_OK) else None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


class LocalCluster:
    """initdb, pg_ctl start and stop, as the postgres system user when we are root."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.as_root = os.geteuid() == 0
        # Not under a root-owned 0700 temp dir: the postgres user could not enter it.
        self.root = Path(tempfile.mkdtemp(prefix="cats-pg-", dir=memory_dir()))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port: int | None = None
        if self.as_root:
            shutil.chown(self.root, user=SUPERUSER, group=SUPERUSER)

    @classmethod
    def create(cls) -> LocalCluster:
        """A new, initialised cluster (not started); LocalClusterError saying what to install if it cannot."""
        bindir = find_bindir()
        if bindir is None:
            raise LocalClusterError(
                "PostgreSQL's server binaries (initdb, pg_ctl) were not found in /usr/lib/postgresql/*/bin "
                "or on PATH; install PostgreSQL (Debian: apt-get install postgresql) and try again"
            )
        if os.geteuid() == 0 and (shutil.which("runuser") is None or not _has_user(SUPERUSER)):
            raise LocalClusterError(
                "running as root, PostgreSQL must run as the 'postgres' system user, and runuser or that "
                "user is missing; run as an ordinary user or install PostgreSQL's package"
            )
        cluster = cls(bindir)
        try:
            cluster.init()
        except BaseException:
            cluster.remove()
            raise
        return cluster

    @property
    def socket_dir(self) -> Path:
        return self.root

    def run(self, tool: str, *args: str, timeout: float) -> subprocess.CompletedProcess[str]:
        command = [str(self.bindir / tool), *args]
        if self.as_root:
            command = ["runuser", "-u", SUPERUSER, "--", *command]
        # Our own argv (PostgreSQL's tools and paths we made), no shell.
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)  # noqa: S603

    def init(self) -> None:
        done = self.run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            SUPERUSER,
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
            "--no-instructions",
            timeout=INITDB_TIMEOUT,
        )
        if done.returncode != 0:
            raise LocalClusterError(f"initdb failed ({done.returncode}): {done.stderr.strip()}")
        # The superuser only over the private socket; everyone else over TCP with a SCRAM password.
        hba = (
            "local all postgres trust\nlocal all all scram-sha-256\nhost all all 127.0.0.1/32 scram-sha-256\n"
        )
        self._write_as_owner(self.data / "pg_hba.conf", hba)

    def start(self, port: int) -> bool:
        """Start on `port` (again, after a stop: every database as it was); False when it did not start."""
        options = " ".join(
            [
                f"-c listen_addresses={HOST}",
                f"-p {port}",
                f"-k {self.root}",
                # A throw-away cluster: durability buys nothing, speed does.
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
                "-c max_connections=200",
            ]
        )
        done = self.run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.log),
            "-w",
            "-t",
            str(START_TIMEOUT),
            "start",
            timeout=START_TIMEOUT + 10,
        )
        if done.returncode == 0:
            self.port = port
        return done.returncode == 0

    def start_on_free_port(self) -> int:
        """Start on a free loopback port (a few tries); the port. LocalClusterError with the log's tail."""
        for _ in range(START_ATTEMPTS):
            port = free_port()
            if self.start(port):
                return port
        raise LocalClusterError(f"PostgreSQL did not start; its log ends with:\n{self.log_tail()}")

    def stop(self) -> None:
        """Shut down fast (open connections are ended), as a database going away does."""
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.run(
                "pg_ctl",
                "-D",
                str(self.data),
                "-m",
                "fast",
                "-w",
                "-t",
                str(STOP_TIMEOUT),
                "stop",
                timeout=STOP_TIMEOUT + 10,
            )

    def log_tail(self) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-20:])
        except OSError:
            return "(no server log)"

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    def dsn(self, user: str, database: str) -> str:
        """A TCP DSN without password, as a member or an admin would give it."""
        return f"postgresql://{user}@{HOST}:{self._port()}/{database}"

    async def connect(self, database: str = "postgres") -> asyncpg.Connection:
        """A superuser connection over the private socket."""
        return await asyncpg.connect(
            host=str(self.socket_dir),
            port=self._port(),
            user=SUPERUSER,
            database=database,
            timeout=SQL_TIMEOUT,
        )

    async def create_team_database(self, admin: str, password: DatabasePassword, database: str) -> str:
        """A LOGIN role `admin` with CREATEROLE owning the new `database`, as a managed PostgreSQL gives
        a customer (no superuser); the password reaches the server only as a SCRAM verifier. The DSN."""
        check_login_name(admin)
        check_login_name(database)
        conn = await self.connect()
        try:
            await conn.execute(
                f"CREATE ROLE {quote_ident(admin)} LOGIN CREATEROLE"
                f" PASSWORD {quote_literal(scram_verifier(password))}"
            )
            await conn.execute(f"CREATE DATABASE {quote_ident(database)} OWNER {quote_ident(admin)}")
        finally:
            await conn.close(timeout=5)
        return self.dsn(admin, database)

    def _port(self) -> int:
        if self.port is None:
            raise LocalClusterError("the local PostgreSQL cluster is not started")
        return self.port

    def _write_as_owner(self, path: Path, text: str) -> None:
        path.write_text(text)
        if self.as_root:
            shutil.chown(path, user=SUPERUSER, group=SUPERUSER)


def _has_user(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True
