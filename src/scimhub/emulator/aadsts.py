"""AADSTS errors as Entra reports them: the token endpoint's JSON body, the query of an
error redirect back to the app, and the text of an error page."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any


class AadstsError(Exception):
    def __init__(
        self, code: int, error: str, description: str, status: int = 400, subcode: str | None = None
    ):
        super().__init__(description)
        self.code = code
        self.error = error
        self.description = description
        self.status = status
        self.subcode = subcode

    @property
    def text(self) -> str:
        return f"AADSTS{self.code}: {self.description}"

    def _described(self, trace_id: str, correlation_id: str, stamp: str) -> str:
        return (
            f"{self.text} Trace ID: {trace_id} Correlation ID: {correlation_id} Timestamp: {stamp}"
        )

    def redirect_params(self, state: str) -> dict[str, str]:
        """What the browser carries back to the app's redirect URI."""
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
        params = {
            "error": self.error,
            "error_description": self._described(str(uuid.uuid4()), str(uuid.uuid4()), stamp),
        }
        if self.subcode:
            params["error_subcode"] = self.subcode
        if state:
            params["state"] = state
        return params

    def body(self, base_url: str, correlation_id: str | None) -> dict[str, Any]:
        trace_id = str(uuid.uuid4())
        correlation_id = correlation_id or str(uuid.uuid4())
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
        return {
            "error": self.error,
            "error_description": self._described(trace_id, correlation_id, stamp),
            "error_codes": [self.code],
            "timestamp": stamp,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
            "error_uri": f"{base_url}/error?code={self.code}",
        }


def tenant_not_found(ref: str) -> AadstsError:
    return AadstsError(
        90002,
        "invalid_request",
        f"Tenant '{ref}' not found. Check to make sure you have the correct tenant ID and are "
        "signing into the correct cloud. Check with your subscription administrator, this may "
        "happen if there are no active subscriptions for the tenant.",
    )


def app_not_in_tenant(client_id: str, tenant_name: str) -> AadstsError:
    return AadstsError(
        700016,
        "unauthorized_client",
        f"Application with identifier '{client_id}' was not found in the directory "
        f"'{tenant_name}'. This can happen if the application has not been installed by the "
        "administrator of the tenant or consented to by any user in the tenant. You may have "
        "sent your authentication request to the wrong tenant.",
    )


def bad_secret(client_id: str) -> AadstsError:
    return AadstsError(
        7000215,
        "invalid_client",
        "Invalid client secret provided. Ensure the secret being sent in the request is the "
        f"client secret value, not the client secret ID, for a secret added to app '{client_id}'.",
        401,
    )


def expired_secret(client_id: str) -> AadstsError:
    return AadstsError(
        7000222,
        "invalid_client",
        f"The provided client secret keys for app '{client_id}' are expired. Visit the Azure "
        "portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider "
        "using certificate credentials for added security: https://aka.ms/certCreds.",
        401,
    )


def app_disabled(client_id: str, name: str) -> AadstsError:
    return AadstsError(
        7000112, "unauthorized_client", f"Application '{client_id}'({name}) is disabled."
    )


def no_consent(client_id: str, name: str, error: str = "invalid_grant") -> AadstsError:
    """`error`: consent_required when the authorize endpoint may not show the consent page."""
    return AadstsError(
        65001,
        error,
        "The user or administrator has not consented to use the application with ID "
        f"'{client_id}' named '{name}'. Send an interactive authorization request for this "
        "user and resource.",
    )


def missing_parameter(name: str) -> AadstsError:
    return AadstsError(
        900144,
        "invalid_request",
        f"The request body must contain the following parameter: '{name}'.",
    )


def missing_secret() -> AadstsError:
    return AadstsError(
        7000218,
        "invalid_client",
        "The request body must contain the following parameter: "
        "'client_assertion' or 'client_secret'.",
        401,
    )


def bad_grant_type(grant_type: str) -> AadstsError:
    return AadstsError(
        70003,
        "unsupported_grant_type",
        f"The app requested an unsupported grant type '{grant_type}'.",
    )


