"""The team database's password in the OS keyring, filed under the DSN without password.

The same keyring rules as the CATS API key (companion.keystore): an OS key store, or a backend the
user chose on purpose, and every backend failure turned into one KeyringUnavailableError that never
quotes the password. A service name of its own keeps these entries apart from the CATS keys.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Final

import keyring.errors

from companion.keystore import backend_errors, usable_backend
from companion.secret import DatabasePassword
from companion.team.dsn import TeamDsn

#: The keyring "service"; the canonical DSN (TeamDsn.url) is the keyring "username".
SERVICE_NAME: Final = "cats-companion-team"
_WHAT: Final = "the team database's password"


class TeamPasswordStore:
    def __init__(self, service: str = SERVICE_NAME) -> None:
        self._service = service

    def check(self) -> None:
        """Raise KeyringUnavailableError now if the password could not be stored (before asking for it)."""
        usable_backend(_WHAT)

    def get(self, dsn: TeamDsn) -> DatabasePassword | None:
        backend = usable_backend(_WHAT)
        with backend_errors(f"read {_WHAT} from", None):
            stored = backend.get_password(self._service, dsn.url)
        return DatabasePassword(stored) if stored else None

    def set(self, dsn: TeamDsn, password: DatabasePassword) -> None:
        backend = usable_backend(_WHAT)
        with backend_errors(f"store {_WHAT} in", password):
            # Besides the driver's connect call, the one place the text is needed.
            backend.set_password(self._service, dsn.url, password.reveal())

    def delete(self, dsn: TeamDsn) -> bool:
        """Remove the password; True if there was one."""
        backend = usable_backend(_WHAT)
        with backend_errors(f"remove {_WHAT} from", None):
            try:
                backend.delete_password(self._service, dsn.url)
            except keyring.errors.PasswordDeleteError:
                # "Nothing to delete" and a real failure share this type: looking again tells them apart.
                if backend.get_password(self._service, dsn.url) is not None:
                    raise
                return False
        return True


def keyring_password(
    dsn: TeamDsn, store: TeamPasswordStore | None = None
) -> Callable[[], Awaitable[DatabasePassword | None]]:
    """The source of `dsn`'s password in the keyring, read off the event loop (keyring may block on D-Bus);
    asked at each connection, so a changed password is picked up."""
    keys = store if store is not None else TeamPasswordStore()

    async def password() -> DatabasePassword | None:
        return await asyncio.to_thread(keys.get, dsn)

    return password
