"""Integration failures as types. Each class carries its HTTP status and code (the codes are
listed with their meaning in docs/integration.md), the sentence the console shows the
admin (`title`), and what the troubleshooter needs: Entra's own error code and correlation
ids, which never reach the browser beyond the description.

The classes are grouped by what the caller should do next, as a sync engine would: `Retry`
(transient), `Recreate` (what was named is gone: restore it from the saved copy),
`Reconsent` (Entra refuses the hub: an admin must consent again) and `Stop` (the request
cannot succeed as it is). Only the Graph and MSAL client layer (`graph.py`,
`credentials.py`, `signin.py`, `jobs.py`) raises them for what Entra answered; callers
catch the class they can handle.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

# How the console's toasts about the integration begin (the seed's wording).
_PREFIX = "Azure AD integration error."


@dataclass(frozen=True)
class Upstream:
    """What Entra or Graph said, kept for the troubleshooter."""

    code: str | None = None  # e.g. "AADSTS700016" or Graph's "Authorization_RequestDenied"
    message: str | None = None
    correlation_id: str | None = None


class IntegrationError(Exception):
    status: ClassVar[int]
    code: ClassVar[str]

    def __init__(
        self,
        description: str,
        *,
        upstream: Upstream | None = None,
        client_request_id: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(description)
        self.description = description
        self.upstream = upstream or Upstream()
        self.client_request_id = client_request_id
        self.headers = headers or {}

    def __str__(self) -> str:
        return f"{self.status}/{self.code}: {self.description}"

    @property
    def title(self) -> str:
        """What the admin is told (the console adds the tracking id)."""
        if self.status >= 500:
            return f"{_PREFIX} scimhub could not complete the request (HTTP {self.status})."
        return f"{_PREFIX} The request failed (HTTP {self.status}): {self.description}."

    @property
    def from_upstream(self) -> bool:
        """Entra or Graph answered this (rather than the hub refusing the request)."""
        return bool(self.upstream.code or self.client_request_id)

    def failure_fields(self) -> dict[str, Any]:
        """What the troubleshooter keeps of this error (`Instances.record_failure`)."""
        return {
            "status": self.status,
            "code": self.code,
            "upstream_code": self.upstream.code,
            "upstream_message": self.upstream.message,
            "correlation_id": self.upstream.correlation_id,
            "client_request_id": self.client_request_id,
        }


# -- what to do next --------------------------------------------------------------------


class Retry(IntegrationError):
    """Transient: the same call may succeed later."""


class Recreate(IntegrationError):
    """What the call named is gone; "Allow Azure AD sync" recreates it from the saved copy."""


class Reconsent(IntegrationError):
    """Entra refuses the hub's credentials or the setup sign-in: an admin must sign in and
    consent again."""


class Stop(IntegrationError):
    """The request cannot succeed as it is: a person has to change it, or the hub's
    configuration."""


# -- the failures -------------------------------------------------------------------------


class Unauthorized(Reconsent):
    status, code = 401, "701018"

    def __init__(self, client_request_id: str, upstream: Upstream | None = None) -> None:
        super().__init__(
            f"Request unauthorized. client-request-id: {client_request_id}",
            upstream=upstream,
            client_request_id=client_request_id,
        )

    @property
    def title(self) -> str:
        return f"{_PREFIX} The request was unauthorized. Please sign out and try again."


class NotProven(Reconsent):
    """The setup sign-in did not prove which tenant the admin belongs to."""

    status, code = 401, "701062"

    def __init__(self, reason: str, upstream: Upstream | None = None) -> None:
        super().__init__(
            f"The Entra sign-in did not prove the tenant: {reason} Start the setup again.",
            upstream=upstream,
        )


class Throttled(Retry):
    status, code = 429, "701029"

    def __init__(
        self, retry_after: int, client_request_id: str, upstream: Upstream | None = None
    ) -> None:
        super().__init__(
            "Microsoft Graph is throttling requests; retry after "
            f"{retry_after} s. client-request-id: {client_request_id}",
            upstream=upstream,
            client_request_id=client_request_id,
            headers={"Retry-After": str(retry_after)},
        )
        self.retry_after = retry_after

    @property
    def title(self) -> str:
        return f"{_PREFIX} Microsoft Graph is busy. Try again in {self.retry_after} seconds."


class Unavailable(Retry):
    status, code = 503, "701030"

    def __init__(self, client_request_id: str, upstream: Upstream | None = None) -> None:
        super().__init__(
            f"Microsoft Entra ID is unavailable. client-request-id: {client_request_id}",
            upstream=upstream,
            client_request_id=client_request_id,
        )

    @property
    def title(self) -> str:
        return f"{_PREFIX} Microsoft Entra ID is unavailable right now. Try again in a few minutes."


class AlreadyRunning(Retry):
    """A sync round for the instance is running in another process."""

    status, code = 409, "701052"

    def __init__(self) -> None:
        super().__init__(
            "A sync round for this instance is already running; try again when it has finished."
        )


class NotFound(Recreate):
    status, code = 404, "701040"

    def __init__(self, what: str, upstream: Upstream | None = None) -> None:
        super().__init__(f"{what} not found.", upstream=upstream)

    @property
    def title(self) -> str:
        return (
            f"{_PREFIX} The instance or its provisioning job was not found; it may have "
            "been deleted. Reload the page."
        )


class UnexpectedAnswer(Stop):
    """Graph answered something the hub cannot read."""

    status, code = 502, "701031"

    def __init__(self, client_request_id: str, upstream: Upstream | None = None) -> None:
        super().__init__(
            f"Unexpected answer from Microsoft Graph. client-request-id: {client_request_id}",
            upstream=upstream,
            client_request_id=client_request_id,
        )


class BadRequest(Stop):
    status, code = 400, "701050"

    def __init__(
        self,
        description: str,
        *,
        upstream: Upstream | None = None,
        client_request_id: str | None = None,
    ) -> None:
        super().__init__(description, upstream=upstream, client_request_id=client_request_id)

    @property
    def title(self) -> str:
        return f"{_PREFIX} The request was not valid: {self.description}."


class Conflict(Stop):
    status, code = 409, "701051"


class TenantTaken(Stop):
    """The tenant feeds another organisation of this hub (one tenant, one organisation)."""

    status, code = 409, "701053"

    def __init__(self) -> None:
        super().__init__(
            "This Entra tenant is already connected to another organization on "
            "this hub. Ask the hub's operator to allow sharing it "
            "(SCIMHUB_ENTRA_SHARED_TENANTS) if both should receive its users."
        )


class NoSuchRoute(Stop):
    """No such path in the integration API (Starlette's own 404 there, in the envelope)."""

    status, code = 404, "701041"

    def __init__(self, path: str) -> None:
        super().__init__(f"There is no such path in the integration API: {path[:200]}")


class MethodNotAllowed(Stop):
    """The path does not take the method (Starlette's own 405 there, in the envelope)."""

    status, code = 405, "701055"

    def __init__(self, method: str, allowed: str) -> None:
        super().__init__(
            f"{method[:16]} is not allowed here" + (f"; allowed: {allowed}" if allowed else "")
        )


class PayloadTooLarge(Stop):
    status, code = 413, "701054"

    def __init__(self, limit: int) -> None:
        super().__init__(f"The request body exceeds the maximum of {limit} bytes.")


class Forbidden(Stop):
    status, code = 403, "701060"

    def __init__(
        self, description: str = "Read-only administrators cannot change the integration."
    ) -> None:
        super().__init__(description)

    @property
    def title(self) -> str:
        return "You have read-only access. Ask a full administrator to make this change."


class NotSignedIn(Stop):
    status, code = 401, "701061"

    def __init__(self) -> None:
        super().__init__("Sign in as an administrator of this organization.")

    @property
    def title(self) -> str:
        return "Your session has ended. Sign in again."


class NotConfigured(Stop):
    status, code = 412, "701070"

    def __init__(self) -> None:
        super().__init__(
            "The Azure AD integration is not configured on this hub "
            "(SCIMHUB_ENTRA_CLIENT_ID, _CLIENT_SECRET, _APP_TEMPLATE_ID)."
        )


class InternalError(Stop):
    """A bug in the hub: the traceback is logged with the tracking id."""

    status, code = 500, "701099"

    def __init__(self, tracking_id: str) -> None:
        super().__init__(
            f"The hub failed unexpectedly; quote the tracking id {tracking_id} when reporting it."
        )
