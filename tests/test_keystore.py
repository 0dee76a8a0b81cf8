"""The API key store: one key per CATS URL, and no keyring that could leak it used by accident."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import keyring
import pytest
from keyring.backends import SecretService, chainer, fail, null
from keyring.errors import InitError, KeyringLocked, PasswordDeleteError, PasswordSetError

from companion.errors import ConfigError, KeyringUnavailableError
from companion.keystore import (
    DEFAULT_BASE_URL,
    SERVICE_NAME,
    KeyringKeyStore,
    KeyStore,
    load_key,
    normalize_base_url,
)
from companion.secret import ApiKey
from tests.fixtures.keyring import FailingKeyring, MemoryKeyring, class_path, install_keyring

SECRET = "k3y-0f-the-recruiter-5ecret"
SANDBOX_URL = "http://127.0.0.1:8765/v3"


class FileKeyring(MemoryKeyring):
    """Stands in for keyrings.alt's PlaintextKeyring: it writes passwords to a plain file."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path

    def set_password(self, service: str, username: str, password: str) -> None:
        super().set_password(service, username, password)
        self.path.write_text(repr(self.passwords))


class FakeSecretService(MemoryKeyring, SecretService.Keyring):
    """The Secret Service class, holding items in memory (the real one is in test_secret_service.py)."""


def store() -> KeyStore:
    return KeyringKeyStore()


# --- storing, reading, deleting ------------------------------------------------------------------


def test_stored_key_is_read_back_as_an_api_key(memory_keyring: MemoryKeyring) -> None:
    store().set(DEFAULT_BASE_URL, ApiKey(SECRET))

    key = store().get(DEFAULT_BASE_URL)

    assert isinstance(key, ApiKey)
    assert key == ApiKey(SECRET)
    assert memory_keyring.passwords == {(SERVICE_NAME, DEFAULT_BASE_URL): SECRET}


def test_each_cats_url_has_its_own_key() -> None:
    store().set(DEFAULT_BASE_URL, ApiKey("live-key"))
    store().set(SANDBOX_URL, ApiKey("sandbox-key"))

    assert store().get(DEFAULT_BASE_URL) == ApiKey("live-key")
    assert store().get(SANDBOX_URL) == ApiKey("sandbox-key")


@pytest.mark.parametrize(
    "spelling",
    ["https://api.catsone.com/v3/", " https://API.CatsOne.com/v3", "HTTPS://api.catsone.com/v3//"],
)
def test_spellings_of_the_same_url_share_one_key(spelling: str) -> None:
    store().set(spelling, ApiKey(SECRET))

    assert store().get(DEFAULT_BASE_URL) == ApiKey(SECRET)


def test_no_key_stored_reads_as_none() -> None:
    assert store().get(DEFAULT_BASE_URL) is None
    assert load_key(DEFAULT_BASE_URL) is None


def test_load_key_reads_the_keyring() -> None:
    store().set(SANDBOX_URL, ApiKey(SECRET))

    assert load_key(SANDBOX_URL + "/") == ApiKey(SECRET)


def test_setting_again_replaces_the_key() -> None:
    store().set(DEFAULT_BASE_URL, ApiKey("old-key"))
    store().set(DEFAULT_BASE_URL, ApiKey("new-key"))

    assert store().get(DEFAULT_BASE_URL) == ApiKey("new-key")


def test_delete_says_whether_there_was_a_key(memory_keyring: MemoryKeyring) -> None:
    store().set(DEFAULT_BASE_URL, ApiKey(SECRET))
    store().set(SANDBOX_URL, ApiKey("other"))

    assert store().delete(DEFAULT_BASE_URL) is True
    assert store().delete(DEFAULT_BASE_URL) is False
    assert store().get(DEFAULT_BASE_URL) is None
    assert memory_keyring.passwords == {(SERVICE_NAME, SANDBOX_URL): "other"}


def test_an_empty_stored_entry_counts_as_no_key(memory_keyring: MemoryKeyring) -> None:
    memory_keyring.passwords[(SERVICE_NAME, DEFAULT_BASE_URL)] = "  "

    assert store().get(DEFAULT_BASE_URL) is None


def test_delete_failing_while_the_key_is_still_there_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    class StuckKeyring(MemoryKeyring):
        def delete_password(self, service: str, username: str) -> None:
            raise PasswordDeleteError("item is read-only")

    backend = install_keyring(monkeypatch, StuckKeyring(), explicit=True)
    store().set(DEFAULT_BASE_URL, ApiKey(SECRET))

    with pytest.raises(KeyringUnavailableError, match="item is read-only"):
        store().delete(DEFAULT_BASE_URL)
    assert isinstance(backend, StuckKeyring)
    assert backend.passwords


