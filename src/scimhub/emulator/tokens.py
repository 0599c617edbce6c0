"""The token endpoint's grants, with the checks Entra makes in Entra's order.

client_credentials: an RS256 JWT for Microsoft Graph carrying the app roles granted to
the service principal. authorization_code: a delegated Graph token for the admin or user
who signed in, an OpenID Connect ID token naming their tenant (with, for a user, the app
roles they are assigned and their groups when the app asks for them), and client_info."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote_plus

import jwt
from sqlalchemy import Connection, Row, select

from . import aadsts, codes
from .app_roles import entitlement, groups_claims
from .apps import find_app, find_sp, sp_roles
from .constants import (
    ADMIN_DISPLAY_NAME,
    GLOBAL_ADMINISTRATOR_ROLE,
    GRAPH_APP_ID,
    GRAPH_AUDIENCE,
    ID_TOKEN_LIFETIME_SECONDS,
    TOKEN_LIFETIME_SECONDS,
)
from .directory import find_tenant, is_multi_tenant
from .keys import SigningKey
from .passwords import hash_secret
from .schema import app_secrets, users
from .signing import b64url

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


def client_credentials(
    conn: Connection, key: SigningKey, base_url: str, tenant_ref: str, form: dict[str, str]
) -> dict[str, Any]:
    """Answer a token request or raise the AADSTS error Entra would send."""
    tenant = find_tenant(conn, tenant_ref)
    if tenant is None:
        raise aadsts.tenant_not_found(tenant_ref)
    grant_type = form.get("grant_type", "")
    if grant_type != "client_credentials":
        raise (
            aadsts.missing_parameter("grant_type")
            if not grant_type
            else aadsts.bad_grant_type(grant_type)
        )
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
    return {
        "token_type": "Bearer",
        "expires_in": TOKEN_LIFETIME_SECONDS,
        "ext_expires_in": TOKEN_LIFETIME_SECONDS,
        "access_token": _sign(key, claims),
    }


def verify(token: str, key: SigningKey, base_url: str) -> dict[str, Any]:
    """Decode a Graph access token; raises jwt.InvalidTokenError on any defect."""
    claims: dict[str, Any] = jwt.decode(
        token,
        key.public,
        algorithms=["RS256"],
        audience=[GRAPH_AUDIENCE, GRAPH_APP_ID],
        options={"require": ["exp", "iat", "nbf", "tid", "appid", "iss"]},
    )
    if claims["iss"] != issuer(base_url, claims["tid"]):
        raise jwt.InvalidIssuerError("Invalid issuer.")
    return claims


def openid_configuration(base_url: str, segment: str, issuer_tenant: str) -> dict[str, Any]:
    """Endpoints under the authority's own segment; for common/organizations the issuer is
    the literal `{tenantid}` template, as Entra publishes it."""
    root = f"{base_url}/{segment}"
    return {
        "token_endpoint": f"{root}/oauth2/v2.0/token",
        "token_endpoint_auth_methods_supported": [
            "client_secret_post",
            "private_key_jwt",
            "client_secret_basic",
        ],
        "jwks_uri": f"{root}/discovery/v2.0/keys",
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": issuer(base_url, issuer_tenant),
        "request_uri_parameter_supported": False,
        "authorization_endpoint": f"{root}/oauth2/v2.0/authorize",
        "device_authorization_endpoint": f"{root}/oauth2/v2.0/devicecode",
        "end_session_endpoint": f"{root}/oauth2/v2.0/logout",
        "tenant_region_scope": None if is_multi_tenant(segment) else "EU",
        "cloud_instance_name": "emulator.local",
        "msgraph_host": "graph.microsoft.com",
    }


# The authorization code grant.


def _basic_credentials(authorization: str) -> tuple[str, str] | None:
    """client_secret_basic: form-urlencoded id and secret, base64'd (RFC 6749 2.3.1)."""
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except ValueError:
        return None
    client_id, sep, secret = decoded.partition(":")
    return (unquote_plus(client_id), unquote_plus(secret)) if sep else None


def _client(form: dict[str, str], authorization: str) -> tuple[str, str]:
    """The client id and secret, from the body or else from HTTP Basic."""
    client_id = form.get("client_id", "").lower()
    secret = form.get("client_secret", "")
    basic = None if secret else _basic_credentials(authorization)
    if basic is not None:
        if client_id and client_id != basic[0].lower():
            raise aadsts.bad_secret(client_id)
        client_id, secret = basic[0].lower(), basic[1]
    return client_id, secret


def _pairwise(oid: str, audience: str) -> str:
    """`sub`: stable for one user and one audience, different for every other audience."""
    return b64url(hashlib.sha256(f"{oid}:{audience}".encode()).digest())


def _granted_scopes(requested: list[str]) -> tuple[str, list[str]]:
    """The response's `scope` and the access token's `scp`: Graph's User.Read (what
    `.default` means for an app with no other delegated permission) plus the OpenID
    Connect scopes asked for."""
    oidc = [s for s in requested if s in ("openid", "profile", "email", "offline_access")]
    return (
        " ".join([*oidc, f"{GRAPH_AUDIENCE}/User.Read"]),
        [s for s in oidc if s != "offline_access"] + ["User.Read"],
    )


