"""The project's one error hierarchy, each error with a stable, append-only code.

Codes travel over the native-messaging protocol and the loopback API and are shown by the
extension, so they are part of the public contract: add new ones, never rename or reuse.
Messages must never contain the CATS API key (see `companion.secret.ApiKey`).
"""

from __future__ import annotations

# Not `typing.TYPE_CHECKING`: importing typing costs the native host's cold start ~2 ms (a tenth of
# its own imports); type checkers treat any constant of this name the same way.
TYPE_CHECKING = False
if TYPE_CHECKING:  # pydantic only for the type: the native host imports this module, stdlib only
    from typing import ClassVar

    from pydantic import ValidationError


class CompanionError(Exception):
    """Base of every error the companion raises on purpose."""

    code: ClassVar[str] = "internal"
    #: HTTP status the loopback API answers with when this error reaches it.
    http_status: ClassVar[int] = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_dict(self) -> dict[str, object]:
        """The wire form: a stable code plus a human-readable message."""
        return {"code": self.code, "message": self.message}


# --- configuration, keys ------------------------------------------------------------------


class ConfigError(CompanionError):
    code = "config.invalid"
    http_status = 400


class KeyMissingError(CompanionError):
    code = "key.missing"
    http_status = 409


class KeyringUnavailableError(CompanionError):
    code = "key.keyring_unavailable"
    http_status = 503


class KeyringLockedError(KeyringUnavailableError):
    """The keyring is there but locked: unlocking it (not adding a key) is the fix."""

    code = "key.keyring_locked"


# --- talking to CATS ------------------------------------------------------------------------


class CatsError(CompanionError):
    """Anything that went wrong between us and CATS."""

    code = "cats.error"
    http_status = 502

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class CatsAuthError(CatsError):
    """401: the API key was refused."""

    code = "cats.bad_key"


class CatsForbiddenError(CatsError):
    """403: the key's user may not do this."""

    code = "cats.forbidden"


class CatsNotFoundError(CatsError):
    code = "cats.not_found"
    http_status = 404


class CatsValidationError(CatsError):
    """400/422: CATS refused the request; `message` carries CATS's own words."""

    code = "cats.validation"
    http_status = 422


class CatsDuplicateError(CatsError):
    """A create with check_duplicate=true found an existing record."""

    code = "cats.duplicate"
    http_status = 409

    def __init__(self, message: str, *, status: int | None = None, existing_id: int | None = None) -> None:
        super().__init__(message, status=status)
        self.existing_id = existing_id


class CatsRateLimitedError(CatsError):
    """429 (or our own budget says no): wait `retry_after` seconds."""

    code = "cats.rate_limited"
    http_status = 429

    def __init__(self, message: str, *, retry_after: float, status: int | None = 429) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


class CatsUnavailableError(CatsError):
    """5xx or a timeout: CATS is up but not answering properly."""

    code = "cats.unavailable"
    http_status = 503


class CatsNetworkError(CatsError):
    """CATS could not be reached at all (offline, DNS, connection refused)."""

    code = "cats.network"
    http_status = 503


class CatsBadResponseError(CatsError):
    """CATS answered with something we cannot read (not JSON, no Location, unexpected status)."""

    code = "cats.bad_response"


class CatsUncertainWriteError(CatsError):
    """A create was sent but its outcome is unknown (timeout or reset after sending).

    It is never retried blindly: the caller must look in CATS before trying again.
    """

    code = "cats.uncertain_write"
    http_status = 504


class BudgetReservedError(CatsRateLimitedError):
    """Background work may not spend the reserve kept for interactive pushes."""

    code = "cats.budget_reserved"


# --- the local API and protocol ---------------------------------------------------------------


class BadRequestError(CompanionError):
    code = "request.invalid"
    http_status = 400


def describe_validation(exc: ValidationError, *, whole: str = "request", limit: int = 5) -> str:
    """A pydantic error in one line, `where: what; ...`, naming at most `limit` problems (never the input).

    `whole` names a problem with the input as a whole (no location), e.g. "request", "entry", "body".
    """
    parts = []
    for error in exc.errors(include_url=False, include_input=False)[:limit]:
        where = ".".join(str(part) for part in error["loc"]) or whole
        parts.append(f"{where}: {error['msg']}")
    more = exc.error_count() - len(parts)
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


class UnauthorizedError(CompanionError):
    code = "auth.token"
    http_status = 401


class ForbiddenOriginError(CompanionError):
    code = "auth.origin"
    http_status = 403


class ForbiddenHostError(CompanionError):
    code = "auth.host"
    http_status = 403


class CsrfError(CompanionError):
    """A state-changing request made with the window's cookie lacked the right X-CSRF-Token."""

    code = "auth.csrf"
    http_status = 403


class SessionEndedError(UnauthorizedError):
    """The window's session cookie is unknown, expired or signed out."""

    code = "auth.session"


class RouteNotFoundError(CompanionError):
    code = "request.not_found"
    http_status = 404


class MethodNotAllowedError(CompanionError):
    code = "request.method_not_allowed"
    http_status = 405


