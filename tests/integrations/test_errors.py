"""The integration's errors: each class keeps the code, status and description the API has
always answered (docs/integration.md lists them), says what the admin is told, and belongs
to the group that names the caller's next step."""

from __future__ import annotations

import uuid

import orjson
import pytest

from scimhub.api.integration import error_response
from scimhub.api.services import Hub
from scimhub.integrations.entra.errors import (
    AlreadyRunning,
    BadRequest,
    Conflict,
    Forbidden,
    IntegrationError,
    InternalError,
    NotConfigured,
    NotFound,
    NotProven,
    NotSignedIn,
    PayloadTooLarge,
    Reconsent,
    Recreate,
    Retry,
    Stop,
    TenantTaken,
    Throttled,
    Unauthorized,
    Unavailable,
    UnexpectedAnswer,
    Upstream,
)
from scimhub.integrations.entra.failures import recording_failures
from tests.conftest import OrgClient

CRID = "9afc732a-2dcf-44e0-8bd8-49db92e483b7"
PREFIX = "Azure AD integration error."

CASES: list[tuple[IntegrationError, int, str, type[IntegrationError], str, str]] = [
    (
        Unauthorized(CRID),
        401,
        "701018",
        Reconsent,
        f"Request unauthorized. client-request-id: {CRID}",
        f"{PREFIX} The request was unauthorized. Please sign out and try again.",
    ),
    (
        Throttled(42, CRID),
        429,
        "701029",
        Retry,
        f"Microsoft Graph is throttling requests; retry after 42 s. client-request-id: {CRID}",
        f"{PREFIX} Microsoft Graph is busy. Try again in 42 seconds.",
    ),
    (
        Unavailable(CRID),
        503,
        "701030",
        Retry,
        f"Microsoft Entra ID is unavailable. client-request-id: {CRID}",
        f"{PREFIX} Microsoft Entra ID is unavailable right now. Try again in a few minutes.",
    ),
    (
        UnexpectedAnswer(CRID),
        502,
        "701031",
        Stop,
        f"Unexpected answer from Microsoft Graph. client-request-id: {CRID}",
        f"{PREFIX} scimhub could not complete the request (HTTP 502).",
    ),
    (
        NotFound("Instance x"),
        404,
        "701040",
        Recreate,
        "Instance x not found.",
        f"{PREFIX} The instance or its provisioning job was not found; it may have been "
        "deleted. Reload the page.",
    ),
    (
        BadRequest("scope must be one of assigned, all"),
        400,
        "701050",
        Stop,
        "scope must be one of assigned, all",
        f"{PREFIX} The request was not valid: scope must be one of assigned, all.",
    ),
    (
        Conflict("This tenant is already connected to the organization."),
        409,
        "701051",
        Stop,
        "This tenant is already connected to the organization.",
        f"{PREFIX} The request failed (HTTP 409): This tenant is already connected to the "
        "organization..",
    ),
    (
        AlreadyRunning(),
        409,
        "701052",
        Retry,
        "A sync round for this instance is already running; try again when it has finished.",
        f"{PREFIX} The request failed (HTTP 409): A sync round for this instance is already "
        "running; try again when it has finished..",
    ),
    (
        TenantTaken(),
        409,
        "701053",
        Stop,
        "This Entra tenant is already connected to another organization on this hub. Ask the "
        "hub's operator to allow sharing it (SCIMHUB_ENTRA_SHARED_TENANTS) if both should "
        "receive its users.",
        f"{PREFIX} The request failed (HTTP 409): This Entra tenant is already connected to "
        "another organization on this hub. Ask the hub's operator to allow sharing it "
        "(SCIMHUB_ENTRA_SHARED_TENANTS) if both should receive its users..",
    ),
    (
        PayloadTooLarge(262144),
        413,
        "701054",
        Stop,
        "The request body exceeds the maximum of 262144 bytes.",
        f"{PREFIX} The request failed (HTTP 413): The request body exceeds the maximum of "
        "262144 bytes..",
    ),
    (
        Forbidden(),
        403,
        "701060",
        Stop,
        "Read-only administrators cannot change the integration.",
        "You have read-only access. Ask a full administrator to make this change.",
    ),
    (
        NotSignedIn(),
        401,
        "701061",
        Stop,
        "Sign in as an administrator of this organization.",
        "Your session has ended. Sign in again.",
    ),
    (
        NotProven("the ID token was issued for another sign-in."),
        401,
        "701062",
        Reconsent,
        "The Entra sign-in did not prove the tenant: the ID token was issued for another "
        "sign-in. Start the setup again.",
        f"{PREFIX} The request failed (HTTP 401): The Entra sign-in did not prove the tenant: "
        "the ID token was issued for another sign-in. Start the setup again..",
    ),
    (
        NotConfigured(),
        412,
        "701070",
        Stop,
        "The Azure AD integration is not configured on this hub (SCIMHUB_ENTRA_CLIENT_ID, "
        "_CLIENT_SECRET, _APP_TEMPLATE_ID).",
        f"{PREFIX} The request failed (HTTP 412): The Azure AD integration is not configured "
        "on this hub (SCIMHUB_ENTRA_CLIENT_ID, _CLIENT_SECRET, _APP_TEMPLATE_ID)..",
    ),
    (
        InternalError("SCIMHUB_x_1"),
        500,
        "701099",
        Stop,
        "The hub failed unexpectedly; quote the tracking id SCIMHUB_x_1 when reporting it.",
        f"{PREFIX} scimhub could not complete the request (HTTP 500).",
    ),
]


