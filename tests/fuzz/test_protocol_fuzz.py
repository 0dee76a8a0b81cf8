"""`POST /api/native` on a real daemon under random envelopes and params for every registered message type.

Each reply must be a well-formed envelope (strict JSON, the request's id, `ok` with data or an error
with a known code, never `internal`), and a refused request -- or any request of a type that does
not declare writes -- must leave the database and the settings file exactly as they were.

The daemon has the sandbox's key (so CATS-backed types run for real) and does not send its outbox,
so what a push queues stays visible. Hypothesis runs in a worker thread and talks HTTP with the
standard library, leaving the event loop free to serve.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from companion.nmhost.wire import NATIVE_PATH
from companion.server.daemon import RunningDaemon
from companion.server.operations import TABLE
from tests.fixtures.daemon import DaemonFactory
from tests.fixtures.sandbox import SandboxFactory
from tests.fuzz.strategies import from_model, fuzz_settings, huge_text, json_values, mutated, people, text
from tests.fuzz.support import KNOWN_CODES, file_state, snapshot_db, strict_json

pytestmark = pytest.mark.timeout(120)

REGISTRY = TABLE
TYPES = REGISTRY.names()
#: Well-formed params of the types whose rules random schema values rarely satisfy (one campaign, by id
#: or name; an outreach type exactly when the event is an outreach), naming the rows `target` arranges.
Fields = dict[str, Any]
_campaign: st.SearchStrategy[Fields] = st.sampled_from(
    [{"campaign_id": 1}, {"campaign": "Fuzz"}, {"campaign_id": 2}]
)
_who: st.SearchStrategy[Fields] = people.map(lambda p: {"person": p}) | st.integers(1, 3).map(
    lambda n: {"person_id": n}
)
_event: st.SearchStrategy[Fields] = st.sampled_from(
    [
        {"type": "added"},
        {"type": "replied"},
        {"type": "interested"},
        {"type": "outreach", "outreach": "email_sent", "text": "Hello"},
        {"type": "outreach", "outreach": "call"},
    ]
)
REALISTIC: dict[str, st.SearchStrategy[Any]] = {
    "EventRequest": st.tuples(_campaign, _who, _event).map(
        lambda parts: {k: v for p in parts for k, v in p.items()}
    ),
    "MemberRequest": st.tuples(_campaign, _who).map(lambda parts: {**parts[0], **parts[1]}),
    "ConfirmParams": st.fixed_dictionaries(
        {"name": st.sampled_from(["Acme", "Globex BV", "Initech"]), "company_id": st.integers(1, 3)}
    ),
}
#: Examples per message type (the whole property runs this many times for each of the types).
EXAMPLES_PER_TYPE = 25


@dataclass
class Target:
    daemon: RunningDaemon

    @property
    def db_path(self) -> Path:
        return self.daemon.companion.db.path

    @property
    def settings_path(self) -> Path:
        assert self.daemon.companion.settings is not None
        return self.daemon.companion.settings.user_path

    def state(self) -> tuple[Any, bytes | None]:
        self._settle()
        return snapshot_db(self.db_path), file_state(self.settings_path)

    def _settle(self) -> None:
        """Wait (bounded) for a company sync an earlier `sync.start` began: its pages are its own writes."""
        deadline = time.monotonic() + 30
        sync = self.daemon.companion.sync
        while sync is not None and sync.running and time.monotonic() < deadline:
            time.sleep(0.01)

    def post(self, body: bytes) -> tuple[int, bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.daemon.port, timeout=30)
        try:
            connection.request(
                "POST",
                NATIVE_PATH,
                body=body,
                headers={"Authorization": f"Bearer {self.daemon.token}", "Content-Type": "application/json"},
            )
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()


@pytest.fixture
async def target(sandbox_factory: SandboxFactory, daemon_factory: DaemonFactory) -> AsyncIterator[Target]:
    sandbox = await sandbox_factory(seed=4, seed_random=1, rate_limit=0)
    daemon = await daemon_factory(
        key=sandbox.key, cats_base_url=sandbox.url, send_outbox=False, check_connection=False
    )
    found = Target(daemon)
    # Rows for the ids hypothesis draws first (1, 2...): a campaign, a person, outbox items, events.
    arrange = [
        {"type": "campaign.create", "params": {"name": "Fuzz", "sync_trigger": "on_add"}},
        {"type": "person.push", "params": {"person": {"first_name": "Ada", "last_name": "Lovelace"}}},
        {
            "type": "event.record",
            "params": {
                "campaign_id": 1,
                "person": {"first_name": "Grace", "last_name": "Hopper", "emails": ["grace@x.org"]},
                "type": "added",
            },
        },
    ]
    for number, message in enumerate(arrange, 1):
        status, body = await asyncio.to_thread(found.post, json.dumps({"id": number, **message}).encode())
        assert status == 200 and strict_json(body)["ok"] is True, body
    yield found


def check_reply(status: int, body: bytes, sent_id: Any) -> dict[str, Any]:
    assert status == 200, (status, body[:300])
    reply = strict_json(body)
    assert isinstance(reply, dict) and reply.get("id") == sent_id, reply
    if reply["ok"] is True:
        assert set(reply) == {"id", "ok", "data"} and isinstance(reply["data"], dict)
    else:
        assert reply["ok"] is False and set(reply) == {"id", "ok", "error"}, reply
        error = reply["error"]
        assert error["code"] in KNOWN_CODES, error  # never "internal": that is a bug
        assert isinstance(error["message"], str) and error["message"], error
    return reply


@pytest.mark.parametrize("type_name", TYPES)
async def test_every_type_answers_random_params_with_a_well_formed_envelope_and_refusals_change_nothing(
    target: Target, type_name: str
) -> None:
    spec = REGISTRY.get(type_name)
    assert spec is not None
    params = mutated(from_model(spec.params, REALISTIC))
    #: Replies from the handler itself (not refused at validation): the property went past the door.
    handled: list[dict[str, Any]] = []

    @fuzz_settings(max_examples=EXAMPLES_PER_TYPE)
    @given(params=params, message_id=st.integers(1, 10**9) | st.text(min_size=1, max_size=16))
    def property_(params: Any, message_id: int | str) -> None:
        before = target.state()
        envelope = {"id": message_id, "type": type_name, "params": params, "v": 1}
        status, body = target.post(json.dumps(envelope, ensure_ascii=False).encode())
        reply = check_reply(status, body, message_id)
        if reply["ok"] is False or not spec.mutates:
            assert target.state() == before, reply
        if reply["ok"] is True or not reply["error"]["message"].startswith("invalid params"):
            handled.append(reply)

    await asyncio.to_thread(property_)
    assert handled, f"no generated {type_name} request got past validation"


envelope_fields = st.fixed_dictionaries(
    {},
    optional={
        "id": st.integers() | text | st.sampled_from([None, True, 1.5, "", "x" * 129]) | json_values,
        "type": st.sampled_from(TYPES)
        | text
        | st.sampled_from(["", "Hello", "a..b", "x" * 101])
        | json_values,
        "params": json_values | huge_text,
        "v": st.sampled_from([0, 1, 2, -1, "1", None, True]),
    },
)
#: The fields above plus unknown ones.
envelope_mutations = st.tuples(envelope_fields, st.dictionaries(text, json_values, max_size=2)).map(
    lambda parts: {**parts[1], **parts[0]}
)
raw_bodies = st.one_of(
    st.binary(max_size=80),
    st.binary(max_size=40).map(lambda b: b"\xc3\x28" + b),
    json_values.map(lambda v: json.dumps(v).encode()),
    envelope_mutations.map(lambda e: json.dumps(e, ensure_ascii=False).encode()),
    st.sampled_from(
        [
            b'{"id": 1, "type": "ping", "params": {"echo": NaN}}',
            b'{"id": Infinity, "type": "ping"}',
            b'{"id": 1, "id": 2, "type": "ping"}',
            b"\xef\xbb\xbf{}",
            b"",
        ]
    ),
)


async def test_malformed_bodies_are_refused_with_a_request_error_and_change_nothing(target: Target) -> None:
    refusals = {"request.invalid", "request.unknown_type", "request.unsupported_version", "request.too_large"}

    @fuzz_settings(max_examples=200)
    @given(body=raw_bodies)
    def property_(body: bytes) -> None:
        before = target.state()
        status, answer = target.post(body)
        assert status == 200, answer
        reply = strict_json(answer)
        if reply["ok"] is False:
            assert reply["error"]["code"] in KNOWN_CODES, reply
            if reply["error"]["code"] in refusals:
                assert target.state() == before, reply

    await asyncio.to_thread(property_)


async def test_a_body_over_one_mebibyte_is_refused_before_dispatch(target: Target) -> None:
    body = json.dumps({"id": 1, "type": "ping", "params": {"echo": "x" * (1024 * 1024)}}).encode()
    status, answer = await asyncio.to_thread(target.post, body)
    assert status == 413
    assert strict_json(answer)["error"]["code"] == "request.too_large"