class PayloadTooLargeError(CompanionError):
    code = "request.too_large"
    http_status = 413


# --- the daemon and its database ----------------------------------------------------------------


class DaemonAlreadyRunningError(CompanionError):
    """Another companion daemon of this user is alive and answering."""

    code = "daemon.already_running"
    http_status = 409


class StoreError(CompanionError):
    """The local database could not be opened or migrated."""

    code = "store.error"
    http_status = 500


class SchemaTooNewError(StoreError):
    """The database was migrated by a newer companion than this one: refuse rather than corrupt it."""

    code = "store.schema_too_new"


class ReadOnlyViolationError(StoreError):
    """A write was attempted where only reads are allowed (e.g. while serving a GET request)."""

    code = "store.read_only"


# --- settings and the team policy ---------------------------------------------------------------


class SettingsUnknownError(CompanionError):
    """A setting path that does not exist; `paths` names every one of them."""

    code = "settings.unknown"
    http_status = 400

    def __init__(self, message: str, *, paths: list[str]) -> None:
        super().__init__(message)
        self.paths = paths

    def to_dict(self) -> dict[str, object]:
        return {**super().to_dict(), "paths": self.paths}


class SettingsLockedError(CompanionError):
    """A change to settings the team policy locks; nothing of the request was applied."""

    code = "settings.locked"
    http_status = 403

    def __init__(self, message: str, *, paths: list[str]) -> None:
        super().__init__(message)
        self.paths = paths

    def to_dict(self) -> dict[str, object]:
        return {**super().to_dict(), "paths": self.paths}


class SettingsInvalidError(CompanionError):
    """Setting values that fail validation; `details` holds one `{path, message}` per problem."""

    code = "settings.invalid"
    http_status = 400

    def __init__(self, message: str, *, details: list[dict[str, str]] | None = None) -> None:
        super().__init__(message)
        self.details = details or []

    def to_dict(self) -> dict[str, object]:
        return {**super().to_dict(), "details": self.details}


class PolicyInvalidError(CompanionError):
    """A team policy file (or an admin's edit of it) that cannot be applied."""

    code = "policy.invalid"
    http_status = 400


class PolicyConflictError(CompanionError):
    """An admin's edit of the team database's policy was based on a revision another admin replaced."""

    code = "policy.conflict"
    http_status = 409

    def __init__(
        self,
        message: str,
        *,
        revision: int | None = None,
        changed_by: str | None = None,
        changed_at: str | None = None,
    ) -> None:
        super().__init__(message)
        #: The policy as it is now: its revision, who changed it and when (ISO 8601), for a reload.
        self.revision = revision
        self.changed_by = changed_by
        self.changed_at = changed_at

    def to_dict(self) -> dict[str, object]:
        return {
            **super().to_dict(),
            "revision": self.revision,
            "changed_by": self.changed_by,
            "changed_at": self.changed_at,
        }


class AdminRequiredError(CompanionError):
    """Admin mode was asked for by a user who may not write the system-wide policy."""

    code = "policy.admin_required"
    http_status = 403


# --- team mode on PostgreSQL (companion.team) ---------------------------------------------------


class TeamError(CompanionError):
    """Something about the team's PostgreSQL database; messages never hold its password."""

    code = "team.error"
    http_status = 502


class TeamNotJoinedError(TeamError):
    """This companion belongs to no team (or its record names a team it cannot reach any more)."""

    code = "team.not_joined"
    http_status = 409


class TeamUnavailableError(TeamError):
    """The team's database could not be reached (network, DNS, refused, timed out)."""

    code = "team.unavailable"
    http_status = 503


class TeamAuthError(TeamError):
    """PostgreSQL refused the credentials (wrong password, unknown role, no pg_hba entry)."""

    code = "team.auth_failed"
    http_status = 401


class TeamPrivilegeError(TeamError):
    """The database user lacks a privilege the step needs; the message names it and the fix."""

    code = "team.privileges"
    http_status = 403


class TeamSiteMismatchError(TeamError):
    """The team belongs to another CATS site than this companion; the message names both."""

    code = "team.site_mismatch"
    http_status = 409


class TeamSchemaError(TeamError):
    """The team's schema is missing, older than this companion needs, or newer than it knows."""

    code = "team.schema"
    http_status = 409


class TeamUnknownMemberError(TeamError):
    """A member named in a command is not in the team (no member row, or no such role)."""

    code = "team.unknown_member"
    http_status = 404


class TeamRemovalRefusedError(TeamError):
    """A removal that would leave the team without its admin: oneself, or the last admin."""

    code = "team.removal_refused"
    http_status = 409


class TeamRemovedError(TeamError):
    """The team's admin removed this member: the database no longer lets its login role in."""

    code = "team.removed"
    http_status = 403


class LocalClusterError(TeamError):
    """A private PostgreSQL cluster for the demo or a bench could not be made: binaries missing, no start."""

    code = "team.local_cluster"
    http_status = 500


class TeamClaimReleasedError(TeamError):
    """The person claim waited on was abandoned or its lease ran out: claim the person again."""

    code = "team.claim_released"
    http_status = 409