@pytest.mark.parametrize(
    ("err", "status", "code", "group", "description", "title"), CASES, ids=[c[2] for c in CASES]
)
def test_each_error_keeps_its_wire_form_and_says_what_to_do(
    err: IntegrationError,
    status: int,
    code: str,
    group: type[IntegrationError],
    description: str,
    title: str,
) -> None:
    assert (err.status, err.code, err.description) == (status, code, description)
    assert isinstance(err, group)
    assert err.title == title
    response = error_response(err, "CONSOLE_x_1")
    assert response.status_code == status
    assert orjson.loads(response.body) == {
        "error": {
            "key": str(status),
            "message": [{"code": code, "description": description, "title": title}],
        },
        "trackingId": "CONSOLE_x_1",
    }


def test_every_code_is_one_class() -> None:
    assert len({c[2] for c in CASES}) == len(CASES)


def test_throttling_passes_retry_after_on() -> None:
    assert Throttled(7, CRID).headers == {"Retry-After": "7"}


def test_only_what_entra_answered_is_recorded_unless_nobody_watches(
    hub: Hub, org: OrgClient
) -> None:
    def run(err: IntegrationError, *, every_failure: bool = False) -> str:
        tid = f"TEST_{uuid.uuid4()}_1"
        with (
            pytest.raises(type(err)),
            recording_failures(
                hub.instances,
                org.org_id,
                None,
                tracking_id=tid,
                operation="status",
                every_failure=every_failure,
            ),
        ):
            raise err
        return tid

    upstream = run(Unauthorized(CRID, Upstream("AADSTS700016", "gone", "corr-1")))
    local = run(BadRequest("mappings must be a non-empty list of {source, target}"))
    unattended = run(NotConfigured(), every_failure=True)
    recorded = {f.tracking_id: f for f in hub.instances.failures(org.org_id, limit=10)[0]}
    assert local not in recorded
    failure = recorded[upstream]
    assert (
        failure.operation,
        failure.status,
        failure.code,
        failure.upstream_code,
        failure.correlation_id,
        failure.client_request_id,
    ) == ("status", 401, "701018", "AADSTS700016", "corr-1", CRID)
    assert recorded[unattended].code == "701070"