def bad_scope(scope: str) -> AadstsError:
    return AadstsError(
        1002012,
        "invalid_scope",
        f"The provided value for scope {scope} is not valid. Client credential flows must "
        "have a scope value with /.default suffixed to the resource identifier "
        "(application ID URI).",
    )


def unknown_resource(resource: str, tenant_name: str) -> AadstsError:
    return AadstsError(
        500011,
        "invalid_resource",
        f"The resource principal named {resource} was not found in the tenant named "
        f"{tenant_name}. This can happen if the application has not been installed by the "
        "administrator of the tenant or consented to by any user in the tenant.",
    )


# The authorization code grant (token endpoint).


def code_expired() -> AadstsError:
    return AadstsError(
        70008,
        "invalid_grant",
        "The provided authorization code or refresh token has expired due to "
        "inactivity. Send a new interactive authorization request for this user "
        "and resource.",
    )


def code_redeemed() -> AadstsError:
    return AadstsError(
        54005,
        "invalid_grant",
        "OAuth2 Authorization code was already redeemed, please retry with a new "
        "valid code or use an existing refresh token.",
    )


def code_other_client() -> AadstsError:
    return AadstsError(
        70000, "invalid_grant", "The provided authorization code was issued to a different client."
    )


def code_other_tenant() -> AadstsError:
    return AadstsError(
        700005,
        "invalid_grant",
        "Provided Authorization Code is intended to use against other tenant, thus rejected.",
    )


def code_redirect_mismatch() -> AadstsError:
    return AadstsError(
        70000,
        "invalid_grant",
        "The provided value for the 'redirect_uri' is not valid. The value must "
        "exactly match the redirect URI used to obtain the authorization code.",
    )


def verifier_mismatch() -> AadstsError:
    return AadstsError(
        50148,
        "invalid_grant",
        "The code_verifier does not match the code_challenge supplied in the "
        "authorization request for PKCE.",
    )


# The authorize and admin-consent endpoints (error pages and error redirects).


def redirect_not_registered(uri: str, client_id: str) -> AadstsError:
    return AadstsError(
        50011,
        "invalid_request",
        f"The redirect URI '{uri}' specified in the request does not match the redirect URIs "
        f"configured for the application '{client_id}'. Make sure the redirect URI sent in the "
        "request matches one added to your application in the Azure portal.",
    )


def app_not_found(client_id: str, directory: str) -> AadstsError:
    return AadstsError(
        700016,
        "unauthorized_client",
        f"Application with identifier '{client_id}' was not found in the directory '{directory}'.",
    )


def bad_response_type(response_type: str) -> AadstsError:
    return AadstsError(
        700051,
        "unsupported_response_type",
        f"response_type '{response_type}' is not enabled for the application.",
    )


def invalid_scope(scope: str) -> AadstsError:
    return AadstsError(
        70011,
        "invalid_scope",
        f"The provided value for the input parameter 'scope' is not valid. The "
        f"scope '{scope}' is not valid.",
    )


def malformed(detail: str) -> AadstsError:
    return AadstsError(
        9002313, "invalid_request", f"Invalid request. Request is malformed or invalid. {detail}"
    )


def login_required() -> AadstsError:
    return AadstsError(
        50058, "login_required", "A silent sign-in request was sent but no user is signed in."
    )


def declined() -> AadstsError:
    return AadstsError(
        65004, "access_denied", "User declined to consent to access the app.", subcode="cancel"
    )


def not_assigned(client_id: str, name: str, login: str) -> AadstsError:
    """The enterprise app requires assignment and the user has none (the authorize
    endpoint redirects with it; MSAL and OpenID Connect clients see access_denied)."""
    return AadstsError(
        50105,
        "access_denied",
        f"Your administrator has configured the application {name} ('{client_id}') to block "
        "users unless they are specifically granted ('assigned') access to the application. "
        f"The signed in user '{login}' is blocked because they are not a direct member of a "
        "group with access, nor had access directly assigned by an administrator. Please "
        "contact your administrator to assign access to this application.",
    )
