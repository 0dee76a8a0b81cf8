"""`cats-companion demo --team`: a whole team on one machine, for a team lead to try before setting one up.

A private PostgreSQL cluster (companion.team.local_cluster: PostgreSQL's binaries must be
installed; the demo says so plainly when they are not), the CATS sandbox, and three companion
daemons -- alice, the team's admin, bob and carol -- each its own process with its own home (its
SQLite file, settings, runtime dir and log) in a temporary directory, built by
companion.bench.team_world. It prints, for each, how to open its settings window and what to look
at (who syncs the companies, the failover, the team's database), then waits for Ctrl-C (or
`--stop-after` seconds) and stops everything, removing the temporary directory.

The members' daemons are not this user's usual daemon: the browser extension keeps talking to that
one. Each member is reached by naming its home in CATS_COMPANION_HOME, as the printed commands do.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shlex
import shutil
import tempfile
import time
from pathlib import Path
from typing import Final

from companion.bench.team_world import TeamMember, TeamWorld, wait_for
from companion.nmhost.locations import HOME_ENV

MEMBERS: Final = ("alice", "bob", "carol")
#: How long the members may take to connect to the team before the demo says so.
CONNECT_WAIT: Final = 60.0
#: How often the demo looks at the members' team state to report changes.
WATCH_INTERVAL: Final = 1.0


async def run_team_demo(args: argparse.Namespace) -> int:
    from companion.sandbox.app import SandboxConfig, start_sandbox
    from companion.server.daemon import wait_for_stop_signal

    sandbox = await start_sandbox(
        SandboxConfig(seed=args.seed, seed_random=1, rate_limit=args.rate_limit), port=args.sandbox_port
    )
    root = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="cats-demo-team-"))
    try:
        print(f"Starting a private PostgreSQL cluster and the team in {root} ...", flush=True)
        world = await TeamWorld.create(
            root, cats_url=sandbox.url, api_key=sandbox.api_key, names=MEMBERS, admin_daemon=True
        )
        try:
            await world.start()
            connected = await wait_for(lambda: _all_connected(world.members), seconds=CONNECT_WAIT)
            print("\n".join(await describe(world, sandbox.url, connected=bool(connected))), flush=True)
            stop = asyncio.create_task(wait_for_stop_signal())
            watcher = asyncio.create_task(watch(world.members))
            try:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(stop), args.stop_after)
            finally:
                stop.cancel()
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher
        finally:
            await world.close()
    finally:
        await sandbox.close()
        await asyncio.to_thread(shutil.rmtree, root, True)
    print("stopped.", flush=True)
    return 0


async def _all_connected(members: list[TeamMember]) -> bool:
    states = await asyncio.gather(*(member.ask("status") for member in members))
    return all(state["team"]["state"] == "connected" for state in states) and any(
        state["team"]["is_syncer"] for state in states
    )


async def watch(members: list[TeamMember], interval: float = WATCH_INTERVAL) -> None:
    """Print each member's team state when it changes (who syncs, offline, a daemon gone), until cancelled."""
    seen: dict[str, str] = {}
    while True:
        for member in members:
            try:
                team = (await member.ask("status"))["team"]
                now = f"team {team['state']}" + (", syncs the companies" if team["is_syncer"] else "")
            except Exception:
                # Whatever stopped it (killed, restarting), the demo says it no longer answers.
                now = "its daemon does not answer"
            if seen.get(member.name, now) != now:
                print(f"{time.strftime('%H:%M:%S')} {member.name}: {now}", flush=True)
            seen[member.name] = now
        await asyncio.sleep(interval)


async def describe(world: TeamWorld, cats_url: str, *, connected: bool) -> list[str]:
    """What the demo prints once the daemons run: each member and how to look at it."""
    statuses = {m.name: (await m.ask("status"))["team"] for m in world.members}
    syncer = next((m for m in world.members if statuses[m.name]["is_syncer"]), None)
    port = world.cluster.port
    lines = [
        f"CATS sandbox     {cats_url} (its demo key is in each member's cats.key)",
        f"PostgreSQL       127.0.0.1:{port}, database {world.admin_dsn.database}, team {world.team_id}",
        "",
        "Members (each a daemon of its own; CATS_COMPANION_HOME picks the member a command talks to):",
    ]
    for member in world.members:
        team = statuses[member.name]
        admin = " --admin" if member.access == "admin" else ""
        env = f"{HOME_ENV}={shlex.quote(str(member.home))}"
        link = (await member.ask("window.link"))["url"]
        lines += [
            f"  {member.name:<6} {member.access:<6} role {member.role}, pid {member.daemon.pid}, "
            f"team {team['state']}{', syncs the companies' if team['is_syncer'] else ', replicates'}",
            f"         settings window: {env} cats-companion settings{admin}",
            f"         (or, for the next minute, {link})",
            f"         its data and log: {member.home}",
        ]
    lines += [
        "",
        "What to look at:",
        "  - one member syncs the companies from CATS, the others copy them into their own SQLite;",
        "    this terminal prints each member's team state when it changes;",
    ]
    if syncer is not None:
        lines.append(
            f"  - kill the syncer ({syncer.name}: kill -9 {syncer.daemon.pid}): another member takes over "
            "within seconds, printed here;"
        )
    lines += [
        "  - each settings window's Team section shows the link, who syncs, the replication lag and the",
        "    team policy in force; in alice's (the admin's) a policy change is in force on bob's and",
        "    carol's companions within a second;",
        f"  - the team's database: psql {world.admin_dsn.url} (password in "
        f"{world.members[0].home / 'team-password'}).",
    ]
    if not connected:
        lines.append(f"Not every member connected to the team within {CONNECT_WAIT:.0f} s: see their logs.")
    lines.append("Press Ctrl-C to stop.")
    return lines
