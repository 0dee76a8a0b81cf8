"""The CATS API key in the OS keyring: one key per CATS base URL, never in a plain file by accident.

The checks on the keyring backend (`usable_backend`) and the translation of its failures
(`backend_errors`) serve every secret the companion keeps there: companion.team.credentials files
the team database's password through them too.
"""

from __future__ import annotations

import configparser
import ipaddress
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final, Protocol
from urllib.parse import urlsplit, urlunsplit

import keyring
import keyring.errors
from keyring.backend import KeyringBackend
from keyring.backends import chainer, fail, null
from keyring.util import platform_

from companion.errors import ConfigError, KeyringLockedError, KeyringUnavailableError
from companion.secret import ApiKey, Secret

#: The keyring "service"; the normalised CATS base URL is the keyring "username".
SERVICE_NAME: Final = "cats-companion"
DEFAULT_BASE_URL: Final = "https://api.catsone.com/v3"
#: The environment variable through which keyring lets a user pick a backend by class path.
BACKEND_ENV: Final = "PYTHON_KEYRING_BACKEND"

#: Backends that keep secrets in the operating system's own encrypted, access-controlled store.
#: Anything else (keyrings.alt's files, third-party backends) is used only when the user chose it.
OS_STORES: Final = frozenset(
    {
        "keyring.backends.SecretService.Keyring",
        "keyring.backends.libsecret.Keyring",
        "keyring.backends.kwallet.DBusKeyring",
        "keyring.backends.kwallet.DBusKeyringKWallet4",
        "keyring.backends.macOS.Keyring",
        "keyring.backends.Windows.WinVaultKeyring",
    }
)

_FIX: Final = (
    "To fix it, start a Secret Service such as gnome-keyring (or KWallet) in your desktop session "
    "and unlock it; on a machine without a desktop, run the companion inside `dbus-run-session` and "
    "unlock with `gnome-keyring-daemon --unlock --components=secrets`, which reads the keyring "
    "password on stdin. Or, only if you accept that the key is kept in a file on disk, choose a file "
    f"backend explicitly, e.g. {BACKEND_ENV}=keyrings.alt.file.PlaintextKeyring "
    "(after `pip install keyrings.alt`)."
)


class KeyStore(Protocol):
    """Where the CATS API key lives; `base_url` is any spelling `normalize_base_url` accepts."""

    def get(self, base_url: str) -> ApiKey | None: ...

    def set(self, base_url: str, key: ApiKey) -> None: ...

    def delete(self, base_url: str) -> bool:
        """Remove the key; True if there was one."""
        ...


