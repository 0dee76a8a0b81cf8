"""The database password as a value: never printed, never pickled, kept in the keyring under the DSN."""

from __future__ import annotations

import logging
import pickle

import pytest
from keyring.errors import KeyringLocked

from companion.errors import ConfigError, KeyringUnavailableError
from companion.keystore import SERVICE_NAME as KEY_SERVICE
from companion.secret import ApiKey, DatabasePassword
from companion.team.credentials import SERVICE_NAME, TeamPasswordStore
from companion.team.dsn import parse_dsn
from companion.team.scram import member_password_problem, scram_verifier
from tests.fixtures.keyring import FailingKeyring, MemoryKeyring, install_keyring

SECRET = " spaces count-9f2 "
DSN = parse_dsn("postgresql://alice@db.example.com/team")


def test_a_password_never_shows_in_repr_str_format_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    password = DatabasePassword(SECRET)
    logging.getLogger("companion.test").warning("password %s %r", password, password)
    shown = [repr(password), str(password), f"{password}", f"{[password]}", caplog.text]
    assert not [text for text in shown if SECRET.strip() in text]
    assert password.reveal() == SECRET  # kept exactly, spaces and all


def test_a_password_cannot_be_pickled_nor_be_empty_and_is_not_an_api_key() -> None:
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(DatabasePassword(SECRET))
    with pytest.raises(ValueError, match="empty"):
        DatabasePassword("")
    assert DatabasePassword("same-text") == DatabasePassword("same-text")
    assert DatabasePassword("same-text") != ApiKey("same-text")


def test_the_keyring_holds_the_password_under_the_dsn_apart_from_cats_keys(
    memory_keyring: MemoryKeyring,
) -> None:
    store = TeamPasswordStore()
    store.set(DSN, DatabasePassword(SECRET))

    assert memory_keyring.passwords == {(SERVICE_NAME, "postgresql://alice@db.example.com:5432/team"): SECRET}
    assert SERVICE_NAME != KEY_SERVICE
    assert store.get(parse_dsn("postgresql://alice@DB.example.com:5432/team")) == DatabasePassword(SECRET)
    assert store.delete(DSN) is True
    assert store.delete(DSN) is False
    assert store.get(DSN) is None


def test_a_failing_keyring_never_quotes_the_password(monkeypatch: pytest.MonkeyPatch) -> None:
    install_keyring(
        monkeypatch, FailingKeyring(KeyringLocked(f"locked while storing {SECRET}")), explicit=True
    )

    with pytest.raises(KeyringUnavailableError) as caught:
        TeamPasswordStore().set(DSN, DatabasePassword(SECRET))

    assert SECRET.strip() not in caught.value.message and caught.value.__cause__ is None
    assert "(KeyringLocked: locked while storing <database password redacted>)" in caught.value.message


def test_a_scram_verifier_has_postgresqls_format_and_a_fresh_salt() -> None:
    password = DatabasePassword("correct horse battery")
    first, second = scram_verifier(password), scram_verifier(password)

    assert first.startswith("SCRAM-SHA-256$4096:") and first.count("$") == 2
    assert first != second
    assert "correct horse" not in first
    assert scram_verifier(password, salt=b"0" * 16) == scram_verifier(password, salt=b"0" * 16)


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("short-pw", "shorter than 12"),
        ("long enough but ünicode", "printable ASCII"),
        ("tab\tinside-pw", "ASCII"),
    ],
)
def test_a_new_members_password_must_be_long_printable_ascii(password: str, problem: str) -> None:
    found = member_password_problem(DatabasePassword(password))
    assert found is not None and problem in found and password not in found


def test_a_good_member_password_passes() -> None:
    assert member_password_problem(DatabasePassword("twelve chars!")) is None


def test_config_error_is_what_a_bad_role_name_raises() -> None:
    from companion.team.roles import check_login_name

    for name in ("Alice", "pg_alice", "cats_companion_x", "1abc", "a-b", "postgres"):
        with pytest.raises(ConfigError):
            check_login_name(name)
    assert check_login_name("recruiter_bob") == "recruiter_bob"
