"""The team DSN: one canonical spelling, and a password inside it refused without being echoed."""

from __future__ import annotations

import pytest

from companion.errors import ConfigError
from companion.team.dsn import TeamDsn, parse_dsn

SECRET = "hunter2-pa55"


@pytest.mark.parametrize(
    ("given", "canonical"),
    [
        ("postgresql://alice@DB.Example.com/team", "postgresql://alice@db.example.com:5432/team"),
        ("postgres://alice@db.example.com:6432/team", "postgresql://alice@db.example.com:6432/team"),
        (
            "postgresql://alice@db.example.com/team?sslmode=require&application_name=x",
            "postgresql://alice@db.example.com:5432/team?application_name=x&sslmode=require",
        ),
        ("postgresql://a%40corp@[::1]:5433/my%20team", "postgresql://a%40corp@[::1]:5433/my%20team"),
    ],
)
def test_a_dsn_has_one_canonical_spelling(given: str, canonical: str) -> None:
    parsed = parse_dsn(given)
    assert parsed.url == canonical
    assert parse_dsn(parsed.url) == parsed


def test_the_parts_of_a_dsn() -> None:
    assert parse_dsn("postgresql://a%40corp@[::1]:5433/my%20team") == TeamDsn(
        user="a@corp", host="::1", port=5433, database="my team"
    )


@pytest.mark.parametrize(
    "given",
    [
        f"postgresql://alice:{SECRET}@db.example.com/team",
        f"postgres://alice:{SECRET}@db.example.com:5432/team?sslmode=require",
        f"postgresql://alice@db.example.com/team?password={SECRET}",
        f"postgresql://alice@db.example.com/team?PASSWORD={SECRET}",
        "postgresql://alice:@db.example.com/team",
        f"postgresql://alice:{SECRET}@db.example.com:notaport/team",
    ],
)
def test_a_password_in_the_dsn_is_refused_without_echoing_it(given: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_dsn(given)
    assert SECRET not in caught.value.message
    assert SECRET not in repr(caught.value) and caught.value.__cause__ is None


def test_the_refusal_says_how_to_give_the_password() -> None:
    with pytest.raises(ConfigError, match=r"never taken from the command line.*hidden prompt"):
        parse_dsn(f"postgresql://alice:{SECRET}@db.example.com/team")


@pytest.mark.parametrize(
    ("given", "says"),
    [
        ("host=db.example.com user=alice dbname=team", "must be a PostgreSQL URL"),
        ("https://alice@db.example.com/team", "must be a PostgreSQL URL"),
        ("postgresql://db.example.com/team", "names no user"),
        ("postgresql://alice@/team", "names no host"),
        ("postgresql://alice@db.example.com", "must name one database"),
        ("postgresql://alice@db.example.com/a/b", "must name one database"),
        ("postgresql://alice@db.example.com/team?host=/tmp", "not in a host= option"),
        ("postgresql://alice@db.example.com/team#x", "fragment"),
    ],
)
def test_an_incomplete_dsn_says_what_is_missing(given: str, says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        parse_dsn(given)
