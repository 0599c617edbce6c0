"""Fixed identifiers of the emulated world, so clients can hard-code them as they would
for the real vendor (the integration app's client id is printed in admin docs)."""

from __future__ import annotations

GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
GRAPH_AUDIENCE = "https://graph.microsoft.com"

PUBLISHER_TENANT_ID = "5c0a4b6e-7d1f-4c8e-9a2b-3e4f5a6b7c8d"
PUBLISHER_DOMAIN = "scimhubpublisher.onmicrosoft.com"

INTEGRATION_APP_ID = "90db942a-c1eb-4e8d-82e4-eebf64a7e2ae"
INTEGRATION_APP_NAME = "scimhub Identity Integration"

PROVISIONING_TEMPLATE_ID = "8adf8e6e-67b2-4cf2-a259-e3dc5476c621"
PROVISIONING_APP_NAME = "scimhub Identity"
SYNC_TEMPLATE_ID = "scimhubIdentity"

# Microsoft Graph application permission ids (the real ones, so tokens look familiar).
GRAPH_APP_ROLES: dict[str, str] = {
    "Application.ReadWrite.OwnedBy": "18a4783c-866b-4cc7-a460-3d5e5662c884",
    "Application.ReadWrite.All": "1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9",
    "Application.Read.All": "9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30",
    "AuditLog.Read.All": "b0afded3-3588-46d8-8b3d-9842eff778da",
    "Directory.Read.All": "7ab1d382-f21e-4acd-a863-ba3e13f7da61",
    "Group.Read.All": "5b567255-7703-4780-807c-7be8301ae99b",
    "GroupMember.Read.All": "98830695-27a2-44f7-8c18-0c3ebc9698f6",
    "User.Read.All": "df021288-bdef-4463-88db-98f22de89214",
    "Synchronization.ReadWrite.All": "9b50c33d-700f-43b1-b2eb-87e89b703581",
}

INTEGRATION_APP_ROLES = (
    "Application.ReadWrite.OwnedBy",
    "AuditLog.Read.All",
    "Group.Read.All",
    "GroupMember.Read.All",
    "User.Read.All",
)

DEFAULT_ADMIN_PASSWORD = "Emulator!1"
ADMIN_DISPLAY_NAME = "Tenant administrator"
# Role template ids in the `wids` claim: every tenant's admin is a Global Administrator.
GLOBAL_ADMINISTRATOR_ROLE = "62e90394-69f5-4237-9190-012177145e10"
# Authority path segments that name no tenant: the signed-in user's tenant is used.
MULTI_TENANT_SEGMENTS = frozenset({"common", "organizations"})
TOKEN_LIFETIME_SECONDS = 3599
ID_TOKEN_LIFETIME_SECONDS = 3600

# The console sign-in app: multi-tenant, no Graph application permissions, two app roles
# (value -> id) that the `roles` claim of a user's ID token carries when assigned.
CONSOLE_APP_ID = "cfb0dd38-84d7-444c-b711-a158feee3e3d"
CONSOLE_APP_NAME = "scimhub Console"
CONSOLE_APP_ROLES: dict[str, tuple[str, str]] = {
    "scimhub.Admin": ("bf073fa9-a5e4-4668-a532-68dc6ec7306e", "Console full administrator"),
    "scimhub.ReadOnly": ("b5afeeb5-f500-4722-90c4-e9f7d04f31bc", "Console read-only administrator"),
}
# appRoleId of an assignment that grants no app role ("Default Access").
DEFAULT_ACCESS_ROLE = "00000000-0000-0000-0000-000000000000"
# Users without a password of their own sign in with this one (as the tenant admin does).
DEFAULT_USER_PASSWORD = DEFAULT_ADMIN_PASSWORD
# Past this many groups, an ID token carries `_claim_names`/`_claim_sources` instead of
# `groups` (Entra's "group overage" for JWTs).
GROUPS_CLAIM_LIMIT = 200
