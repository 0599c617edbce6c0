"""The token endpoint's error body, exactly as Entra sends it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any


class AadstsError(Exception):
    def __init__(self, code: int, error: str, description: str, status: int = 400):
        super().__init__(description)
        self.code = code
        self.error = error
        self.description = description
        self.status = status

    def body(self, base_url: str, correlation_id: str | None) -> dict[str, Any]:
        trace_id = str(uuid.uuid4())
        correlation_id = correlation_id or str(uuid.uuid4())
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
        return {
            "error": self.error,
            "error_description": (
                f"AADSTS{self.code}: {self.description} Trace ID: {trace_id} "
                f"Correlation ID: {correlation_id} Timestamp: {stamp}"
            ),
            "error_codes": [self.code],
            "timestamp": stamp,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
            "error_uri": f"{base_url}/error?code={self.code}",
        }


def tenant_not_found(ref: str) -> AadstsError:
    return AadstsError(
        90002, "invalid_request",
        f"Tenant '{ref}' not found. Check to make sure you have the correct tenant ID and are "
        "signing into the correct cloud. Check with your subscription administrator, this may "
        "happen if there are no active subscriptions for the tenant.",
    )


def app_not_in_tenant(client_id: str, tenant_name: str) -> AadstsError:
    return AadstsError(
        700016, "unauthorized_client",
        f"Application with identifier '{client_id}' was not found in the directory "
        f"'{tenant_name}'. This can happen if the application has not been installed by the "
        "administrator of the tenant or consented to by any user in the tenant. You may have "
        "sent your authentication request to the wrong tenant.",
    )


def bad_secret(client_id: str) -> AadstsError:
    return AadstsError(
        7000215, "invalid_client",
        "Invalid client secret provided. Ensure the secret being sent in the request is the "
        f"client secret value, not the client secret ID, for a secret added to app '{client_id}'.",
        401,
    )


def expired_secret(client_id: str) -> AadstsError:
    return AadstsError(
        7000222, "invalid_client",
        f"The provided client secret keys for app '{client_id}' are expired. Visit the Azure "
        "portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider "
        "using certificate credentials for added security: https://aka.ms/certCreds.",
        401,
    )


def app_disabled(client_id: str, name: str) -> AadstsError:
    return AadstsError(7000112, "unauthorized_client",
                       f"Application '{client_id}'({name}) is disabled.")


def no_consent(client_id: str, name: str) -> AadstsError:
    return AadstsError(
        65001, "invalid_grant",
        "The user or administrator has not consented to use the application with ID "
        f"'{client_id}' named '{name}'. Send an interactive authorization request for this "
        "user and resource.",
    )


def missing_parameter(name: str) -> AadstsError:
    return AadstsError(900144, "invalid_request",
                       f"The request body must contain the following parameter: '{name}'.")


def missing_secret() -> AadstsError:
    return AadstsError(7000218, "invalid_client",
                       "The request body must contain the following parameter: "
                       "'client_assertion' or 'client_secret'.", 401)


def bad_grant_type(grant_type: str) -> AadstsError:
    return AadstsError(70003, "unsupported_grant_type",
                       f"The app requested an unsupported grant type '{grant_type}'.")


def bad_scope(scope: str) -> AadstsError:
    return AadstsError(
        1002012, "invalid_scope",
        f"The provided value for scope {scope} is not valid. Client credential flows must "
        "have a scope value with /.default suffixed to the resource identifier "
        "(application ID URI).",
    )


def unknown_resource(resource: str, tenant_name: str) -> AadstsError:
    return AadstsError(
        500011, "invalid_resource",
        f"The resource principal named {resource} was not found in the tenant named "
        f"{tenant_name}. This can happen if the application has not been installed by the "
        "administrator of the tenant or consented to by any user in the tenant.",
    )
