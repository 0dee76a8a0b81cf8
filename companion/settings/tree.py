"""Setting paths: the leaves of the Settings tree, overlaying values by path, and readable validation errors.

`general.notes_upon.call.activity_type` is a leaf (one setting); `general.notes_upon.call` is a
section, and a value given for a section path stands for its leaves (`{"create_note": ...,
"activity_type": ...}`), so the API, the user's file and the team policy all reduce to a flat
`{leaf path: JSON value}` before anything is validated.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Iterable, Mapping
from typing import Any, Final

from pydantic import BaseModel, ValidationError

from companion.errors import SettingsInvalidError, SettingsUnknownError
from companion.settings.base import Section
from companion.settings.models import Settings

_MAX_SHOWN_INPUT: Final = 60


def _walk(model: type[BaseModel], prefix: str) -> Iterable[tuple[str, bool]]:
    """(path, is_leaf) for every field under `model`, sections before their leaves."""
    for name, info in model.model_fields.items():
        path = f"{prefix}{name}"
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, Section):
            yield path, False
            yield from _walk(annotation, f"{path}.")
        else:
            yield path, True


@functools.cache
def leaf_paths() -> tuple[str, ...]:
    """Every setting's path, in the models' order."""
    return tuple(path for path, leaf in _walk(Settings, "") if leaf)


@functools.cache
def section_paths() -> frozenset[str]:
    return frozenset(path for path, leaf in _walk(Settings, "") if not leaf)


@functools.cache
def _builtin_tree() -> dict[str, Any]:
    return Settings().model_dump(mode="json")


def builtin_values() -> dict[str, Any]:
    """Every leaf path with its built-in value (JSON form)."""
    return flatten(Settings())


def leaves_under(path: str) -> list[str]:
    """The leaf paths a (leaf or section) path covers; SettingsUnknownError when it is neither."""
    if path in leaf_paths():
        return [path]
    if path in section_paths():
        return [leaf for leaf in leaf_paths() if leaf.startswith(f"{path}.")]
    raise SettingsUnknownError(f"{path!r} is not a setting", paths=[path])


def expand(changes: Mapping[str, Any]) -> dict[str, Any]:
    """`{path: value}` with section paths spelt out as their leaves; every unknown path is named at once."""
    leaves: dict[str, Any] = {}
    unknown: list[str] = []
    for path, value in changes.items():
        _expand_one(str(path), value, leaves, unknown)
    if unknown:
        raise SettingsUnknownError(
            f"unknown setting{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}", paths=unknown
        )
    return leaves


def _expand_one(path: str, value: Any, leaves: dict[str, Any], unknown: list[str]) -> None:
    if path in leaf_paths():
        leaves[path] = value
    elif path in section_paths() and isinstance(value, dict):
        for key, inner in value.items():
            _expand_one(f"{path}.{key}", inner, leaves, unknown)
    elif path in section_paths():
        raise SettingsInvalidError(
            f"{path}: is a group of settings; give an object of its settings",
            details=[{"path": path, "message": "is a group of settings; give an object of its settings"}],
        )
    else:
        unknown.append(path)


def flatten(settings: Settings) -> dict[str, Any]:
    tree = settings.model_dump(mode="json")
    return {path: _get(tree, path) for path in leaf_paths()}


def _get(tree: Mapping[str, Any], path: str) -> Any:
    node: Any = tree
    for part in path.split("."):
        node = node[part]
    return node


def build(values: Mapping[str, Any]) -> Settings:
    """The built-in settings overlaid with `values` (leaf paths): SettingsInvalidError naming each bad key."""
    tree = copy.deepcopy(_builtin_tree())
    for path, value in values.items():
        *parents, last = path.split(".")
        node = tree
        for part in parents:
            node = node[part]
        node[last] = copy.deepcopy(value)
    try:
        return Settings.model_validate(tree)
    except ValidationError as exc:
        details = readable_errors(exc)
        raise SettingsInvalidError(
            "; ".join(f"{d['path']}: {d['message']}" for d in details), details=details
        ) from None


def readable_errors(exc: ValidationError) -> list[dict[str, str]]:
    """pydantic's errors as `{path, message}` in plain words; `path` is the setting concerned."""
    details: list[dict[str, str]] = []
    for error in exc.errors():
        context = error.get("ctx") or {}
        loc = ".".join(
            str(part) for part in (*error["loc"], *([context["leaf"]] if "leaf" in context else []))
        )
        path = str(context.get("path") or _setting_of(loc))
        inner = loc[len(path) + 1 :] if loc.startswith(f"{path}.") else ""
        message = _plain(error)
        details.append({"path": path, "message": f"{inner}: {message}" if inner else message})
    return details


def _setting_of(loc: str) -> str:
    """The leaf setting a validation location falls in (`sync.candidates.protected_fields.0.field`)."""
    best = ""
    for path in leaf_paths():
        if (loc == path or loc.startswith(f"{path}.")) and len(path) > len(best):
            best = path
    return best or loc or "settings"


def _plain(error: Any) -> str:
    kind = error["type"]
    message = str(error["msg"])
    if kind == "extra_forbidden":
        return "is not a known key here"
    if kind == "missing":
        return "is required"
    message = message.removeprefix("Value error, ").replace("Input should be", "must be")
    if kind not in {"value_error", "mandatory_unfillable", "field_ref"} and _is_scalar(error.get("input")):
        shown = repr(error["input"])
        if len(shown) > _MAX_SHOWN_INPUT:
            shown = shown[: _MAX_SHOWN_INPUT - 3] + "..."
        message = f"{message} (got {shown})"
    return message


def _is_scalar(value: object) -> bool:
    return value is None or isinstance(value, str | int | float | bool)
