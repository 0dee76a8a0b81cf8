"""The composition root: one Companion, built from a CompanionConfig, owns every service and its life cycle.

    companion = await Companion.open(CompanionConfig(cats_base_url=url), key=ApiKey("..."))
    await companion.start()      # the company sync, the outbox worker, one connection check
    ...
    await companion.close()      # everything it opened, in reverse order

This is the only place that decides which service gets which collaborator. The transports (the
daemon's native session and its loopback HTTP API, in companion.server) receive a Companion and
call its services; they build nothing themselves. The CATS client is the one part that changes
while the daemon runs (a key activated in the settings window, or removed): `use_client` swaps it
and rebuilds the company sync on it, and the outbox worker follows it by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from companion import __version__, paths
from companion.cats.client import CatsClient, ConnectionInfo
from companion.cats.profile import AccountProfile
from companion.cats_url import remember_url
from companion.errors import CatsRateLimitedError, CompanionError, ConfigError, KeyMissingError, TeamError
from companion.keystore import DEFAULT_BASE_URL, KeyringKeyStore, KeyStore
from companion.secret import ApiKey, DatabasePassword
from companion.services.account_probe import ProbeReport, probe_account
from companion.services.cats_site import remember_subdomain
from companion.services.company_lookup import (
    CompanyLookupService,
    IndexTuning,
    OfflineReason,
    settings_source,
)
from companion.services.company_sync import CompanySync, SyncOutcome
from companion.services.connection import ConnectionMonitor, state_for
from companion.services.events import EventHub
from companion.services.outbox_worker import STATE_EVENT, OutboxWorker, lock_path_for
from companion.services.push import PushService, inputs_from
from companion.services.sync_scheduler import SyncPolicy, SyncScheduler
from companion.services.sync_state import SyncProgress, SyncState, build_state
from companion.services.team_aliases import TeamAliases
from companion.services.team_companies import TeamCompanies
from companion.settings.catalogue import Catalogue
from companion.settings.catalogue_store import CATALOGUE_FILE, CatalogueStore
from companion.settings.models import Settings
from companion.settings.service import SettingsService
from companion.settings.team_policy import TeamPolicySource
from companion.store import Database, open_database
from companion.store.cats_profiles import load_profile, save_profile
from companion.store.companies import CompanyCache
from companion.store.db import DB_FILE_NAME
from companion.store.outbox import OutboxItem
from companion.team import local as team_local
from companion.team.claims_link import DEFAULT_TUNING as DEFAULT_CLAIMS_TUNING
from companion.team.claims_link import ClaimsTuning, TeamClaimsLink
from companion.team.credentials import keyring_password
from companion.team.link import LinkTuning, PasswordSource, TeamLink
from companion.team.policy import CACHE_FILE, TeamPolicyFollower
from companion.team.rate_budget import BudgetTuning, TeamBudget
from companion.team.site import CatsSite, check_same_site

log = logging.getLogger(__name__)

#: Where the CATS API key comes from for a base URL: the OS keyring in production
#: (companion.keystore.load_key), a fixed key in the demo and tests. May raise
#: KeyringUnavailableError or ConfigError.
KeySource = Callable[[str], ApiKey | None]
#: Makes the CATS client for a base URL and key (a client with another timeout, in the soak bench).
ClientFactory = Callable[[str, ApiKey], CatsClient]

#: Published on the event hub after every page a company sync stores.
SYNC_PROGRESS_EVENT = "sync.progress"
#: Published after every company sync that ends, with the cache as lookups report it (`offline` with
#: why, or `ready` again): the card and the popup follow it without asking.
CACHE_STATE_EVENT = "cache.state"


@dataclass(frozen=True)
class CompanionConfig:
    """What the services are built from (the listeners have their own: server.daemon.DaemonConfig)."""

    cats_base_url: str = DEFAULT_BASE_URL
    #: None = companion.db in data_dir, else the platform's data dir (CATS_COMPANION_HOME overrides).
    db_path: Path | None = None
    data_dir: Path | None = None
    #: Where the user's settings.json lives; None = companion.paths.config_dir().
    config_dir: Path | None = None
    #: Where the system-wide team policy lives; None = companion.paths.site_config_dirs() (all searched).
    site_config_dir: Path | None = None
    #: Admin mode: edit and install the team policy (refused unless this user may write site_config_dir).
    admin: bool = False
    #: A fixed company-sync schedule (tests, benches); None: the cache settings decide it.
    sync: SyncPolicy | None = None
    #: Send the push outbox to CATS in the background (tests that count requests may turn it off).
    send_outbox: bool = True
    #: Ask CATS once at start whether the key works (one request).
    check_connection: bool = True
    #: Probe a newly activated key's account once, read-only, when it has no profile yet (5 requests).
    probe_on_activation: bool = True
    #: While the keyring is locked, how often to look for the key again (a local read, no CATS request).
    keyring_retry_seconds: float = 30.0
    #: This user's team record; None = team.json in config_dir (companion.team.local). No file: no team.
    team_file: Path | None = None
    #: The team link's waits (poll interval, lock retry, backoff); None: the defaults.
    team_tuning: LinkTuning | None = None
    #: The team database's password given directly (`serve --team-password-file`); None: the keyring.
    team_password: DatabasePassword | None = field(default=None, repr=False)
    #: The team rate budget's waits (how often the ledger is written and read); None: the defaults.
    team_budget_tuning: BudgetTuning | None = None
    #: The person claims' bounds (connect, operation, retry after a failure).
    team_claims_tuning: ClaimsTuning = DEFAULT_CLAIMS_TUNING

    def database_path(self) -> Path | None:
        """db_path, else companion.db in data_dir when that is given, else None (the default place)."""
        if self.db_path is not None or self.data_dir is None:
            return self.db_path
        return self.data_dir / DB_FILE_NAME

    def team_path(self) -> Path:
        if self.team_file is not None:
            return self.team_file
        return (self.config_dir if self.config_dir is not None else paths.config_dir()) / team_local.TEAM_FILE

    def data_path(self) -> Path:
        return self.data_dir if self.data_dir is not None else paths.data_dir()

    def settings_service(self, team_policy: TeamPolicySource | None = None) -> SettingsService:
        """The user's and the team's settings; raises policy.admin_required for a refused admin mode.

        `team_policy`: the team database's policy, for a companion in a team.
        """
        return SettingsService(
            config_dir=self.config_dir if self.config_dir is not None else paths.config_dir(),
            site_dir=self.site_config_dir if self.site_config_dir is not None else paths.site_config_dirs(),
            catalogue=CatalogueStore(self.data_path() / CATALOGUE_FILE),
            admin=self.admin,
            team_policy=team_policy,
        )

    def team_record(self) -> tuple[team_local.TeamRecord | None, str | None]:
        """This user's team (None: none) and why team.json cannot be used (a damaged file, another site)."""
        try:
            record = team_local.load(self.team_path())
            if record is not None:
                # Companies synced from another CATS site must never reach this team (or come from it).
                check_same_site(record.site(), CatsSite(self.cats_base_url, None))
        except (ConfigError, TeamError) as exc:
            log.warning("team mode off: %s", exc.message)
            return None, exc.message
        return record, None

    def team_password_source(self, record: team_local.TeamRecord) -> PasswordSource:
        """Where the team link and the policy follower get the database password: the one given
        (`serve --team-password-file`), else the keyring, asked at each connection."""
        given = self.team_password
        if given is None:
            return keyring_password(record.team_dsn())

        async def password() -> DatabasePassword | None:
            return given

        return password


