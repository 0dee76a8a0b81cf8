"""A whole team on one machine: a private PostgreSQL cluster, a team in it and one daemon process per member.

What `cats-companion bench team` measures and `cats-companion demo --team` shows. The CATS side (a
sandbox) is the caller's: the bench runs it in its own process to read its accounting, the demo
too. Each member gets a home of its own (CATS_COMPANION_HOME: its SQLite file, config, runtime dir
and log), its `team.json` written as `team init` or `team join` writes it after the same checks
(companion.team.admin, companion.team.membership), and its secrets in 0600 files that its daemon
reads with `--key-file` and `--team-password-file` (no desktop keyring needed; never argv or
environment). The first member is the team's admin: the PostgreSQL role owning the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Literal

from companion import __version__
from companion.bench.soak import DaemonProcess, NativeClient
from companion.keystore import normalize_base_url
from companion.protocol import JsonObject
from companion.secret import DatabasePassword
from companion.secret_file import write_secret_file
from companion.team import admin, local, membership
from companion.team.dsn import TeamDsn, parse_dsn
from companion.team.local_cluster import LocalCluster
from companion.team.site import CatsSite

DATABASE: Final = "cats_team"
#: The CATS client timeout of the members' daemons (the product's default is longer; the sandbox is local).
CATS_TIMEOUT: Final = 10.0


@dataclass
class TeamMember:
    name: str
    role: str
    access: Literal["admin", "member"]
    home: Path
    daemon: DaemonProcess
    dsn: TeamDsn

    def client(self, timeout: float = 30.0) -> NativeClient:
        return NativeClient(self.daemon, timeout=timeout)

    async def ask(self, message_type: str, params: JsonObject | None = None) -> JsonObject:
        """One native message's data (RuntimeError when refused, DaemonDown when the daemon is down)."""
        client = self.client()
        try:
            return await client.data(message_type, params)
        finally:
            await client.close()


@dataclass
class TeamWorld:
    """The cluster, the team's admin credentials and the members (daemons not started yet)."""

    cluster: LocalCluster
    admin_dsn: TeamDsn
    admin_password: DatabasePassword
    team_id: str
    members: list[TeamMember] = field(default_factory=list)

    @classmethod
    async def create(
        cls,
        root: Path,
        *,
        cats_url: str,
        api_key: str,
        names: Sequence[str],
        admin_daemon: bool = False,
        say: Callable[[str], None] | None = None,
    ) -> TeamWorld:
        """Start a cluster, create the team for the CATS site at `cats_url` and one home per name.

        `admin_daemon`: the admin's daemon runs in admin mode (the settings window's policy editor).
        LocalClusterError when PostgreSQL is not installed.
        """
        tell = say or (lambda _: None)
        cluster = await asyncio.to_thread(LocalCluster.create)
        try:
            port = await asyncio.to_thread(cluster.start_on_free_port)
            tell(f"PostgreSQL cluster on 127.0.0.1:{port} in {cluster.root}")
            admin_password = _new_password()
            admin_role = f"{names[0]}_admin"
            dsn = parse_dsn(await cluster.create_team_database(admin_role, admin_password, DATABASE))
            site = CatsSite(normalize_base_url(cats_url), None)
            outcome = await admin.init_team(dsn, admin_password, site, companion_version=__version__)
            world = cls(cluster, dsn, admin_password, outcome.team.team_id)
            for index, name in enumerate(names):
                home = root / name
                await asyncio.to_thread(home.mkdir, mode=0o700, parents=True)
                access: Literal["admin", "member"] = "admin"
                if index == 0:
                    role, password = admin_role, admin_password
                else:
                    role, password = name, _new_password()
                    await admin.add_member(dsn, admin_password, role, password, display_name=name.title())
                    member_dsn = parse_dsn(cluster.dsn(role, DATABASE))
                    # What `team join` checks (site, schema, password) before it records the team.
                    joined = await membership.join_team(
                        member_dsn, password, site, companion_version=__version__
                    )
                    access = "admin" if joined.access == "admin" else "member"
                member = _member(
                    home,
                    name,
                    role,
                    access,
                    parse_dsn(cluster.dsn(role, DATABASE)),
                    password,
                    world.team_id,
                    site,
                    cats_url=cats_url,
                    api_key=api_key,
                    admin_daemon=admin_daemon and index == 0,
                )
                world.members.append(member)
            return world
        except BaseException:
            await asyncio.to_thread(_drop, cluster)
            raise

    async def start(self) -> None:
        """Start every member's daemon at once; returns when all answer."""
        await asyncio.gather(*(member.daemon.start() for member in self.members))

    async def close(self) -> None:
        """Stop the daemons, then the cluster, and remove it."""
        await asyncio.gather(*(member.daemon.stop() for member in self.members), return_exceptions=True)
        await asyncio.to_thread(_drop, self.cluster)


def _member(
    home: Path,
    name: str,
    role: str,
    access: Literal["admin", "member"],
    dsn: TeamDsn,
    password: DatabasePassword,
    team_id: str,
    site: CatsSite,
    *,
    cats_url: str,
    api_key: str,
    admin_daemon: bool,
) -> TeamMember:
    key_file = write_secret_file(home / "cats.key", api_key)
    password_file = write_secret_file(home / "team-password", password.reveal())
    record = local.TeamRecord(
        dsn=dsn.url,
        team_id=team_id,
        cats_base_url=site.base_url,
        cats_subdomain=site.subdomain,
        role=role,
        access=access,
        joined_at=datetime.now(UTC),
    )
    # Where the daemon under CATS_COMPANION_HOME=home looks for it (companion.paths.config_dir()).
    local.save(record, home / "config" / local.TEAM_FILE)
    options = ["--team-password-file", str(password_file), "--sync-at-start"]
    if admin_daemon:
        options.append("--admin")
    daemon = DaemonProcess(
        home, cats_url=cats_url, key_file=key_file, cats_timeout=CATS_TIMEOUT, options=options
    )
    return TeamMember(name, role, access, home, daemon, dsn)


def _new_password() -> DatabasePassword:
    return DatabasePassword(secrets.token_urlsafe(24))


def _drop(cluster: LocalCluster) -> None:
    with contextlib.suppress(OSError):
        cluster.stop()
    cluster.remove()


async def wait_for(check: Callable[[], Any], *, seconds: float, interval: float = 0.05) -> Any:
    """Poll the coroutine function `check` until it returns something truthy (that value), or None after
    `seconds`. Exceptions from `check` (a daemon restarting) count as not yet."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        with contextlib.suppress(Exception):
            value = await check()
            if value:
                return value
        if loop.time() >= deadline:
            return None
        await asyncio.sleep(interval)
