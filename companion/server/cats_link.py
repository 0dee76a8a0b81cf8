"""The daemon's CATS client and what runs on it: swapped when a key is activated or removed.

The company sync scheduler is built on the current client, so swapping the client (a key
activated in the settings window, or removed) rebuilds it and feeds its changes to the lookup
index; its schedule follows the cache settings unless the daemon was started with a fixed policy.
A successful connection check also remembers the CATS site's subdomain, which record links need.
"""

from __future__ import annotations

from dataclasses import replace

from companion.cats.client import CatsClient, ConnectionInfo
from companion.server.context import CatsClientLike, DaemonContext
from companion.server.sync_routes import attach_sync
from companion.services.cats_site import remember_subdomain
from companion.services.sync_scheduler import SyncPolicy


def sync_policy(ctx: DaemonContext) -> SyncPolicy:
    """The fixed policy the daemon was started with, else the one the cache settings describe."""
    if ctx.sync_policy is not None:
        return ctx.sync_policy
    if ctx.settings is None:
        return SyncPolicy()
    cache = ctx.settings.effective.settings.cache
    return replace(
        SyncPolicy(),
        interval=cache.incremental_interval_minutes * 60.0,
        full_interval=cache.full_scan_interval_hours * 3600.0,
    )


async def use_client(ctx: DaemonContext, client: CatsClientLike | None, *, start: bool = True) -> None:
    """Make `client` the daemon's CATS client (None: no key) and rebuild what runs on it."""
    old, ctx.client = ctx.client, client
    if ctx.sync is not None:
        # The scheduler holds the old client, which is about to close; finished pages stay stored.
        await ctx.sync.close()
        ctx.sync = None
    if old is not None and old is not client:
        await old.close()
    if isinstance(client, CatsClient):
        scheduler = attach_sync(ctx, client, lambda: sync_policy(ctx))
        if ctx.lookup is not None:
            scheduler.engine.on_change(ctx.lookup.apply_changes)
        if start:
            scheduler.start()


def describe(info: ConnectionInfo) -> str:
    if info.subdomain:
        return f"connected to the CATS site {info.subdomain!r}"
    return "connected to CATS" if info.site_id is None else f"connected to CATS site {info.site_id}"


async def record_connected(ctx: DaemonContext, info: ConnectionInfo) -> None:
    """A connection check succeeded: say so, and keep the site's subdomain for record links."""
    ctx.monitor.record_connected(describe(info), site=info.subdomain)
    await remember_subdomain(ctx.db, ctx.cats_base_url, info.subdomain)
