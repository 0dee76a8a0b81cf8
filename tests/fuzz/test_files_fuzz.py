"""Settings files, team policy files, settings changes and event import files under random documents.

A document that cannot be used is refused with a clear error that names the file, key or entry, and
changes nothing: the effective settings, the files on disk and the database stay exactly as they were.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from companion.errors import (
    EventImportInvalidError,
    PolicyInvalidError,
    SettingsInvalidError,
    SettingsLockedError,
    SettingsUnknownError,
)
from companion.services.campaigns import CampaignCreate
from companion.services.push import EventRequest, PushService, RulesInputs
from companion.settings import tree
from companion.settings.catalogue import Catalogue
from companion.settings.catalogue_store import CatalogueStore
from companion.settings.models import Settings
from companion.settings.policy import POLICY_FILE, parse_policy
from companion.settings.service import SettingsService
from companion.settings.storage import SETTINGS_FILE
from companion.store import open_database
from tests.fuzz.strategies import fuzz_settings, json_values, mutated, people, text
from tests.fuzz.support import LoopBridge, file_state, snapshot_db

pytestmark = pytest.mark.timeout(120)

LEAVES = tree.leaf_paths()
SECTIONS = sorted(tree.section_paths())
BUILTIN = tree.builtin_values()
paths = st.sampled_from(LEAVES) | st.sampled_from(SECTIONS) | text
#: A leaf's built-in value (valid), or anything at all.
values = st.sampled_from(sorted(BUILTIN.items())).map(lambda item: item[1]) | json_values
settings_values = st.dictionaries(paths, values, max_size=4)
settings_documents = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {"version": st.sampled_from([1, 1, 1, 0, 2, "1", True, None, 1.0])},
        optional={"values": settings_values | json_values, "extra": json_values},
    ),
)
policy_documents = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {"version": st.sampled_from([1, 1, 1, 2, "1", None])},
        optional={
            "defaults": settings_values | json_values,
            "locked": st.lists(paths, max_size=3) | json_values,
            "other": json_values,
        },
    ),
)


def bad_paths(document: object) -> list[str]:
    """Top-level paths of a settings document's values that name no setting, or a group given no object."""
    if not isinstance(document, dict) or not isinstance(document.get("values"), dict):
        return []
    if (
        set(document) != {"version", "values"}
        or type(document["version"]) is not int
        or document["version"] != 1
    ):
        return []  # the document is refused for its envelope before any path is looked at
    return [
        path
        for path, value in document["values"].items()
        if (path not in LEAVES and path not in SECTIONS) or (path in SECTIONS and not isinstance(value, dict))
    ]


def service_in(root: Path, **kwargs: Any) -> SettingsService:
    return SettingsService(
        config_dir=root / "config",
        site_dir=root / "site",
        catalogue=CatalogueStore(root / "catalogue.json"),
        environ={},
        **kwargs,
    )


@fuzz_settings(max_examples=300)
@given(document=policy_documents)
def test_parse_policy_accepts_a_valid_policy_or_refuses_with_policy_invalid_and_nothing_else(
    document: Any,
) -> None:
    try:
        policy = parse_policy(document)
    except PolicyInvalidError as exc:
        assert exc.message.strip()
        return
    assert set(policy.defaults) <= set(LEAVES) and policy.locked <= set(LEAVES)


