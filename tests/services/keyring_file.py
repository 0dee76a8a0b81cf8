"""A keyring backend reading a JSON file named by $CATS_TEST_KEYRING_FILE, for CLI subprocesses in tests.

A subprocess cannot share the in-memory keyring of the test process; it selects this backend with
PYTHON_KEYRING_BACKEND=tests.services.keyring_file.FileKeyring instead. Read-only.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from keyring.backend import KeyringBackend
from keyring.compat import properties

FILE_ENV = "CATS_TEST_KEYRING_FILE"
CLASS_PATH = "tests.services.keyring_file.FileKeyring"


class FileKeyring(KeyringBackend):
    @properties.classproperty
    def priority(cls) -> float:
        return 1.0

    def get_password(self, service: str, username: str) -> str | None:
        stored: dict[str, str] = json.loads(Path(os.environ[FILE_ENV]).read_text(encoding="utf-8"))
        return stored.get(f"{service} {username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise NotImplementedError("read-only test keyring")

    def delete_password(self, service: str, username: str) -> None:
        raise NotImplementedError("read-only test keyring")


def write_keyring_file(path: Path, service: str, username: str, password: str) -> Path:
    path.write_text(json.dumps({f"{service} {username}": password}), encoding="utf-8")
    path.chmod(0o600)
    return path