class TeamClaimTakenOverError(TeamError):
    """This companion's person claim outlived its lease and another member took the person over."""

    code = "team.claim_taken_over"
    http_status = 409


class TeamClaimTimeoutError(TeamError):
    """The member who won a person claim did not record the CATS id within the wait."""

    code = "team.claim_timeout"
    http_status = 504


# --- the native-messaging protocol (native host <-> daemon <-> extension) ------------------------


class UnknownMessageTypeError(BadRequestError):
    """A request named a message type the daemon does not serve."""

    code = "request.unknown_type"


class UnsupportedVersionError(BadRequestError):
    """A request asked for a protocol version the daemon does not speak."""

    code = "request.unsupported_version"


class MessageTooLargeError(CompanionError):
    """A reply or event would exceed the 1 MiB Chrome accepts from a native host; ask for a smaller page."""

    code = "message.too_large"
    http_status = 413


class DaemonUnavailableError(CompanionError):
    """The native host could not reach (or start) the companion daemon."""

    code = "daemon.unavailable"
    http_status = 503


class DaemonTimeoutError(DaemonUnavailableError):
    """The daemon accepted a request but did not answer in time."""

    code = "daemon.timeout"
    http_status = 504


# --- pushing people to CATS (companion.rules) ----------------------------------------------------


class PushRefusedError(CompanionError):
    """A push that can never succeed as it stands; nothing was queued or sent."""

    code = "push.refused"
    http_status = 422


class MandatoryFieldsMissingError(PushRefusedError):
    """Fields the settings (or CATS) require have no value; `fields` holds one `{field, label}` each."""

    code = "push.mandatory_missing"

    def __init__(self, message: str, *, fields: list[dict[str, str]]) -> None:
        super().__init__(message)
        self.fields = fields

    def to_dict(self) -> dict[str, object]:
        return {**super().to_dict(), "fields": self.fields}


class FieldValuesInvalidError(PushRefusedError):
    """Values CATS would refuse (not an option, not a number...); `fields` holds `{field, label, message}`."""

    code = "push.invalid_value"

    def __init__(self, message: str, *, fields: list[dict[str, str]]) -> None:
        super().__init__(message)
        self.fields = fields

    def to_dict(self) -> dict[str, object]:
        return {**super().to_dict(), "fields": self.fields}


class ContactCompanyMissingError(PushRefusedError):
    """A Contact needs a CATS company and none was found or chosen for the person."""

    code = "push.company_missing"


class OwnerMissingError(PushRefusedError):
    """A Contact needs an owner and none was given; `setting` names where to set the default."""

    code = "push.owner_missing"

    def __init__(self, message: str, *, setting: str) -> None:
        super().__init__(message)
        self.setting = setting

    def to_dict(self) -> dict[str, object]:
        return {**super().to_dict(), "setting": self.setting}


# --- campaigns, events and the push outbox (companion.services.push, companion.services.outbox_worker)


class CampaignNotFoundError(CompanionError):
    code = "campaign.not_found"
    http_status = 404


class CampaignNameTakenError(CompanionError):
    """Another live campaign has this name (archived campaigns free theirs)."""

    code = "campaign.name_taken"
    http_status = 409


class CampaignArchivedError(CompanionError):
    """The campaign is archived: it takes no new members or events."""

    code = "campaign.archived"
    http_status = 409


class NotCampaignMemberError(CompanionError):
    """An event for a person who was never added to the campaign."""

    code = "campaign.not_member"
    http_status = 409


class PersonNotFoundError(CompanionError):
    code = "person.not_found"
    http_status = 404


class ContactCompanyAmbiguousError(PushRefusedError):
    """Several CATS companies fit the contact's company; `candidates` lists them so the user can choose."""

    code = "push.company_ambiguous"

    def __init__(self, message: str, *, candidates: list[dict[str, object]]) -> None:
        super().__init__(message)
        self.candidates = candidates

    def to_dict(self) -> dict[str, object]:
        return {**super().to_dict(), "candidates": self.candidates}


class OutboxItemNotFoundError(CompanionError):
    code = "outbox.not_found"
    http_status = 404


class OutboxStateError(CompanionError):
    """The item is not in a state that allows this (retry a synced item, cancel one being sent...)."""

    code = "outbox.state"
    http_status = 409


class OutboxBusyError(CompanionError):
    """Another process (the daemon, or `cats-companion outbox send`) is already sending this outbox."""

    code = "outbox.busy"
    http_status = 409


class EventImportInvalidError(BadRequestError):
    """An event import file that cannot be applied; `entry` is the index of the first bad entry."""

    code = "event.import_invalid"

    def __init__(self, message: str, *, entry: int | None) -> None:
        super().__init__(message)
        self.entry = entry

    def to_dict(self) -> dict[str, object]:
        return {**super().to_dict(), "entry": self.entry}


class OutboxItemUnreadableError(CompanionError):
    """An outbox item's stored person or note no longer validates (e.g. written by another version)."""

    code = "outbox.unreadable"
    http_status = 500
