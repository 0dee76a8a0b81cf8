"""The one exception the sandbox's data layer raises, and the JSON error body it becomes."""

from __future__ import annotations

from typing import Any


class SandboxHttpError(Exception):
    """An HTTP error answer: the routes turn it into `{"message": ...}` (plus `errors` when set)."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        errors: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers: dict[str, str] = dict(headers or {})
        #: Per-field detail for validation failures (CATS's own detail format is unknown, so
        #: this is our choice: field path -> what is wrong with it).
        self.errors: dict[str, str] = dict(errors or {})

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"message": self.message}
        if self.errors:
            body["errors"] = self.errors
        return body


class DuplicateRecordError(SandboxHttpError):
    """A `check_duplicate=true` create matched an existing record (status is configurable)."""

    def __init__(self, status: int, resource: str, existing_id: int) -> None:
        # Relative here because the store does not know the origin; routes make it absolute.
        super().__init__(
            status, "Duplicate record found.", headers={"Location": f"/v3/{resource}/{existing_id}"}
        )
        self.resource = resource
        self.existing_id = existing_id


def validation_failed(errors: dict[str, str]) -> SandboxHttpError:
    """CATS answers every rejected write with this message; `errors` says which field and why."""
    return SandboxHttpError(400, "Validation failed.", errors=errors)


def not_found(what: str) -> SandboxHttpError:
    return SandboxHttpError(404, f"{what} not found.")
