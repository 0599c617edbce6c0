"""Integration failures as values. Each names what the caller should do next (sign in
again, retry later, recreate) and carries what the troubleshooter needs: Entra's own error
code and correlation ids, which never reach the browser beyond the description.

The codes (701018 for refused credentials, 701029 throttled, 701030 unavailable, ...) are
listed with their meaning in docs/integration.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Upstream:
    """What Entra or Graph said, kept for the troubleshooter."""

    code: str | None = None  # e.g. "AADSTS700016" or Graph's "Authorization_RequestDenied"
    message: str | None = None
    correlation_id: str | None = None


@dataclass
class IntegrationError(Exception):
    status: int
    code: str
    description: str
    upstream: Upstream = field(default_factory=Upstream)
    client_request_id: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.status}/{self.code}: {self.description}"

    def failure_fields(self) -> dict[str, Any]:
        """What the troubleshooter keeps of this error (`Instances.record_failure`)."""
        return {"status": self.status, "code": self.code, "upstream_code": self.upstream.code,
                "upstream_message": self.upstream.message,
                "correlation_id": self.upstream.correlation_id,
                "client_request_id": self.client_request_id}


def unauthorized(client_request_id: str, upstream: Upstream | None = None) -> IntegrationError:
    return IntegrationError(401, "701018",
                            f"Request unauthorized. client-request-id: {client_request_id}",
                            upstream or Upstream(), client_request_id)


def throttled(retry_after: int, client_request_id: str,
              upstream: Upstream | None = None) -> IntegrationError:
    return IntegrationError(429, "701029", "Microsoft Graph is throttling requests; retry "
                            f"after {retry_after} s. client-request-id: {client_request_id}",
                            upstream or Upstream(), client_request_id,
                            {"Retry-After": str(retry_after)})


def unavailable(client_request_id: str, upstream: Upstream | None = None) -> IntegrationError:
    return IntegrationError(503, "701030", "Microsoft Entra ID is unavailable. "
                            f"client-request-id: {client_request_id}",
                            upstream or Upstream(), client_request_id)


def unexpected(client_request_id: str, upstream: Upstream | None = None) -> IntegrationError:
    return IntegrationError(502, "701031", "Unexpected answer from Microsoft Graph. "
                            f"client-request-id: {client_request_id}",
                            upstream or Upstream(), client_request_id)


def not_found(what: str, upstream: Upstream | None = None) -> IntegrationError:
    return IntegrationError(404, "701040", f"{what} not found.", upstream or Upstream())


def bad_request(description: str) -> IntegrationError:
    return IntegrationError(400, "701050", description)


def conflict(description: str) -> IntegrationError:
    return IntegrationError(409, "701051", description)


def payload_too_large(limit: int) -> IntegrationError:
    return IntegrationError(413, "701054", f"The request body exceeds the maximum of {limit} "
                            "bytes.")


def tenant_taken() -> IntegrationError:
    return IntegrationError(409, "701053", "This Entra tenant is already connected to another "
                            "organization on this hub. Ask the hub's operator to allow sharing "
                            "it (SCIMHUB_ENTRA_SHARED_TENANTS) if both should receive its "
                            "users.")


ALREADY_RUNNING = "701052"


def already_running() -> IntegrationError:
    return IntegrationError(409, ALREADY_RUNNING, "A sync round for this instance is already "
                            "running; try again when it has finished.")


def forbidden(description: str = "Read-only administrators cannot change the integration."
              ) -> IntegrationError:
    return IntegrationError(403, "701060", description)


def not_signed_in() -> IntegrationError:
    return IntegrationError(401, "701061", "Sign in as an administrator of this organization.")


def not_configured() -> IntegrationError:
    return IntegrationError(412, "701070", "The Azure AD integration is not configured on "
                            "this hub (SCIMHUB_ENTRA_CLIENT_ID, _CLIENT_SECRET, "
                            "_APP_TEMPLATE_ID).")


def internal_error(tracking_id: str) -> IntegrationError:
    return IntegrationError(500, "701099", "The hub failed unexpectedly; quote the tracking id "
                            f"{tracking_id} when reporting it.")
