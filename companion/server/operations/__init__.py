"""The operations table: every use case the daemon serves, declared once (name, params, writes?, handler).

The native session serves every row (one message type each; native-messaging/PROTOCOL.md documents
them); the loopback HTTP API serves the few rows the settings window and the CLI need, by name,
through companion.server.http_operations. Adding a message type is one row here and a handler in
the feature's module.
"""

from __future__ import annotations

from companion.protocol import NoParams
from companion.server.operations import (
    account,
    companies,
    core,
    crm,
    person,
    pushes,
    sync,
    team_aliases,
    team_policy,
)
from companion.server.operations.base import Call, Operation, Operations
from companion.services.campaigns import CampaignCreate
from companion.services.crm_search import FieldsParams
from companion.services.crm_search import SearchParams as CrmSearchParams
from companion.services.push import EventRequest, PushRequest

# `mutates=True`: the handler may write to the database; every other one runs where writes raise.
TABLE = Operations(
    [
        Operation("hello", core.hello, NoParams),
        Operation("ping", core.ping, core.PingParams),
        Operation("status", core.status, NoParams),
        Operation("window.link", core.window_link, NoParams, mutates=True),
        # Companies, from the cache only.
        Operation("company.lookup", companies.lookup, companies.LookupParams),
        Operation("company.search", companies.search, companies.SearchParams),
        Operation("company.confirm", companies.confirm, companies.ConfirmParams, mutates=True),
        Operation("company.unconfirm", companies.unconfirm, companies.UnconfirmParams, mutates=True),
        # The aliases shared with the team (the settings window's list and an admin's undo).
        Operation("team.aliases", team_aliases.aliases, team_aliases.AliasListParams),
        Operation("team.alias_undo", team_aliases.alias_undo, team_aliases.AliasUndoParams, mutates=True),
        Operation("sync.state", sync.state, NoParams),
        Operation("sync.start", sync.start, sync.SyncRequest, mutates=True),
        Operation("cats.probe", account.probe, account.ProbeParams, mutates=True),
        # The person panel: both may cache the CATS site's subdomain the first time it is learnt.
        Operation("person.form", person.form, person.FormParams, mutates=True),
        Operation("person.status", person.status, person.StatusParams, mutates=True),
        Operation("person.push", pushes.person_push, PushRequest, mutates=True),
        # Campaigns and their events.
        Operation("campaign.list", pushes.campaign_list, pushes.CampaignListQuery),
        Operation("campaign.create", pushes.campaign_create, CampaignCreate, mutates=True),
        Operation("campaign.update", pushes.campaign_update, pushes.CampaignUpdate, mutates=True),
        Operation("campaign.archive", pushes.campaign_archive, pushes.ItemRef, mutates=True),
        Operation("campaign.add_member", pushes.campaign_add_member, pushes.MemberRequest, mutates=True),
        Operation("event.record", pushes.event_record, EventRequest, mutates=True),
        Operation("event.import", pushes.event_import, pushes.ImportRequest, mutates=True),
        # The outbox and its log.
        Operation("outbox.list", pushes.outbox_list, pushes.OutboxQuery),
        Operation("outbox.get", pushes.outbox_get, pushes.ItemRef),
        Operation("outbox.retry", pushes.outbox_retry, pushes.ItemRef, mutates=True),
        Operation("outbox.cancel", pushes.outbox_cancel, pushes.ItemRef, mutates=True),
        Operation("push.log", pushes.push_log, pushes.LogQuery),
        # The CRM search page (a search may cache the site's subdomain: a write).
        Operation("crm.fields", crm.fields, FieldsParams),
        Operation("crm.search", crm.crm_search, CrmSearchParams, mutates=True),
        # The team database's policy (the settings window edits it; PostgreSQL says who may).
        Operation("team.policy.get", team_policy.policy_get, NoParams),
        Operation("team.policy.put", team_policy.policy_put, team_policy.PolicyWrite, mutates=True),
    ]
)

__all__ = ["TABLE", "Call", "Operation", "Operations"]