def static_key_source(key: ApiKey | None) -> KeySource:
    """A KeySource that always gives `key` (the demo's and tests' key, given directly)."""

    def source(_base_url: str) -> ApiKey | None:
        return key

    return source


def _keyring_source(base_url: str) -> ApiKey | None:
    from companion.keystore import load_key

    return load_key(base_url)


class Companion:
    """The companion's services on one database, one settings service and one (swappable) CATS client."""

    def __init__(
        self,
        config: CompanionConfig,
        *,
        db: Database,
        settings: SettingsService,
        lookup: CompanyLookupService,
        key_source: KeySource,
        key_store: KeyStore | None = None,
        client_factory: ClientFactory | None = None,
        clock: Callable[[], float] = time.monotonic,
        team_policy: TeamPolicyFollower | None = None,
    ) -> None:
        self.config = config
        self.cats_base_url = config.cats_base_url
        self.db = db
        self.settings = settings
        self.lookup = lookup
        #: The last sync stopped on the rate budget (CATS's 429 or our reserve); cleared by a success.
        self._sync_rate_limited = False
        lookup.offline = self.cache_offline
        self.key_source = key_source
        self.version = __version__
        self.clock = clock
        self.started_at = clock()
        #: Events pushed to the extension through the native host: `companion.events.publish(name, data)`.
        self.events = EventHub()
        #: The last known state of the CATS connection (status, the popup's light, the tray).
        self.monitor = ConnectionMonitor()
        #: None until an API key exists.
        self.client: CatsClient | None = None
        #: The company-cache sync; None while there is no API key (the cache stays readable).
        self.sync: SyncScheduler | None = None
        self._key_store = key_store
        self._client_factory = client_factory
        self._started = False
        self._closed = False
        #: The start-up connection check, while it runs (tests await it).
        self.check_task: asyncio.Task[None] | None = None
        #: What the account probe found out about this CATS account (`cats probe`); None: never probed.
        self.profile: AccountProfile | None = None
        #: The read-only probe a key activation starts, while it runs (tests await it).
        self.probe_task: asyncio.Task[None] | None = None
        #: Looks for the key again while the keyring is locked, so an unlock is picked up alone.
        self.unlock_task: asyncio.Task[None] | None = None
        #: The link to this user's team database, None without team.json (then nothing changes).
        self.team: TeamLink | None = None
        #: The shared company cache's side of this companion (with `team`).
        self.team_companies: TeamCompanies | None = None
        #: The shared aliases' side of this companion (with `team`).
        self.team_aliases: TeamAliases | None = None
        #: Why team.json could not be used (a damaged file), for the status.
        self.team_error: str | None = None
        #: The team database's policy as this companion follows it (the settings' team_policy source).
        self.team_policy = team_policy
        #: The team's side of the CATS rate budget (with `team`): every client's budget consults it.
        self.team_budget: TeamBudget | None = None
        #: The team's person claims the outbox worker creates under (with `team`).
        self.team_claims: TeamClaimsLink | None = None
        inputs = inputs_from(settings)
        #: Accepts pushes and campaign events into the outbox; works without a key (they wait there).
        self.push = PushService(db, inputs, on_queued=self._queued)
        #: Sends the outbox to CATS; it follows `self.client`, so it waits while there is no key.
        self.outbox = OutboxWorker(
            db, lambda: self.client, inputs, publish=self._publish_item, lock_path=lock_path_for(db)
        )

    @classmethod
    async def open(
        cls,
        config: CompanionConfig,
        *,
        key: ApiKey | None = None,
        key_source: KeySource | None = None,
        key_store: KeyStore | None = None,
        client_factory: ClientFactory | None = None,
        tuning: IndexTuning | None = None,
    ) -> Companion:
        """Open the database, build the company index from it and load the API key (`key`, else
        `key_source`, else the OS keyring); nothing runs until `start()`.

        Raises policy.admin_required for a refused admin mode (before anything is opened),
        StoreError/SchemaTooNewError when the database cannot be used; nothing is left open then.
        """
        record, team_error = config.team_record()
        policy = None
        if record is not None:
            policy = TeamPolicyFollower.for_record(record, cache_path=config.data_path() / CACHE_FILE)
            # The last policy received is in force from the first settings read on, its locks with it,
            # whether or not the team database can be reached now.
            policy.load_cache()
        # A refused admin mode must stop start-up before anything is opened (only files were read).
        settings = config.settings_service(team_policy=policy)
        db = await open_database(config.database_path())
        try:
            # The company index is built from the cache before anything can ask for a lookup.
            lookup = await CompanyLookupService.open(db, settings=settings_source(settings), tuning=tuning)
        except BaseException:
            await db.close()
            raise
        source = static_key_source(key) if key is not None else (key_source or _keyring_source)
        companion = cls(
            config,
            db=db,
            settings=settings,
            lookup=lookup,
            key_source=source,
            key_store=key_store,
            client_factory=client_factory,
            team_policy=policy,
        )
        companion.team_error = team_error
        try:
            # Before the client: its sync is wired to publish to the team when there is one.
            if record is not None:
                await companion._open_team(record)
            found = await companion._load_key()
            if found is not None:
                await companion.use_client(companion.new_client(found))
        except BaseException:
            await companion.close()
            raise
        return companion

    # --- life cycle ---------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start what runs in the background: the company sync, the outbox worker, one connection check."""
        self._started = True
        if self.client is not None and self.config.check_connection:
            self.check_task = asyncio.create_task(self.check_connection(), name="cats-connection-check")
        if self.client is None and self.monitor.status.state == "keyring_locked":
            self.unlock_task = asyncio.create_task(self._await_unlock(), name="keyring-unlock")
        if self.team_budget is not None:
            self.team_budget.start()
        if self.team is not None:
            # In a team only the elected syncer runs the company sync (the link starts it).
            self.team.start()
        elif self.sync is not None:
            self.sync.start()
        if self.config.send_outbox:
            self.outbox.start()

    async def close(self) -> None:
        """Stop and close everything, in reverse order of need; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        if self.unlock_task is not None:
            self.unlock_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.unlock_task
            self.unlock_task = None
        if self.check_task is not None:
            self.check_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.check_task
            self.check_task = None
        if self.probe_task is not None:
            self.probe_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.probe_task
            self.probe_task = None
        if self.team is not None:
            # First: releases the syncer lock (stopping this companion's sync) for another to take over.
            await self.team.close()
        # Before the client and database close; an item mid-send stays in flight, checked next time.
        await self.outbox.close()
        if self.sync is not None:
            # Before the database closes: a page being stored is rolled back, never half-written.
            await self.sync.close()
        if self.team_budget is not None:
            # After the last CATS request of the outbox and the sync: the team sees them all.
            await self.team_budget.close()
        if self.team_claims is not None:
            # After the budget, which logs its last requests on this connection.
            await self.team_claims.close()
        # Open event streams never end by themselves: end them, or a server's stop waits for them.
        self.events.close()
        if self.client is not None:
            await self.client.close()
            self.client = None
        self.lookup.close()
        await self.db.close()

    def uptime_seconds(self) -> float:
        return max(0.0, self.clock() - self.started_at)

    # --- the CATS client ------------------------------------------------------------------------------

    def new_client(self, key: ApiKey) -> CatsClient:
        if self._client_factory is not None:
            client = self._client_factory(self.cats_base_url, key)
        else:
            client = CatsClient(self.cats_base_url, key)
        if self.team_budget is not None:
            # The account is the team's: its budget counts every member's requests.
            client.budget.team = self.team_budget
        client.on_answer = self._cats_answered
        return client

    def _cats_answered(self) -> None:
        """CATS answered this key (a sync page, a push, a note, a search): the card's green dot.

        Only a connection already known, or known broken, moves: while the start-up check is still
        out ("unknown"), its answer says which site this is, and that is worth waiting for.
        """
        if self.monitor.status.state in ("unreachable", "bad_key", "connected"):
            self.monitor.record_answered("CATS answered")

    def require_client(self, purpose: str) -> CatsClient:
        """The CATS client, or KeyMissingError saying what needs one (`purpose`: "to search CATS")."""
        if self.client is None:
            raise KeyMissingError(
                f"no CATS API key for {self.cats_base_url}; add one in the settings window {purpose}"
            )
        return self.client

    async def use_client(self, client: CatsClient | None) -> None:
        """Make `client` the CATS client (None: no key) and rebuild the company sync on it."""
        old, self.client = self.client, client
        if self.sync is not None:
            # The scheduler holds the old client, which is about to close; finished pages stay stored.
            await self.sync.close()
            self.sync = None
        if old is not None and old is not client:
            await old.close()
        if client is not None:
            # The account's profile (`cats probe`) shapes the client before anything uses it.
            self.profile = await load_profile(self.db, self.cats_base_url)
            if self.profile is not None:
                self.profile.apply_to(client)
            self.sync = self._build_sync(client)
            if self._started and (self.team is None or self.team.is_syncer or self.team.state == "removed"):
                self.sync.start()
        elif self.team is not None:
            # Without a key this companion cannot sync: let another member of the team do it.
            await self.team.resign()

    async def activate_key(self, key: ApiKey) -> None:
        """Check `key` with one request; only a key CATS accepts is stored (keyring) and used."""
        client = self.new_client(key)
        try:
            info = await client.check_connection()
            # keyring may block on D-Bus: keep it off the event loop.
            await asyncio.to_thread(self._keys().set, self.cats_base_url, key)
        except BaseException:
            await client.close()
            raise
        await self.use_client(client)
        await self.record_connected(info)
        # A daemon started later without --cats-url (by the native host) comes up on this site.
        try:
            await asyncio.to_thread(remember_url, self.cats_base_url, self.config.config_dir)
        except OSError as exc:
            log.warning("the CATS URL could not be kept for daemons started later: %s", exc)
        log.info("CATS API key activated for %s", self.cats_base_url)
        if self.profile is None and self.config.probe_on_activation and self.probe_task is None:
            self.probe_task = asyncio.create_task(self._probe_account(key), name="cats-account-probe")

    async def check_account(self, *, write_probes: bool = False) -> ProbeReport:
        """The account probe on demand (the window's "Check this CATS account"), stored and applied."""
        client = self.require_client("to check the CATS account")
        report = await probe_account(self.cats_base_url, None, write_probes=write_probes, client=client)
        self.profile = await save_profile(
            self.db, self.cats_base_url, report.answers, requests=report.requests, write_probes=write_probes
        )
        self._follow_profile(client)
        return report

    def _follow_profile(self, client: CatsClient) -> None:
        if self.profile is not None and self.client is client:
            self.profile.apply_to(client)
            if self.sync is not None:
                self.sync.engine.date_filter = self.profile.date_modified_filter

    async def _probe_account(self, key: ApiKey) -> None:
        """The read-only account probe, once, on the client's own budget; its answers apply at once."""
        client = self.client
        if client is None:
            return
        try:
            report = await probe_account(self.cats_base_url, key, client=client)
            self.profile = await save_profile(
                self.db, self.cats_base_url, report.answers, requests=report.requests, write_probes=False
            )
        except CompanionError as exc:
            log.warning("the CATS account probe failed: %s", exc.code)
            return
        self._follow_profile(client)
        log.info("CATS account probed in %d requests", report.requests)

    async def forget_key(self) -> bool:
        """Delete the stored key and stop using it; True when there was one."""
        deleted = await asyncio.to_thread(self._keys().delete, self.cats_base_url)
        await self.use_client(None)
        self.monitor.record_not_configured(f"disconnected: no API key stored for {self.cats_base_url}")
        log.info("CATS API key removed for %s", self.cats_base_url)
        return deleted

    async def check_connection(self) -> None:
        """One request to CATS; the result goes to the connection monitor."""
        if self.client is None:
            return
        self.monitor.record_unknown("checking the connection to CATS")
        try:
            info = await self.client.check_connection()
        except CompanionError as exc:
            self.monitor.record_error(exc)
            log.warning("CATS connection check failed: %s", exc.code)
            return
        except Exception:
            log.exception("CATS connection check failed unexpectedly")
            self.monitor.record_unknown("the connection check failed unexpectedly; see the daemon's log")
            return
        await self.record_connected(info)

    async def record_connected(self, info: ConnectionInfo) -> None:
        """A connection check succeeded: say so, and keep the site's subdomain for record links."""
        self.monitor.record_connected(_describe(info), site=info.subdomain)
        await remember_subdomain(self.db, self.cats_base_url, info.subdomain)

    def note_cats_error(self, error: CompanionError) -> None:
        """A CATS error met while serving a request: the connection light says what it taught us."""
        if state_for(error) != "unknown":
            self.monitor.record_error(error)

    # --- what handlers read --------------------------------------------------------------------------

    def rules_inputs(self) -> tuple[Settings, Catalogue]:
        """The effective settings and the CATS field catalogue, as the rules read them now."""
        return self.settings.effective.settings, self.settings.catalogue.current

    def sync_policy(self) -> SyncPolicy:
        """The fixed policy the companion was configured with, else the one the cache settings describe."""
        if self.config.sync is not None:
            return self.config.sync
        cache = self.settings.effective.settings.cache
        return replace(
            SyncPolicy(),
            interval=cache.incremental_interval_minutes * 60.0,
            full_interval=cache.full_scan_interval_hours * 3600.0,
        )

    async def sync_state(self) -> SyncState:
        if self.sync is not None:
            return await self.sync.state()
        # No API key, so no scheduler: the cache is still there and readable.
        return await build_state(CompanyCache(self.db), now=datetime.now(UTC), configured=False)

    def status(self) -> dict[str, object]:
        """Version, uptime, the CATS connection's last known state and the rate budget."""
        connection = self.monitor.status
        budget: dict[str, object] | None = None
        if self.client is not None:
            budget = self.client.budget.snapshot().model_dump(mode="json")
            budget["team"] = self.team_budget.status() if self.team_budget is not None else None
        return {
            "version": self.version,
            "uptime_seconds": round(self.uptime_seconds(), 3),
            "cats": {
                "base_url": self.cats_base_url,
                "state": connection.state,
                "detail": connection.detail,
                "site": connection.site,
                "checked_at": connection.checked_at.isoformat() if connection.checked_at else None,
            },
            "rate_budget": budget,
            "team": self.team_status(),
            # As every lookup reports it: "offline" with the reason while the cache cannot be synced.
            "cache": self.lookup.cache_info().model_dump(mode="json"),
        }

    def cache_offline(self) -> OfflineReason | None:
        """Why the company cache cannot be synced now (None: it can), by what was last learnt."""
        if self.sync_elsewhere() is not None:
            # A team member that does not sync itself gets its companies from the team's database.
            return "team_offline" if self.team is not None and self.team.state == "offline" else None
        state = self.monitor.status.state
        if state == "unreachable":
            return "network"
        if state == "bad_key":
            return "bad_key"
        return "rate_limited" if self._sync_rate_limited and self.sync is not None else None

    def sync_elsewhere(self) -> str | None:
        """Why this companion does not sync companies itself (another member of its team does), else None."""
        if self.team is None or self.team.is_syncer or self.team.state == "removed":
            return None
        syncer = self.team.syncer
        who = f"{syncer!r}'s companion" if syncer else "the member elected next"
        return f"in team mode {who} syncs the companies from CATS; this companion replicates them"

    def team_status(self) -> dict[str, object]:
        """The team section of the status: membership, the link's state, the syncer, replication."""
        link, shared = self.team, self.team_companies
        if link is None or shared is None:
            return {
                "joined": False,
                "state": "not_joined",
                "reason": self.team_error,
                "policy": self.team_policy_status(),
            }
        record = link.record
        head = link.head
        applied = shared.applied
        return {
            "joined": True,
            "team_id": record.team_id,
            "cats_site": {"base_url": record.cats_base_url, "subdomain": record.cats_subdomain},
            "role": record.role,
            "access": record.access,
            "state": link.state,
            "reason": link.reason,
            "syncer": link.syncer,
            "is_syncer": link.is_syncer,
            "replication": {
                "applied_change_no": applied,
                "head_change_no": head,
                "lag_changes": None if head is None or applied is None else max(0, head - applied),
                "last_applied_at": shared.applied_at.isoformat() if shared.applied_at else None,
            },
            "aliases": None if self.team_aliases is None else self.team_aliases.status(),
            "policy": self.team_policy_status(),
            # A removed member claims nothing, even in the moment before the link's removal hook
            # has detached the claims (the link says `removed` first, then stops its loops).
            "claims": None if link.state == "removed" else self.team_claims_status(),
        }

    def team_claims_status(self) -> dict[str, object] | None:
        """The person claims' connection and the outbox items still to send by their claim, as the
        worker's last plan read them: waiting for a teammate's create, going without a claim."""
        claims = self.team_claims
        if claims is None:
            return None
        states = self.outbox.claim_states
        return {
            "state": claims.state,
            "reason": claims.reason,
            "waiting_for_teammate": states.get("waiting", 0),
            "unavailable": states.get("unavailable", 0),
            "claimed": states.get("claimed", 0),
        }

    def team_policy_status(self) -> dict[str, object]:
        """The team database's policy held: `revision` (None: none received), when this companion
        applied it, where from (`database`, `cache`), and `state`: `following` the database,
        `offline` (holding the last one received; `reason` says why), or `none` outside a team."""
        follower = self.team_policy
        if follower is None:
            return {"revision": None, "applied_at": None, "origin": None, "state": "none", "reason": None}
        held = follower.snapshot()
        return {
            "revision": held.revision,
            "applied_at": follower.applied_at.isoformat() if follower.applied_at else None,
            "origin": held.origin,
            "state": "following" if follower.connected else "offline",
            "reason": follower.last_error,
            "changed_by": held.changed_by,
            "changed_at": held.changed_at.isoformat() if held.changed_at else None,
            "locked": sorted(held.policy.locked) if held.policy is not None else [],
            "problems": [problem.message for problem in held.problems],
        }

    # --- wiring -------------------------------------------------------------------------------------

    def _keys(self) -> KeyStore:
        return self._key_store if self._key_store is not None else KeyringKeyStore()

    async def _load_key(self) -> ApiKey | None:
        try:
            # keyring may block on D-Bus: keep it off the event loop.
            found = await asyncio.to_thread(self.key_source, self.cats_base_url)
        except CompanionError as exc:
            known = self.monitor.status.state
            self.monitor.record_error(exc)
            if self.monitor.status.state != known:  # once, not at every retry while the keyring is locked
                log.warning("no CATS API key available: %s", exc.message)
            return None
        if found is None:
            self.monitor.record_not_configured(
                f"no API key stored for {self.cats_base_url}; run `cats-companion key set`"
            )
        return found

    async def _await_unlock(self) -> None:
        """Read the key again every keyring_retry_seconds while the keyring stays locked; once it
        opens, use the key (and check it with CATS) as a start-up would."""
        while self.client is None and self.monitor.status.state == "keyring_locked":
            await asyncio.sleep(self.config.keyring_retry_seconds)
            if self.client is not None:
                return  # a key was activated from the settings window meanwhile
            found = await self._load_key()
            if found is not None:
                log.info("the keyring was unlocked: using the stored CATS API key")
                await self.use_client(self.new_client(found))
                if self.config.check_connection:
                    await self.check_connection()
                return

    async def _open_team(self, record: team_local.TeamRecord) -> None:
        """The team link of this user's team (team.json, read and checked by CompanionConfig.team_record)."""
        shared = TeamCompanies(CompanyCache(self.db), self.lookup.apply_changes)
        await shared.load()
        shared.start_sync = self._start_team_sync
        shared.stop_sync = self._stop_team_sync
        aliases = TeamAliases(self.lookup.aliases.store)
        await aliases.load()
        self.team_companies, self.team_aliases = shared, aliases
        # Each person created once across the team: the worker claims before it creates.
        self.team_claims = TeamClaimsLink(
            record.team_dsn(), self.config.team_password_source(record), tuning=self.config.team_claims_tuning
        )
        self.outbox.use_claims(self.team_claims)
        self.team = TeamLink(
            record,
            self.config.team_password_source(record),
            shared,
            tuning=self.config.team_tuning,
            may_sync=lambda: self.sync is not None,
            version=self.version,
            # The team policy first: an admin's change is in force on every member within a second.
            followers=[aliases] if self.team_policy is None else [self.team_policy, aliases],
        )
        self.team.on_removed = self._removed_from_team
        # Confirmations made here go to the team; the team's come back into the same alias table.
        aliases.wake, aliases.connect = self.team.wake, self.team.connection
        self.lookup.aliases.shared = aliases.queued
        # On the claims' connection: one session for both (why it is safe: companion.team.claims_link).
        self.team_budget = TeamBudget(
            self.team_claims.borrowed,
            tuning=self.config.team_budget_tuning,
            backoff=self.team.tuning.backoff,
        )

    async def _removed_from_team(self) -> None:
        """The team's admin removed this member (the link stopped): go on alone, on SQLite.

        Pushes stop claiming and the budget stops counting with the team (neither can reach it any
        more), and this companion syncs its companies from CATS itself, as without a team. The
        status keeps saying `removed` until `team leave` forgets the team.
        """
        self.outbox.use_claims(None)
        budget, claims = self.team_budget, self.team_claims
        self.team_budget = self.team_claims = None
        if self.client is not None:
            self.client.budget.team = None
        if budget is not None:
            await budget.close()
        if claims is not None:
            await claims.close()
        if self.sync is not None and self._started and not self._closed:
            self.sync.start()

    async def _start_team_sync(self) -> None:
        if self.sync is not None and not self._closed:
            self.sync.start()

    async def _stop_team_sync(self) -> None:
        if self.sync is not None:
            await self.sync.close()

    def _build_sync(self, client: CatsClient) -> SyncScheduler:
        """The sync scheduler on `client`: its changes feed the lookup index, its progress the event hub.

        Failures that say something about the connection (CATS unreachable, key refused) go to the
        connection monitor; a later success clears them.
        """
        engine = CompanySync(client, CompanyCache(self.db))
        engine.date_filter = None if self.profile is None else self.profile.date_modified_filter
        engine.on_change(self.lookup.apply_changes)
        shared = self.team_companies
        if shared is not None:
            # After the local commit and the index: what this companion syncs, the team gets.
            engine.on_change(shared.publish)

        def publish(progress: SyncProgress) -> None:
            self.events.publish(
                SYNC_PROGRESS_EVENT,
                {
                    "phase": progress.phase,
                    "pages_done": progress.pages_done,
                    "pages_total": progress.pages_total,
                    "companies_done": progress.companies_done,
                },
            )

        def publish_cache() -> None:
            self.events.publish(CACHE_STATE_EVENT, self.lookup.cache_info())

        def on_error(error: CompanionError) -> None:
            self._sync_rate_limited = isinstance(error, CatsRateLimitedError)
            if state_for(error) in ("unreachable", "bad_key"):
                self.monitor.record_error(error)
            publish_cache()

        def on_success(_: SyncOutcome) -> None:
            self._sync_rate_limited = False
            if shared is not None:
                shared.publish_marks()
            publish_cache()

        engine.on_progress(publish)
        return SyncScheduler(engine, self.sync_policy, on_error=on_error, on_success=on_success)

    def _publish_item(self, item: OutboxItem) -> None:
        self.events.publish(STATE_EVENT, item.public())

    def _queued(self, items: Sequence[OutboxItem]) -> None:
        for item in items:
            self._publish_item(item)
        self.outbox.notify()


def _describe(info: ConnectionInfo) -> str:
    if info.subdomain:
        return f"connected to the CATS site {info.subdomain!r}"
    return "connected to CATS" if info.site_id is None else f"connected to CATS site {info.site_id}"


__all__ = [
    "CACHE_STATE_EVENT",
    "SYNC_PROGRESS_EVENT",
    "ClientFactory",
    "Companion",
    "CompanionConfig",
    "KeySource",
    "static_key_source",
]