def test_a_settings_file_that_cannot_be_used_applies_nothing_names_its_problem_and_stays_as_written(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    numbers = itertools.count()

    @fuzz_settings(max_examples=250)
    @given(document=settings_documents, raw=st.none() | st.binary(max_size=40))
    def property_(document: Any, raw: bytes | None) -> None:
        root = tmp_path_factory.mktemp(f"settings{next(numbers)}")
        path = root / "config" / SETTINGS_FILE
        path.parent.mkdir(parents=True)
        written = raw if raw is not None else json.dumps(document).encode()
        if raw is not None:
            try:
                document = json.loads(raw)
            except ValueError:
                document = None
        path.write_bytes(written)
        service = service_in(root)
        effective = service.effective
        view = service.view()
        assert path.read_bytes() == written, "reading the settings rewrote the file"
        if effective.user_problems:
            assert effective.user == {} and effective.settings == Settings()
            messages = " ".join(problem.message for problem in effective.user_problems)
            assert str(path) in messages
            named = bad_paths(document)
            assert not named or any(path in messages for path in named), messages
            assert view["problems"]
        else:
            assert effective.user == tree.expand(
                document.get("values", {}) if isinstance(document, dict) else {}
            )

    property_()


def test_a_policy_file_that_cannot_be_used_applies_no_default_and_no_lock(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    numbers = itertools.count()

    @fuzz_settings(max_examples=200)
    @given(document=policy_documents)
    def property_(document: Any) -> None:
        root = tmp_path_factory.mktemp(f"policy{next(numbers)}")
        path = root / "site" / POLICY_FILE
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps(document), encoding="utf-8")
        service = service_in(root)
        load = service.policy_load
        effective = service.effective
        if load.policy is None:
            assert effective.settings == Settings() and effective.locked == frozenset()
            assert any(
                str(path) in problem.message and "not applied" in problem.message for problem in load.problems
            )
        else:
            assert effective.locked == load.policy.locked

    property_()


def test_a_refused_change_of_settings_or_policy_changes_no_file_and_no_setting(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    numbers = itertools.count()
    lock = {
        "version": 1,
        "defaults": {"general.do_not_merge": True},
        "locked": ["general.do_not_merge", "mapping.contacts"],
    }

    @fuzz_settings(max_examples=250)
    @given(changes=mutated(settings_values), new_policy=policy_documents)
    def property_(changes: Any, new_policy: Any) -> None:
        root = tmp_path_factory.mktemp(f"patch{next(numbers)}")
        (root / "site").mkdir()
        (root / "site" / POLICY_FILE).write_text(json.dumps(lock), encoding="utf-8")
        service = service_in(root, admin=True)
        service.patch({"general.company_warning_level": "exact"})
        files = [service.user_path, root / "site" / POLICY_FILE]
        before = ([file_state(f) for f in files], service.effective.settings, service.effective.user)
        try:
            service.patch(changes if isinstance(changes, dict) else {"x": changes})
        except (SettingsUnknownError, SettingsLockedError, SettingsInvalidError) as exc:
            assert exc.message.strip()
            if isinstance(exc, SettingsUnknownError | SettingsLockedError):
                assert exc.paths and all(p in exc.message for p in exc.paths)
            assert (
                [file_state(f) for f in files],
                service.effective.settings,
                service.effective.user,
            ) == before
        try:
            service.put_policy(new_policy)
        except PolicyInvalidError as exc:
            assert exc.message.strip()
            assert file_state(files[1]) == before[0][1]

    property_()


def entries_of(document: object) -> list[Any] | None:
    events = document.get("events") if isinstance(document, dict) else document
    return events if isinstance(events, list) else None


async def test_an_event_import_is_applied_whole_or_refused_naming_the_entry_with_the_database_unchanged(
    tmp_path: Path,
) -> None:
    bridge = LoopBridge.current()
    db = await open_database(tmp_path / "import.db")
    inputs = RulesInputs(Settings(), Catalogue())
    service = PushService(db, lambda: inputs)
    await service.campaigns.create(CampaignCreate(name="Fuzz", sync_trigger="never"))
    valid_event = st.fixed_dictionaries(
        {"campaign": st.just("Fuzz"), "person": people, "type": st.just("added")},
        optional={"id": st.text(min_size=1, max_size=12), "text": text},
    )
    entries = st.lists(valid_event, max_size=4) | st.lists(mutated(valid_event), min_size=1, max_size=4)
    documents = entries | entries.map(lambda events: {"events": events}) | json_values

    @fuzz_settings(max_examples=150)
    @given(document=documents)
    def property_(document: Any) -> None:
        before = snapshot_db(db.path)
        try:
            result = bridge.run(service.import_events(document))
        except EventImportInvalidError as exc:
            assert snapshot_db(db.path) == before, "a refused import changed the database"
            listed = entries_of(document)
            if exc.entry is not None:
                assert listed is not None and 0 <= exc.entry < len(listed)
                assert f"entry {exc.entry}" in exc.message
                for earlier in listed[: exc.entry]:
                    EventRequest.model_validate(earlier)  # every entry before the named one is valid
            else:
                assert listed is None or len(listed) > 10_000
        else:
            listed = entries_of(document)
            assert listed is not None and result.events == len(listed)

    try:
        await asyncio.to_thread(property_)
    finally:
        await db.close()