# --- the URL a key is filed under ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "normal"),
    [
        ("https://api.catsone.com/v3", "https://api.catsone.com/v3"),
        ("https://Api.CatsOne.com:443/v3/", "https://api.catsone.com:443/v3"),
        ("http://127.0.0.1:8765/v3", "http://127.0.0.1:8765/v3"),
        ("http://localhost:9000/v3/", "http://localhost:9000/v3"),
        ("http://[::1]:9000/v3", "http://[::1]:9000/v3"),
    ],
)
def test_url_is_normalised(given: str, normal: str) -> None:
    assert normalize_base_url(given) == normal


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("api.catsone.com/v3", "must start with https://"),
        ("ftp://api.catsone.com/v3", "must start with https://"),
        ("https:///v3", "must start with https://"),
        ("http://api.catsone.com/v3", "plain http"),
        ("http://192.168.1.20/v3", "plain http"),
        ("https://api.catsone.com/v3?x=1", "query string"),
        ("https://api.catsone.com:99999/v3", "not a valid URL"),
    ],
)
def test_bad_url_is_refused_and_nothing_is_stored(
    url: str, reason: str, memory_keyring: MemoryKeyring
) -> None:
    with pytest.raises(ConfigError, match=reason):
        store().set(url, ApiKey(SECRET))

    assert memory_keyring.passwords == {}


def test_url_with_credentials_is_refused_without_echoing_them() -> None:
    with pytest.raises(ConfigError) as caught:
        normalize_base_url("https://admin:hunter2@api.catsone.com/v3")

    assert "user name or password" in caught.value.message
    assert "hunter2" not in str(caught.value)


# --- keyrings that must not be used -------------------------------------------------------------


def test_no_keyring_backend_is_refused_with_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    install_keyring(monkeypatch, fail.Keyring(), explicit=False)  # type: ignore[no-untyped-call]

    for attempt in (
        lambda: store().get(DEFAULT_BASE_URL),
        lambda: store().set(DEFAULT_BASE_URL, ApiKey(SECRET)),
        lambda: store().delete(DEFAULT_BASE_URL),
    ):
        with pytest.raises(KeyringUnavailableError) as caught:
            attempt()
        message = caught.value.message
        assert "No OS keyring is available" in message
        assert "gnome-keyring" in message and "unlock" in message
        assert "PYTHON_KEYRING_BACKEND=" in message
        assert caught.value.code == "key.keyring_unavailable"


def test_disabled_keyring_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    install_keyring(monkeypatch, null.Keyring(), explicit=True)  # type: ignore[no-untyped-call]

    with pytest.raises(KeyringUnavailableError, match="disabled"):
        store().set(DEFAULT_BASE_URL, ApiKey(SECRET))


def test_file_keyring_picked_silently_is_refused_and_writes_nothing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    backend = install_keyring(monkeypatch, FileKeyring(tmp_path / "keyring.txt"), explicit=False)

    with pytest.raises(KeyringUnavailableError) as caught:
        store().set(DEFAULT_BASE_URL, ApiKey(SECRET))

    assert f"keyring picked {class_path(backend)}" in caught.value.message
    assert "not an OS key store" in caught.value.message
    assert "PYTHON_KEYRING_BACKEND=" in caught.value.message
    assert not (tmp_path / "keyring.txt").exists()
    with pytest.raises(KeyringUnavailableError):
        store().get(DEFAULT_BASE_URL)