def normalize_base_url(url: str) -> str:
    """The one spelling of a CATS base URL under which its key is filed.

    `https://API.catsone.com/v3/` and `https://api.catsone.com/v3` name the same key. Plain http is
    accepted only for loopback hosts (the sandbox): anywhere else it would send the key in clear.
    """
    text = url.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise ConfigError(f"the CATS URL {text!r} is not a valid URL ({exc})") from None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if scheme not in {"http", "https"} or not host:
        raise ConfigError(
            f"the CATS URL {text!r} must start with https:// and name a host, e.g. {DEFAULT_BASE_URL}"
        )
    if parts.username is not None or parts.password is not None:
        # Not echoed: the user part may well be a credential.
        raise ConfigError("the CATS URL must not contain a user name or password")
    if parts.query or parts.fragment:
        raise ConfigError(f"the CATS URL {text!r} must not have a query string or fragment")
    if scheme == "http" and not _is_loopback(host):
        raise ConfigError(
            f"the CATS URL {text!r} uses plain http, which would send the API key unencrypted; "
            "use https:// (plain http is allowed only for a sandbox on this machine)"
        )
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc = f"{netloc}:{port}"
    return urlunsplit((scheme, netloc, parts.path.rstrip("/"), "", ""))


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _class_path(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def explicit_backend_choice() -> str | None:
    """The backend class path the user named, read the way keyring reads it: env first, then config."""
    named = os.environ.get(BACKEND_ENV, "").strip()
    if named:
        return named
    parser = configparser.RawConfigParser()
    try:
        parser.read(platform_.config_root() / "keyringrc.cfg", encoding="utf-8")
    except (configparser.Error, OSError, UnicodeDecodeError):
        # keyring itself cannot use an unreadable config either, so nothing was chosen through it.
        return None
    return parser.get("backend", "default-keyring", fallback="").strip() or None


def _is_named(backend: KeyringBackend, name: str) -> bool:
    return any(_class_path(cls) == name for cls in type(backend).__mro__)


def _writing_backend(backend: KeyringBackend) -> KeyringBackend | None:
    """The backend a write lands in: a chainer writes to the first backend of its chain (if any)."""
    if isinstance(backend, chainer.ChainerBackend):
        chained: list[KeyringBackend] = list(chainer.ChainerBackend.backends)
        return chained[0] if chained else None
    return backend


def check_backend(backend: KeyringBackend, what: str = "the CATS API key") -> None:
    """Refuse a backend that cannot hold `what` safely, unless the user chose it on purpose."""
    target = _writing_backend(backend)
    if target is None or isinstance(target, fail.Keyring):
        raise KeyringUnavailableError(
            f"No OS keyring is available to hold {what}: keyring found no Secret Service, "
            "KWallet, macOS Keychain or Windows Credential Locker (on Linux this usually means there "
            f"is no D-Bus session or no Secret Service running in it). {_FIX}"
        )
    if isinstance(target, null.Keyring):
        raise KeyringUnavailableError(
            f"The keyring is disabled (keyring.backends.null.Keyring is configured), so {what} "
            f"cannot be stored. Remove that choice from {BACKEND_ENV} or keyringrc.cfg. {_FIX}"
        )
    if any(_class_path(cls) in OS_STORES for cls in type(target).__mro__):
        return
    chosen = explicit_backend_choice()
    if chosen is not None and (_is_named(backend, chosen) or _is_named(target, chosen)):
        return
    raise KeyringUnavailableError(
        f"keyring picked {_class_path(type(target))}, which is not an OS key store (it may keep the "
        f"secret unencrypted in a file) and was not chosen explicitly, so the companion will not put "
        f"{what} there. {_FIX}"
    )


class KeyringKeyStore:
    """The real key store: the `keyring` library's current backend, once `check_backend` accepts it."""

    def __init__(self, service: str = SERVICE_NAME) -> None:
        self._service = service

    def backend_name(self) -> str:
        """The class path of the backend the key goes to; raises KeyringUnavailableError if unusable."""
        backend = self._backend()
        return _class_path(type(_writing_backend(backend) or backend))

    def get(self, base_url: str) -> ApiKey | None:
        username = normalize_base_url(base_url)
        backend = self._backend()
        with backend_errors("read the CATS API key from", None):
            stored = backend.get_password(self._service, username)
        if stored is None or not stored.strip():
            # An empty entry cannot authenticate anything: it is as good as no key.
            return None
        return ApiKey(stored)

    def set(self, base_url: str, key: ApiKey) -> None:
        username = normalize_base_url(base_url)
        backend = self._backend()
        with backend_errors("store the CATS API key in", key):
            # Besides the HTTP header, the one place the text is needed: the keyring must hold it.
            backend.set_password(self._service, username, key.reveal())

    def delete(self, base_url: str) -> bool:
        username = normalize_base_url(base_url)
        backend = self._backend()
        with backend_errors("remove the CATS API key from", None):
            try:
                backend.delete_password(self._service, username)
            except keyring.errors.PasswordDeleteError:
                # Backends say "nothing to delete" with the same type as a real failure;
                # looking again tells the two apart.
                if backend.get_password(self._service, username) is not None:
                    raise
                return False
        return True

    def _backend(self) -> KeyringBackend:
        return usable_backend("the CATS API key")


def usable_backend(what: str) -> KeyringBackend:
    """keyring's current backend once `check_backend` accepts it for holding `what`."""
    with backend_errors("open", None):
        backend = keyring.get_keyring()
    check_backend(backend, what)
    return backend


def load_key(base_url: str) -> ApiKey | None:
    """The stored key for `base_url` from the OS keyring, or None when none is stored."""
    return KeyringKeyStore().get(base_url)


@contextmanager
def backend_errors(action: str, key: Secret | None) -> Iterator[None]:
    """Turn whatever a keyring backend raises into one KeyringUnavailableError that says why."""
    try:
        yield
    except KeyringUnavailableError:
        raise
    except Exception as exc:
        # The OS edge: D-Bus, Keychain and Credential Locker failures arrive under many types, and
        # each must reach the user as the one error the rest of the companion understands.
        error = _unavailable(action, exc, key)
        if key is not None:
            # Chaining would carry the backend's exception along, and it could quote the key.
            raise error from None
        raise error from exc


def _unavailable(action: str, exc: Exception, key: Secret | None) -> KeyringUnavailableError:
    what = f"Could not {action} the keyring"
    if isinstance(exc, keyring.errors.NoKeyringError):
        return KeyringUnavailableError(f"{what}: no keyring backend is available. {_FIX}")
    if isinstance(exc, keyring.errors.InitError):
        return KeyringLockedError(
            f"{what}: the keyring service could not open its collection ({_detail(exc, key)}); "
            f"without a desktop session nobody can answer its unlock prompt. {_FIX}"
        )
    if isinstance(exc, keyring.errors.KeyringLocked):
        return KeyringLockedError(f"{what}: it is locked and was not unlocked ({_detail(exc, key)}). {_FIX}")
    return KeyringUnavailableError(f"{what}: {_detail(exc, key)}. {_FIX}")


def _detail(exc: BaseException, key: Secret | None) -> str:
    """The backend's own words, with the secret cut out in case a backend quoted it."""
    text = f"{type(exc).__name__}: {exc}"
    if key is not None:
        # Before any trimming: a secret that ends in a space would no longer match once trimmed.
        text = text.replace(key.reveal(), repr(key))
    return text.rstrip(": ")