def _identity(
    conn: Connection, app: Row[Any], sp: Row[Any], grant: Row[Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Claims of the one who signed in: for both tokens, and for the ID token only. The
    tenant admin (no user object) is a Global Administrator (`wids`); a user has no
    directory role, and carries the app roles assigned to them (directly or through a
    group) and, when the app's registration asks for them, their groups."""
    user = conn.execute(
        select(users).where(users.c.id == grant.admin_oid, users.c.tenant_id == grant.tenant_id)
    ).first()
    if user is None:
        return {"name": ADMIN_DISPLAY_NAME, "wids": [GLOBAL_ADMINISTRATOR_ROLE]}, {
            "email": grant.admin_login
        }
    id_only: dict[str, Any] = {"email": user.mail or user.user_principal_name}
    roles = entitlement(conn, app.app_id, sp.id, user.id).roles
    if roles:
        id_only["roles"] = list(roles)
    claims_url = f"https://graph.microsoft.com/v1.0/users/{user.id}/getMemberObjects"
    id_only.update(groups_claims(conn, app.app_id, user.id, claims_url))
    return {"name": user.display_name}, id_only


def _user_tokens(
    key: SigningKey,
    base_url: str,
    app: Row[Any],
    grant: Row[Any],
    with_client_info: bool,
    identity: tuple[dict[str, Any], dict[str, Any]],
) -> dict[str, Any]:
    now = int(time.time())
    requested = grant.scope.split()
    scope, scp = _granted_scopes(requested)
    shared, id_only = identity
    common = {
        "iss": issuer(base_url, grant.tenant_id),
        "iat": now,
        "nbf": now,
        "oid": grant.admin_oid,
        "tid": grant.tenant_id,
        **shared,
    }
    access = {
        **common,
        "aud": GRAPH_AUDIENCE,
        "exp": now + TOKEN_LIFETIME_SECONDS,
        "acr": "1",
        "amr": ["pwd"],
        "app_displayname": app.display_name,
        "appid": grant.client_id,
        "appidacr": "1",
        "idtyp": "user",
        "scp": " ".join(scp),
        "sub": _pairwise(grant.admin_oid, GRAPH_APP_ID),
        "unique_name": grant.admin_login,
        "upn": grant.admin_login,
        "uti": uuid.uuid4().hex[:22],
        "ver": "1.0",
    }
    body: dict[str, Any] = {
        "token_type": "Bearer",
        "scope": scope,
        "expires_in": TOKEN_LIFETIME_SECONDS,
        "ext_expires_in": TOKEN_LIFETIME_SECONDS,
        "access_token": _sign(key, access),
    }
    if "offline_access" in requested:  # opaque: the emulator has no refresh_token grant
        body["refresh_token"] = secrets.token_urlsafe(64)
    if "openid" in requested:
        id_claims = {
            **common,
            "aud": grant.client_id,
            "exp": now + ID_TOKEN_LIFETIME_SECONDS,
            "preferred_username": grant.admin_login,
            "sub": _pairwise(grant.admin_oid, grant.client_id),
            "ver": "2.0",
        }
        if grant.nonce:
            id_claims["nonce"] = grant.nonce
        id_claims.update((k, v) for k, v in id_only.items() if k != "email")
        if "email" in requested:
            id_claims["email"] = id_only["email"]
        body["id_token"] = _sign(key, id_claims)
    if with_client_info:
        body["client_info"] = codes.client_info(grant.admin_oid, grant.tenant_id)
    return body


def _sign(key: SigningKey, claims: dict[str, Any]) -> str:
    return jwt.encode(claims, key.private, algorithm="RS256", headers={"kid": key.kid})


def authorization_code(
    conn: Connection,
    key: SigningKey,
    base_url: str,
    segment: str,
    form: dict[str, str],
    authorization: str,
) -> dict[str, Any]:
    """Redeem a code (`authorization`: the request's Authorization header, for Basic)."""
    tenant = None
    if not is_multi_tenant(segment):
        tenant = find_tenant(conn, segment)
        if tenant is None:
            raise aadsts.tenant_not_found(segment)
    client_id, secret = _client(form, authorization)
    for name, value in (("client_id", client_id), ("code", form.get("code", ""))):
        if not value:
            raise aadsts.missing_parameter(name)
    app = find_app(conn, client_id)
    if app is None:
        raise aadsts.app_not_in_tenant(client_id, tenant.display_name if tenant else segment)
    if not secret:
        raise aadsts.missing_secret()
    _check_secret(conn, client_id, secret)
    grant = codes.redeem(
        conn,
        form["code"],
        client_id=client_id,
        tenant_id=tenant.id if tenant else None,
        redirect_uri=form.get("redirect_uri", ""),
        verifier=form.get("code_verifier", ""),
    )
    sp = find_sp(conn, grant.tenant_id, client_id)
    if sp is None:  # consent was revoked since the code was issued
        raise aadsts.no_consent(client_id, app.display_name)
    if app.disabled or not sp.account_enabled:
        raise aadsts.app_disabled(client_id, app.display_name)
    return _user_tokens(
        key,
        base_url,
        app,
        grant,
        form.get("client_info") == "1",
        _identity(conn, app, sp, grant),
    )