def test_file_keyring_chosen_in_the_environment_is_used(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    install_keyring(monkeypatch, FileKeyring(tmp_path / "keyring.txt"), explicit=True)

    store().set(DEFAULT_BASE_URL, ApiKey(SECRET))

    assert store().get(DEFAULT_BASE_URL) == ApiKey(SECRET)
    assert (tmp_path / "keyring.txt").exists()


def test_file_keyring_chosen_in_keyring_config_file_is_used(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    backend = install_keyring(monkeypatch, FileKeyring(tmp_path / "keyring.txt"), explicit=False)
    config = Path(os.environ["XDG_CONFIG_HOME"]) / "python_keyring" / "keyringrc.cfg"
    config.parent.mkdir(parents=True)
    config.write_text(f"[backend]\ndefault-keyring = {class_path(backend)}\n", encoding="utf-8")

    store().set(DEFAULT_BASE_URL, ApiKey(SECRET))

    assert store().get(DEFAULT_BASE_URL) == ApiKey(SECRET)


def test_choice_naming_another_backend_does_not_bless_the_one_in_use(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    install_keyring(monkeypatch, FileKeyring(tmp_path / "keyring.txt"), explicit=False)
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.SecretService.Keyring")

    with pytest.raises(KeyringUnavailableError, match="not an OS key store"):
        store().set(DEFAULT_BASE_URL, ApiKey(SECRET))


def test_os_key_store_is_used_without_being_chosen(monkeypatch: pytest.MonkeyPatch) -> None:
    install_keyring(monkeypatch, FakeSecretService(), explicit=False)

    store().set(DEFAULT_BASE_URL, ApiKey(SECRET))

    assert store().get(DEFAULT_BASE_URL) == ApiKey(SECRET)
    assert KeyringKeyStore().backend_name() == class_path(FakeSecretService())


def test_chain_writing_first_to_a_file_keyring_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Which backends a chain holds depends on what the OS offers: that is the edge patched here.
    monkeypatch.setattr(
        chainer.ChainerBackend, "backends", [FileKeyring(tmp_path / "k"), FakeSecretService()]
    )
    install_keyring(monkeypatch, chainer.ChainerBackend(), explicit=False)  # type: ignore[no-untyped-call]

    with pytest.raises(KeyringUnavailableError, match="FileKeyring"):
        store().set(DEFAULT_BASE_URL, ApiKey(SECRET))


def test_chain_writing_first_to_an_os_key_store_is_used(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    first = FakeSecretService()
    monkeypatch.setattr(chainer.ChainerBackend, "backends", [first, FileKeyring(tmp_path / "k")])
    install_keyring(monkeypatch, chainer.ChainerBackend(), explicit=False)  # type: ignore[no-untyped-call]

    store().set(DEFAULT_BASE_URL, ApiKey(SECRET))

    assert first.passwords == {(SERVICE_NAME, DEFAULT_BASE_URL): SECRET}


@pytest.mark.parametrize(
    ("error", "expected", "code"),
    [
        (
            InitError("Failed to create the collection: Prompt dismissed.."),
            "Prompt dismissed",
            "key.keyring_locked",
        ),
        (
            KeyringLocked("Failed to unlock the collection!"),
            "locked and was not unlocked",
            "key.keyring_locked",
        ),
        (
            PasswordSetError("Failed to unlock the keyring!"),
            "Failed to unlock the keyring",
            "key.keyring_unavailable",
        ),
        (OSError("org.freedesktop.DBus.Error.NoReply"), "NoReply", "key.keyring_unavailable"),
    ],
)
def test_backend_failures_become_keyring_unavailable_with_the_fix(
    error: Exception, expected: str, code: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    install_keyring(monkeypatch, FailingKeyring(error), explicit=True)

    for attempt in (
        lambda: store().get(DEFAULT_BASE_URL),
        lambda: store().set(DEFAULT_BASE_URL, ApiKey(SECRET)),
        lambda: store().delete(DEFAULT_BASE_URL),
    ):
        with pytest.raises(KeyringUnavailableError) as caught:
            attempt()
        assert expected in caught.value.message
        assert "gnome-keyring" in caught.value.message
        # A locked keyring is told apart: the fix is to unlock it, not to add a key.
        assert caught.value.code == code


def test_backend_error_quoting_the_key_does_not_leak_it(monkeypatch: pytest.MonkeyPatch) -> None:
    class QuotingKeyring(MemoryKeyring):
        def set_password(self, service: str, username: str, password: str) -> None:
            raise PasswordSetError(f"could not save {password!r}")

    install_keyring(monkeypatch, QuotingKeyring(), explicit=True)

    with pytest.raises(KeyringUnavailableError) as caught:
        store().set(DEFAULT_BASE_URL, ApiKey(SECRET))

    assert "could not save" in caught.value.message
    assert SECRET not in str(caught.value)
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


def test_keyring_choice_is_per_call_not_frozen_at_construction(monkeypatch: pytest.MonkeyPatch) -> None:
    keys = KeyringKeyStore()
    keys.set(DEFAULT_BASE_URL, ApiKey(SECRET))
    install_keyring(monkeypatch, fail.Keyring(), explicit=False)  # type: ignore[no-untyped-call]

    with pytest.raises(KeyringUnavailableError):
        keys.get(DEFAULT_BASE_URL)


def _clean_env(home: Path) -> dict[str, str]:
    """A headless user's environment: no D-Bus session, no desktop, no keyring chosen."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
        "LANG": "C.UTF-8",
    }


def test_headless_machine_is_refused_for_real(tmp_path: Path) -> None:
    # keyring's real detection, in a fresh process: with no D-Bus session it ends with no usable
    # backend (the fail backend, or keyrings.alt's plain file if that is installed). Either way
    # the key must not be stored.
    code = (
        "from companion.keystore import KeyringKeyStore\n"
        "from companion.errors import KeyringUnavailableError\n"
        "from companion.secret import ApiKey\n"
        "try:\n"
        "    KeyringKeyStore().set('https://api.catsone.com/v3', ApiKey('headless-secret'))\n"
        "except KeyringUnavailableError as exc:\n"
        "    print('REFUSED', exc.message)\n"
        "else:\n"
        "    print('STORED')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=_clean_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )

    assert done.stdout.startswith("REFUSED"), done.stdout + done.stderr
    assert "gnome-keyring" in done.stdout
    assert "headless-secret" not in done.stdout + done.stderr
    assert not any(
        p.is_file() and "headless-secret" in p.read_text(errors="replace") for p in tmp_path.rglob("*")
    )


def test_test_keyrings_are_never_picked_by_keyring_detection(memory_keyring: MemoryKeyring) -> None:
    # Only ever installed on purpose; a test-only class must not win keyring's detection anywhere.
    assert not MemoryKeyring.viable
    assert not FailingKeyring.viable
    assert keyring.get_keyring() is memory_keyring
