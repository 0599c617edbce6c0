"""Applications, their client secrets, service principals (enterprise apps), permission
grants, admin consent and gallery-template instantiation."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Row, select

from . import audit
from .app_roles import define_roles, set_group_claims
from .constants import (
    CONSOLE_APP_ID,
    CONSOLE_APP_NAME,
    CONSOLE_APP_ROLES,
    GRAPH_APP_ID,
    GRAPH_APP_ROLES,
    INTEGRATION_APP_ID,
    INTEGRATION_APP_NAME,
    INTEGRATION_APP_ROLES,
    PROVISIONING_APP_NAME,
    PROVISIONING_TEMPLATE_ID,
    PUBLISHER_DOMAIN,
    PUBLISHER_TENANT_ID,
)
from .db import new_id, now_iso
from .directory import DirectoryError, create_tenant, find_tenant
from .passwords import hash_secret
from .schema import app_secrets, applications, grants, service_principals

SECRET_FILE = "integration-app-secret.txt"
CONSOLE_SECRET_FILE = "console-app-secret.txt"

# The gallery: application templates anyone can instantiate into their tenant.
APPLICATION_TEMPLATES: dict[str, dict[str, Any]] = {
    PROVISIONING_TEMPLATE_ID: {
        "id": PROVISIONING_TEMPLATE_ID,
        "displayName": PROVISIONING_APP_NAME,
        "homePageUrl": "https://scimhub.example/",
        "supportedSingleSignOnModes": ["saml", "notSupported"],
        "supportedProvisioningTypes": ["sync"],
        "logoUrl": None,
        "categories": ["collaboration"],
        "publisher": "scimhub",
        "description": "Provision users and groups from Entra ID into scimhub over SCIM 2.0.",
    }
}


def ensure_publisher(conn: Connection, data_dir: Path) -> None:
    """Create the publisher tenant and its multi-tenant integration app on first start.
    The secret is shown once, like the portal does: its plaintext goes to a 0600 file
    in the data directory (for --info-json), the database keeps only a hash."""
    if find_tenant(conn, PUBLISHER_TENANT_ID) is not None:
        return
    create_tenant(
        conn,
        "scimhub Publisher",
        PUBLISHER_DOMAIN,
        tenant_id=PUBLISHER_TENANT_ID,
        is_publisher=True,
    )
    conn.execute(
        applications.insert().values(
            id=new_id(),
            app_id=INTEGRATION_APP_ID,
            tenant_id=PUBLISHER_TENANT_ID,
            display_name=INTEGRATION_APP_NAME,
            sign_in_audience="AzureADMultipleOrgs",
            required_roles=list(INTEGRATION_APP_ROLES),
            disabled=False,
            created_at=now_iso(),
        )
    )
    _, secret = add_client_secret(conn, INTEGRATION_APP_ID, days_valid=730)
    path = data_dir / SECRET_FILE
    path.write_text(secret)
    path.chmod(0o600)


def integration_secret(data_dir: Path) -> str | None:
    path = data_dir / SECRET_FILE
    return path.read_text().strip() if path.exists() else None


def ensure_console_app(conn: Connection, data_dir: Path) -> None:
    """The publisher's second multi-tenant app, the one console administrators sign in
    with: no Graph application permissions, the console's two app roles, and group ids in
    its ID tokens (groupMembershipClaims SecurityGroup). Created on first start, and in a
    data directory made before it existed."""
    if find_app(conn, CONSOLE_APP_ID) is not None:
        return
    conn.execute(
        applications.insert().values(
            id=new_id(),
            app_id=CONSOLE_APP_ID,
            tenant_id=PUBLISHER_TENANT_ID,
            display_name=CONSOLE_APP_NAME,
            sign_in_audience="AzureADMultipleOrgs",
            required_roles=[],
            disabled=False,
            created_at=now_iso(),
        )
    )
    define_roles(conn, CONSOLE_APP_ID, CONSOLE_APP_ROLES)
    set_group_claims(conn, CONSOLE_APP_ID, "SecurityGroup")
    _, secret = add_client_secret(conn, CONSOLE_APP_ID, days_valid=730)
    path = data_dir / CONSOLE_SECRET_FILE
    path.write_text(secret)
    path.chmod(0o600)


def console_secret(data_dir: Path) -> str | None:
    path = data_dir / CONSOLE_SECRET_FILE
    return path.read_text().strip() if path.exists() else None


def add_client_secret(
    conn: Connection, app_id: str, *, days_valid: float, display_name: str = "emulator"
) -> tuple[str, str]:
    """Add a password credential; a negative `days_valid` makes an already expired one."""
    secret = secrets.token_urlsafe(30)
    key_id = new_id()
    start = datetime.now(UTC)
    conn.execute(
        app_secrets.insert().values(
            key_id=key_id,
            app_id=app_id,
            secret_hash=hash_secret(secret),
            hint=secret[:3],
            display_name=display_name,
            start_date_time=min(start, start + timedelta(days=days_valid)).isoformat(),
            end_date_time=(start + timedelta(days=days_valid)).isoformat(),
        )
    )
    return key_id, secret


def find_app(conn: Connection, app_id: str) -> Row[Any] | None:
    return conn.execute(select(applications).where(applications.c.app_id == app_id)).first()


def find_sp(conn: Connection, tenant_id: str, app_id: str) -> Row[Any] | None:
    """The live (not recycled) service principal of an app in a tenant."""
    return conn.execute(
        select(service_principals).where(
            service_principals.c.tenant_id == tenant_id,
            service_principals.c.app_id == app_id,
            service_principals.c.deleted_at.is_(None),
        )
    ).first()


def get_sp(
    conn: Connection, tenant_id: str, sp_id: str, *, deleted: bool = False
) -> Row[Any] | None:
    row = conn.execute(
        select(service_principals).where(
            service_principals.c.tenant_id == tenant_id, service_principals.c.id == sp_id
        )
    ).first()
    if row is None or (row.deleted_at is not None) != deleted:
        return None
    return row


def sp_roles(conn: Connection, sp_id: str) -> list[str]:
    return sorted(
        conn.execute(select(grants.c.role_value).where(grants.c.sp_id == sp_id)).scalars()
    )


def _create_sp(conn: Connection, tenant_id: str, app: Row[Any]) -> str:
    sp_id = new_id()
    tags = ["WindowsAzureActiveDirectoryIntegratedApp"]
    if app.application_template_id:
        tags.append("WindowsAzureActiveDirectoryCustomSingleSignOnApplication")
    conn.execute(
        service_principals.insert().values(
            id=sp_id,
            tenant_id=tenant_id,
            app_id=app.app_id,
            display_name=app.display_name,
            app_owner_tenant_id=app.tenant_id,
            account_enabled=True,
            application_template_id=app.application_template_id,
            owner_app_id=app.owner_app_id,
            tags=tags,
            created_at=now_iso(),
        )
    )
    return sp_id


def grant_consent(conn: Connection, tenant: Row[Any], app_id: str) -> str:
    """Admin consent: create the service principal if it is missing and grant every app
    role the application requires. Writes the audit records Entra writes."""
    app = find_app(conn, app_id)
    single_tenant = app is not None and app.sign_in_audience != "AzureADMultipleOrgs"
    if app is None or (single_tenant and app.tenant_id != tenant.id):
        raise DirectoryError(
            f"Application with identifier '{app_id}' was not found in the directory.",
            "Request_ResourceNotFound",
            404,
        )
    initiator = audit.admin_initiator(tenant)
    correlation = new_id()
    sp = find_sp(conn, tenant.id, app_id)
    sp_id = sp.id if sp else _create_sp(conn, tenant.id, app)
    if sp is None:
        audit.record(
            conn,
            tenant.id,
            "Add service principal",
            "ApplicationManagement",
            initiated_by=initiator,
            correlation_id=correlation,
            targets=[audit.target(sp_id, app.display_name, "ServicePrincipal")],
        )
    held = set(sp_roles(conn, sp_id))
    for role in app.required_roles:
        if role in held:
            continue
        conn.execute(
            grants.insert().values(
                id=new_id(),
                tenant_id=tenant.id,
                sp_id=sp_id,
                resource_app_id=GRAPH_APP_ID,
                app_role_id=GRAPH_APP_ROLES[role],
                role_value=role,
                created_at=now_iso(),
            )
        )
        audit.record(
            conn,
            tenant.id,
            "Add app role assignment to service principal",
            "ApplicationManagement",
            initiated_by=initiator,
            correlation_id=correlation,
            targets=[
                audit.target(
                    sp_id,
                    app.display_name,
                    "ServicePrincipal",
                    [
                        {"displayName": "AppRole.Value", "oldValue": None, "newValue": f'"{role}"'},
                    ],
                ),
                audit.target(GRAPH_APP_ID, "Microsoft Graph", "ServicePrincipal"),
            ],
        )
    audit.record(
        conn,
        tenant.id,
        "Consent to application",
        "ApplicationManagement",
        initiated_by=initiator,
        correlation_id=correlation,
        targets=[audit.target(sp_id, app.display_name, "ServicePrincipal")],
        additional={"ConsentType": "AllPrincipals", "IsAdminConsent": "True"},
    )
    return sp_id


def delete_sp(conn: Connection, tenant_id: str, sp_id: str, initiator: dict[str, Any]) -> None:
    """Soft delete: the enterprise app goes to the recycle bin for 30 days. Its grants
    stay attached to the recycled object, so a restore brings them back."""
    sp = get_sp(conn, tenant_id, sp_id)
    if sp is None:
        raise DirectoryError(f"Resource '{sp_id}' does not exist.", "Request_ResourceNotFound", 404)
    conn.execute(
        service_principals.update()
        .where(service_principals.c.id == sp_id)
        .values(deleted_at=now_iso())
    )
    audit.record(
        conn,
        tenant_id,
        "Remove service principal",
        "ApplicationManagement",
        initiated_by=initiator,
        targets=[audit.target(sp_id, sp.display_name, "ServicePrincipal")],
    )


def restore_sp(conn: Connection, tenant_id: str, sp_id: str, initiator: dict[str, Any]) -> None:
    sp = get_sp(conn, tenant_id, sp_id, deleted=True)
    if sp is None:
        raise DirectoryError(
            f"Deleted service principal '{sp_id}' not found.", "Request_ResourceNotFound", 404
        )
    if find_sp(conn, tenant_id, sp.app_id) is not None:
        raise DirectoryError("A live service principal for this application already exists.")
    conn.execute(
        service_principals.update().where(service_principals.c.id == sp_id).values(deleted_at=None)
    )
    audit.record(
        conn,
        tenant_id,
        "Restore service principal",
        "ApplicationManagement",
        initiated_by=initiator,
        targets=[audit.target(sp_id, sp.display_name, "ServicePrincipal")],
    )


def set_sp_enabled(conn: Connection, tenant_id: str, sp_id: str, enabled: bool) -> None:
    conn.execute(
        service_principals.update()
        .where(service_principals.c.id == sp_id, service_principals.c.tenant_id == tenant_id)
        .values(account_enabled=enabled)
    )


def instantiate_template(
    conn: Connection, tenant_id: str, template_id: str, display_name: str, owner_app_id: str | None
) -> tuple[Row[Any], Row[Any]]:
    """Add a gallery app to the tenant: a single-tenant application and its service
    principal, both owned by the caller (what Application.ReadWrite.OwnedBy allows)."""
    if template_id not in APPLICATION_TEMPLATES:
        raise DirectoryError(
            f"Resource '{template_id}' does not exist.", "Request_ResourceNotFound", 404
        )
    app_id = new_id()
    conn.execute(
        applications.insert().values(
            id=new_id(),
            app_id=app_id,
            tenant_id=tenant_id,
            display_name=display_name,
            sign_in_audience="AzureADMyOrg",
            required_roles=[],
            application_template_id=template_id,
            owner_app_id=owner_app_id,
            disabled=False,
            created_at=now_iso(),
        )
    )
    app = find_app(conn, app_id)
    assert app is not None
    sp_id = _create_sp(conn, tenant_id, app)
    initiator = (
        audit.app_initiator(owner_app_id, INTEGRATION_APP_NAME, None)
        if owner_app_id
        else audit.system_initiator()
    )
    audit.record(
        conn,
        tenant_id,
        "Add application",
        "ApplicationManagement",
        initiated_by=initiator,
        targets=[audit.target(app.id, display_name, "Application")],
    )
    audit.record(
        conn,
        tenant_id,
        "Add service principal",
        "ApplicationManagement",
        initiated_by=initiator,
        targets=[audit.target(sp_id, display_name, "ServicePrincipal")],
    )
    sp = get_sp(conn, tenant_id, sp_id)
    assert sp is not None
    return app, sp


def app_to_graph(row: Row[Any]) -> dict[str, Any]:
    return {
        "id": row.id,
        "appId": row.app_id,
        "displayName": row.display_name,
        "signInAudience": row.sign_in_audience,
        "applicationTemplateId": row.application_template_id,
        "createdDateTime": row.created_at,
        "publisherDomain": PUBLISHER_DOMAIN if row.tenant_id == PUBLISHER_TENANT_ID else None,
    }


def sp_to_graph(row: Row[Any]) -> dict[str, Any]:
    return {
        "id": row.id,
        "appId": row.app_id,
        "displayName": row.display_name,
        "appDisplayName": row.display_name,
        "appOwnerOrganizationId": row.app_owner_tenant_id,
        "accountEnabled": row.account_enabled,
        "applicationTemplateId": row.application_template_id,
        "servicePrincipalType": "Application",
        "tags": row.tags,
        "createdDateTime": row.created_at,
        "deletedDateTime": row.deleted_at,
    }
