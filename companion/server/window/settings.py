"""The settings' loopback API: values and locks, the field catalogue, the CATS connection, the team policy.

    GET    /api/settings            effective values, each setting's source and lock, problems, warnings
    PATCH  /api/settings            {path: value, ...}: all applied or none (settings.locked/unknown/invalid)
    POST   /api/settings/reset      {"paths": [...]} or {"all": true}: back to the team's or built-in value
    GET    /api/settings/schema     JSON schema of the settings, every setting path, our variables
    GET    /api/catalogue           standard and custom fields per record type, CATS users
    POST   /api/catalogue/refresh   ask CATS again (four requests)
    POST   /api/connection          {"api_key": ...}: checked with one request, then kept in the keyring
    DELETE /api/connection          forget the key
    POST   /api/cats/probe          {"write_probes": bool}: probe the CATS account (cats probe)
    GET    /api/policy              (admin) the team policy in force
    PUT    /api/policy              (admin) replace it, installed in the site config dir
    GET    /api/policy/export       (admin) the policy file as a download

The API key arrives only in a POST body, is wrapped in ApiKey at once and is never echoed,
logged or put in an error.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any, Final

from aiohttp import web

from companion.app import Companion
from companion.cats.budget import Priority
from companion.errors import BadRequestError, KeyMissingError
from companion.secret import ApiKey
from companion.server.routes import ApiRoutes, mutating
from companion.server.state import COMPANION_KEY
from companion.settings import tree
from companion.settings.fields import COMPANY_FIELDS, STANDARD_FIELDS, StandardField
from companion.settings.models import Settings
from companion.settings.service import SettingsService
from companion.settings.variables import VARIABLES

log = logging.getLogger(__name__)

SETTINGS_PATH: Final = "/api/settings"
RESET_PATH: Final = "/api/settings/reset"
SCHEMA_PATH: Final = "/api/settings/schema"
CATALOGUE_PATH: Final = "/api/catalogue"
CATALOGUE_REFRESH_PATH: Final = "/api/catalogue/refresh"
CONNECTION_PATH: Final = "/api/connection"
PROBE_PATH: Final = "/api/cats/probe"
POLICY_PATH: Final = "/api/policy"
POLICY_EXPORT_PATH: Final = "/api/policy/export"


def _companion(request: web.Request) -> Companion:
    return request.app[COMPANION_KEY]


def _settings(request: web.Request) -> SettingsService:
    return _companion(request).settings


async def _json_object(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        # The decoder's message quotes no input, but say nothing of the body anyway: it may hold a key.
        raise BadRequestError("the request body must be a JSON object") from None
    if not isinstance(body, dict):
        raise BadRequestError("the request body must be a JSON object")
    return body


# --- settings --------------------------------------------------------------------------------------


async def get_settings(request: web.Request) -> web.Response:
    return web.json_response(_settings(request).view())


@mutating
async def patch_settings(request: web.Request) -> web.Response:
    service = _settings(request)
    service.patch(await _json_object(request))
    return web.json_response(service.view())


@mutating
async def reset_settings(request: web.Request) -> web.Response:
    service = _settings(request)
    body = await _json_object(request)
    if body.get("all") is True and set(body) == {"all"}:
        service.reset(None)
    else:
        paths = body.get("paths")
        if (
            set(body) != {"paths"}
            or not isinstance(paths, list)
            or not all(isinstance(p, str) for p in paths)
        ):
            raise BadRequestError('give {"paths": [setting paths]} or {"all": true}')
        service.reset(list(paths))
    return web.json_response(service.view())


def _fields(fields: Mapping[str, StandardField]) -> list[dict[str, str]]:
    return [{"ref": f.ref, "label": f.label, "type": f.type} for f in fields.values()]


async def get_schema(request: web.Request) -> web.Response:
    standard: dict[str, Mapping[str, StandardField]] = {"companies": COMPANY_FIELDS}
    for record_type, fields in STANDARD_FIELDS.items():
        standard[record_type] = fields
    return web.json_response(
        {
            "schema": Settings.model_json_schema(),
            "paths": list(tree.leaf_paths()),
            "variables": [
                {
                    "key": v.key,
                    "kind": v.kind,
                    "value": v.value,
                    "label": v.label,
                    "description": v.description,
                }
                for v in VARIABLES
            ],
            "standard_fields": {resource: _fields(fields) for resource, fields in standard.items()},
        }
    )


# --- the field catalogue ---------------------------------------------------------------------------


async def get_catalogue(request: web.Request) -> web.Response:
    store = _settings(request).catalogue
    return web.json_response(store.current.describe(now=store.now(), ttl=store.ttl))


@mutating
async def refresh_catalogue(request: web.Request) -> web.Response:
    store = _settings(request).catalogue
    client = _companion(request).client
    if client is None:
        raise KeyMissingError("connect to CATS first: the field catalogue comes from CATS")
    catalogue = await store.refresh(client, priority=Priority.INTERACTIVE)
    return web.json_response(catalogue.describe(now=store.now(), ttl=store.ttl))


# --- the CATS connection ---------------------------------------------------------------------------


@mutating
async def probe(request: web.Request) -> web.Response:
    """The account probe; write probes only when the body asks for them (the window confirms first)."""
    body = await _json_object(request)
    writes = body.get("write_probes", False)
    if set(body) - {"write_probes"} or not isinstance(writes, bool):
        raise BadRequestError('give {"write_probes": true or false}')
    report = await _companion(request).check_account(write_probes=writes)
    return web.json_response(report.model_dump(mode="json"))


@mutating
async def activate(request: web.Request) -> web.Response:
    """Check the key with one request; only a key CATS accepts is stored and used."""
    companion = _companion(request)
    body = await _json_object(request)
    text = body.get("api_key")
    if set(body) != {"api_key"} or not isinstance(text, str) or not text.strip():
        raise BadRequestError(
            'give {"api_key": "<the key from CATS: Administration, Site Management, API Keys>"}'
        )
    await companion.activate_key(ApiKey(text))
    return web.json_response(_connection(companion))


@mutating
async def disconnect(request: web.Request) -> web.Response:
    companion = _companion(request)
    deleted = await companion.forget_key()
    return web.json_response({**_connection(companion), "deleted": deleted})


def _connection(companion: Companion) -> dict[str, Any]:
    status = companion.monitor.status
    return {"base_url": companion.cats_base_url, "state": status.state, "detail": status.detail}


# --- the team policy (admin) -----------------------------------------------------------------------


async def get_policy(request: web.Request) -> web.Response:
    service = _settings(request)
    document = service.policy_document()
    load = service.policy_load
    return web.json_response(
        {
            "policy": document,
            "path": str(load.path) if load.path else None,
            "origin": load.origin,
            "problems": [problem.model_dump(mode="json") for problem in load.problems],
        }
    )


@mutating
async def put_policy(request: web.Request) -> web.Response:
    service = _settings(request)
    service.put_policy(await _json_object(request))
    return web.json_response(service.view())


async def export_policy(request: web.Request) -> web.Response:
    document = _settings(request).policy_document()
    return web.Response(
        text=json.dumps(document, indent=2, sort_keys=True) + "\n",
        content_type="application/json",
        headers={"Content-Disposition": 'attachment; filename="policy.json"'},
    )


def register(routes: ApiRoutes) -> None:
    routes.add("GET", SETTINGS_PATH, get_settings)
    routes.add("PATCH", SETTINGS_PATH, patch_settings)
    routes.add("POST", RESET_PATH, reset_settings)
    routes.add("GET", SCHEMA_PATH, get_schema)
    routes.add("GET", CATALOGUE_PATH, get_catalogue)
    routes.add("POST", CATALOGUE_REFRESH_PATH, refresh_catalogue)
    routes.add("POST", CONNECTION_PATH, activate)
    routes.add("DELETE", CONNECTION_PATH, disconnect)
    routes.add("POST", PROBE_PATH, probe)
    routes.add("GET", POLICY_PATH, get_policy)
    routes.add("PUT", POLICY_PATH, put_policy)
    routes.add("GET", POLICY_EXPORT_PATH, export_policy)
