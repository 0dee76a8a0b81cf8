"""Hypothesis strategies of the fuzz tests: any JSON, values shaped by a model's JSON schema, mutations.

`from_model(Model)` draws mostly-valid params for a message type from `Model.model_json_schema()`
(hypothesis-jsonschema does not work with the hypothesis we use, and our schemas need only a small
subset of JSON Schema); `mutated(...)` then breaks them the ways a buggy or hostile caller would:
wrong types, extra fields, nulls, missing fields, huge strings and out-of-range numbers.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from pydantic import BaseModel

#: Every fuzz property is derandomised and keeps no example database, so CI runs the same examples.
FUZZ_HEALTH: Final = [
    HealthCheck.too_slow,
    HealthCheck.data_too_large,
    HealthCheck.function_scoped_fixture,
    HealthCheck.filter_too_much,
]


def fuzz_settings(max_examples: int) -> settings:
    return settings(
        max_examples=max_examples,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=FUZZ_HEALTH,
        print_blob=True,
    )


#: Strings that break naive code: control characters, surrogate-free astral text, JSON and SQL syntax.
NASTY_TEXT: Final = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "\u202e",
        "é" * 3,
        "😀",
        "'; DROP TABLE outbox; --",
        '{"id": 1}',
        "../../etc/passwd",
        "<script>alert(1)</script>",
        "NaN",
        "null",
    ]
)
text = st.text(max_size=24) | NASTY_TEXT
#: SQLite stores integers in 64 bits: numbers around and beyond that edge are worth trying.
BIG_INTS: Final = st.sampled_from([2**31, 2**53 + 1, 2**63 - 1, 2**63, 2**64, -(2**63) - 1, 10**30])
integers = st.integers(-3, 5) | st.integers() | BIG_INTS
floats = st.floats(allow_nan=False, allow_infinity=False)
scalars = st.none() | st.booleans() | integers | floats | text
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(text, children, max_size=4),
    max_leaves=12,
)
#: A string big enough to matter but small enough to keep the suite fast.
huge_text = st.integers(min_value=20_000, max_value=120_000).map(lambda n: "x" * n)


#: People as the extension sends them, so that generated requests also reach the handlers' deeper paths.
people = st.fixed_dictionaries(
    {
        "first_name": st.sampled_from(["Ada", "Grace", "Édith", "Zoë"]),
        "last_name": st.sampled_from(["Lovelace", "Hopper", "Piaf", "O'Brien"]),
    },
    optional={
        "emails": st.lists(st.from_regex(r"[a-e]{1,4}@(x|y)\.(org|nl)", fullmatch=True), max_size=2),
        "current_company": st.sampled_from(["Analytical Engines", "Acme BV", "Globex"]),
        "linkedin": st.sampled_from(["https://www.linkedin.com/in/ada", "linkedin.com/in/grace-h"]),
        "title": text,
    },
)
#: Schema definitions drawn from a realistic strategy half of the time.
REALISTIC: Final[dict[str, st.SearchStrategy[Any]]] = {"Person": people}


def from_model(
    model: type[BaseModel], realistic: Mapping[str, st.SearchStrategy[Any]] | None = None
) -> st.SearchStrategy[Any]:
    """Values for `model` from its schema; `realistic[model name]`, when given, is drawn half of the time."""
    schema = model.model_json_schema()
    generic = from_schema(schema, schema.get("$defs", {}))
    chosen = (realistic or {}).get(model.__name__)
    return chosen | generic if chosen is not None else generic


def from_schema(schema: Mapping[str, Any], defs: Mapping[str, Any]) -> st.SearchStrategy[Any]:
    """Values that mostly satisfy `schema` (the subset pydantic emits)."""
    if "$ref" in schema:
        name = str(schema["$ref"]).rsplit("/", 1)[-1]
        generic = st.deferred(lambda: from_schema(defs[name], defs))
        return REALISTIC[name] | generic if name in REALISTIC else generic
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(list(schema["enum"]))
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return st.one_of([from_schema(option, defs) for option in schema[key]])
    if "allOf" in schema:
        return from_schema(schema["allOf"][0], defs)
    kind = schema.get("type")
    if isinstance(kind, list):
        return st.one_of([from_schema({**schema, "type": one}, defs) for one in kind])
    if kind == "string":
        return _string(schema)
    if kind == "integer":
        return _integer(schema)
    if kind == "number":
        low, high = schema.get("minimum"), schema.get("maximum")
        return st.floats(min_value=low, max_value=high, allow_nan=False, allow_infinity=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    if kind == "array":
        items = from_schema(schema.get("items", {}), defs)
        low = int(schema.get("minItems", 0))
        high = min(int(schema.get("maxItems", low + 3)), low + 3)
        return st.lists(items, min_size=low, max_size=high)
    if kind == "object" or "properties" in schema:
        return _object(schema, defs)
    return json_values


def _string(schema: Mapping[str, Any]) -> st.SearchStrategy[str]:
    low = int(schema.get("minLength", 0))
    high = min(int(schema.get("maxLength", 40)), low + 40)
    fmt = schema.get("format")
    if fmt == "date-time":
        return st.datetimes(
            min_value=datetime(2000, 1, 1), max_value=datetime(2035, 1, 1), timezones=st.just(UTC)
        ).map(lambda moment: moment.isoformat())
    if fmt == "date":
        return st.dates().map(lambda day: day.isoformat())
    if fmt == "duration":
        return st.integers(0, 10**6).map(lambda seconds: f"PT{seconds}S")
    if "pattern" in schema:
        pattern = str(schema["pattern"])
        return st.from_regex(pattern, fullmatch=True).filter(lambda s: low <= len(s) <= high)
    alphabet = st.characters(codec="utf-8") | st.sampled_from(string.ascii_letters)
    return st.text(alphabet=alphabet, min_size=low, max_size=high)


def _integer(schema: Mapping[str, Any]) -> st.SearchStrategy[int]:
    low = schema.get("minimum")
    high = schema.get("maximum")
    if "exclusiveMinimum" in schema:
        low = int(schema["exclusiveMinimum"]) + 1
    if "exclusiveMaximum" in schema:
        high = int(schema["exclusiveMaximum"]) - 1
    bounded = st.integers(min_value=low, max_value=high)
    if low is not None and high is None:
        # Small ids hit rows the test arranged; the unbounded draw finds the 64-bit edge.
        return st.integers(min_value=low, max_value=low + 3) | bounded
    return bounded


def _object(schema: Mapping[str, Any], defs: Mapping[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    properties: Mapping[str, Any] = schema.get("properties", {})
    required = set(schema.get("required", []))
    fixed = {name: from_schema(sub, defs) for name, sub in properties.items() if name in required}
    optional = {name: from_schema(sub, defs) for name, sub in properties.items() if name not in required}
    extra = schema.get("additionalProperties")
    base = st.fixed_dictionaries(fixed, optional=optional)
    if isinstance(extra, dict) and not properties:
        return st.dictionaries(st.text(max_size=12), from_schema(extra, defs), max_size=3)
    return base


@st.composite
def mutated(draw: st.DrawFn, valid: st.SearchStrategy[Any]) -> Any:
    """A value from `valid`, then (usually) broken in one way."""
    value = draw(valid)
    # Kept as drawn half of the time, so that valid requests reach the handlers too.
    how = draw(
        st.just("keep")
        | st.sampled_from(["wrong_type", "extra", "null", "drop", "huge", "edge_number", "replace", "nested"])
    )
    if how == "keep":
        return value
    if how == "replace" or not isinstance(value, dict):
        return draw(json_values)
    if how == "extra":
        return {**value, draw(text.filter(lambda k: k not in value)): draw(json_values)}
    if not value:
        return {draw(text): draw(json_values)}
    key = draw(st.sampled_from(sorted(value)))
    if how == "wrong_type":
        return {**value, key: draw(json_values)}
    if how == "null":
        return {**value, key: None}
    if how == "drop":
        return {k: v for k, v in value.items() if k != key}
    if how == "huge":
        return {**value, key: draw(huge_text)}
    if how == "edge_number":
        return {**value, key: draw(BIG_INTS | st.sampled_from([0, -1, True, 1.5]))}
    inner = value[key]
    if isinstance(inner, dict):
        return {**value, key: draw(mutated(st.just(inner)))}
    if isinstance(inner, list) and inner:
        index = draw(st.integers(0, len(inner) - 1))
        broken = list(inner)
        broken[index] = draw(json_values)
        return {**value, key: broken}
    return {**value, key: draw(json_values)}
