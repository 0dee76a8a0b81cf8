"""SCRAM-SHA-256 password verifiers, made here so a member's password never reaches the server as text.

`CREATE ROLE ... PASSWORD '...'` takes no bind parameter: the password would sit in the statement's
text, which servers log (log_statement = ddl) and keep in pg_stat_statements. Given a verifier in
PostgreSQL's own format, the server stores it as it is (what psql's \\password and libpq's
PQencryptPasswordConn do), and only the verifier, from which the password cannot be read back
except by guessing, ever leaves this machine.

PostgreSQL runs the password through SASLprep first. For printable ASCII that changes nothing,
which is why `member_password_problem` accepts only printable ASCII: the verifier made here then
matches what the server computes at login.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from typing import Final

from companion.secret import DatabasePassword

ITERATIONS: Final = 4096  # PostgreSQL's scram_iterations default
SALT_BYTES: Final = 16
MIN_MEMBER_PASSWORD: Final = 12


def member_password_problem(password: DatabasePassword) -> str | None:
    """Why `password` is not accepted for a new member's role, or None (the text is never quoted)."""
    text = password.reveal()
    if len(text) < MIN_MEMBER_PASSWORD:
        return f"the password is shorter than {MIN_MEMBER_PASSWORD} characters"
    if not (text.isascii() and text.isprintable()):
        return "the password must be printable ASCII (letters, digits, punctuation, spaces)"
    return None


def scram_verifier(
    password: DatabasePassword, *, salt: bytes | None = None, iterations: int = ITERATIONS
) -> str:
    """`SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`, as RFC 5802 and PostgreSQL define it."""
    salt = salt if salt is not None else os.urandom(SALT_BYTES)
    salted = hashlib.pbkdf2_hmac("sha256", password.reveal().encode("utf-8"), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    return f"SCRAM-SHA-256${iterations}:{_b64(salt)}${_b64(stored_key)}:{_b64(server_key)}"


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")
