"""Client-credentials tokens: the checks Entra makes, in Entra's order, then an RS256
JWT for Microsoft Graph carrying the app roles granted to the service principal."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

import jwt
from sqlalchemy import Connection, select

from . import aadsts
from .apps import find_app, find_sp, sp_roles
from .constants import GRAPH_APP_ID, GRAPH_AUDIENCE, TOKEN_LIFETIME_SECONDS
from .directory import find_tenant
from .keys import SigningKey
from .passwords import hash_secret
from .schema import app_secrets

_GRAPH_SCOPES = {f"{GRAPH_AUDIENCE}/.default", f"{GRAPH_APP_ID}/.default"}


def issuer(base_url: str, tenant_id: str) -> str:
    return f"{base_url}/{tenant_id}/v2.0"


def _check_secret(conn: Connection, client_id: str, secret: str) -> None:
    digest = hash_secret(secret)
    rows = conn.execute(select(app_secrets).where(app_secrets.c.app_id == client_id)).all()
    match = next((r for r in rows if r.secret_hash == digest), None)
    if match is None:
        raise aadsts.bad_secret(client_id)
    if datetime.fromisoformat(match.end_date_time) <= datetime.now(UTC):
        raise aadsts.expired_secret(client_id)


def client_credentials(conn: Connection, key: SigningKey, base_url: str, tenant_ref: str,
                       form: dict[str, str]) -> dict[str, Any]:
    """Answer a token request or raise the AADSTS error Entra would send."""
    tenant = find_tenant(conn, tenant_ref)
    if tenant is None:
        raise aadsts.tenant_not_found(tenant_ref)
    grant_type = form.get("grant_type", "")
    if grant_type != "client_credentials":
        raise (aadsts.missing_parameter("grant_type") if not grant_type
               else aadsts.bad_grant_type(grant_type))
    client_id = form.get("client_id", "").lower()
    if not client_id:
        raise aadsts.missing_parameter("client_id")
    scope = form.get("scope", "")
    if not scope:
        raise aadsts.missing_parameter("scope")
    if not scope.endswith("/.default") or " " in scope.strip():
        raise aadsts.bad_scope(scope)
    if scope not in _GRAPH_SCOPES:
        raise aadsts.unknown_resource(scope.removesuffix("/.default"), tenant.domain)
    app = find_app(conn, client_id)
    sp = find_sp(conn, tenant.id, client_id) if app else None
    if app is None or sp is None:
        raise aadsts.app_not_in_tenant(client_id, tenant.display_name)
    secret = form.get("client_secret")
    if not secret:
        raise aadsts.missing_secret()
    _check_secret(conn, client_id, secret)
    if app.disabled or not sp.account_enabled:
        raise aadsts.app_disabled(client_id, app.display_name)
    roles = sp_roles(conn, sp.id)
    if not roles:
        raise aadsts.no_consent(client_id, app.display_name)
    now = int(time.time())
    claims = {
        "aud": GRAPH_AUDIENCE,
        "iss": issuer(base_url, tenant.id),
        "iat": now,
        "nbf": now,
        "exp": now + TOKEN_LIFETIME_SECONDS,
        "app_displayname": app.display_name,
        "appid": client_id,
        "appidacr": "1",
        "idp": issuer(base_url, tenant.id),
        "idtyp": "app",
        "oid": sp.id,
        "sub": sp.id,
        "roles": roles,
        "tid": tenant.id,
        "uti": uuid.uuid4().hex[:22],
        "ver": "1.0",
    }
    token = jwt.encode(claims, key.private, algorithm="RS256", headers={"kid": key.kid})
    return {"token_type": "Bearer", "expires_in": TOKEN_LIFETIME_SECONDS,
            "ext_expires_in": TOKEN_LIFETIME_SECONDS, "access_token": token}


def verify(token: str, key: SigningKey, base_url: str) -> dict[str, Any]:
    """Decode a Graph access token; raises jwt.InvalidTokenError on any defect."""
    claims: dict[str, Any] = jwt.decode(
        token, key.public, algorithms=["RS256"], audience=[GRAPH_AUDIENCE, GRAPH_APP_ID],
        options={"require": ["exp", "iat", "nbf", "tid", "appid", "iss"]},
    )
    if claims["iss"] != issuer(base_url, claims["tid"]):
        raise jwt.InvalidIssuerError("Invalid issuer.")
    return claims


def openid_configuration(base_url: str, tenant_id: str) -> dict[str, Any]:
    root = f"{base_url}/{tenant_id}"
    return {
        "token_endpoint": f"{root}/oauth2/v2.0/token",
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt",
                                                  "client_secret_basic"],
        "jwks_uri": f"{root}/discovery/v2.0/keys",
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": issuer(base_url, tenant_id),
        "request_uri_parameter_supported": False,
        "authorization_endpoint": f"{root}/oauth2/v2.0/authorize",
        "device_authorization_endpoint": f"{root}/oauth2/v2.0/devicecode",
        "end_session_endpoint": f"{root}/oauth2/v2.0/logout",
        "tenant_region_scope": "EU",
        "cloud_instance_name": "emulator.local",
        "msgraph_host": "graph.microsoft.com",
    }
