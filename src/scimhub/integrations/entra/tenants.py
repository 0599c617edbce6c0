"""What may stand for an Entra tenant in a URL the hub builds: a tenant id (a GUID) or a
verified domain name, never an arbitrary string (`../../v1.0/users`, `common`)."""

from __future__ import annotations

import re
import uuid

from .errors import BadRequest

# The authority for a sign-in whose tenant is not known yet: work or school accounts of
# any tenant, never personal Microsoft accounts (which `common` would also admit).
ANY_ORGANIZATION = "organizations"
_ANY = {"", "common", "organizations"}
# Personal Microsoft accounts sign in through this tenant; it holds no organisation.
CONSUMER_TENANT = "9188040d-6c67-4c5b-b112-36a304b66dad"

_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
_DOMAIN = re.compile(rf"^{_LABEL}(\.{_LABEL})+$")


def is_tenant_id(value: str) -> bool:
    """A GUID in its canonical form (how Entra writes tenant ids)."""
    try:
        return str(uuid.UUID(value)) == value.lower() and len(value) == 36
    except ValueError:
        return False


def is_domain(value: str) -> bool:
    return len(value) <= 253 and bool(_DOMAIN.match(value.lower()))


def require_tenant_id(value: str) -> str:
    """A tenant id about to go into a Graph or login URL."""
    if not is_tenant_id(value):
        raise BadRequest("A tenant id must be a GUID.")
    return value.lower()


def sign_in_authority(hint: str) -> str:
    """The authority path segment for the setup sign-in: the tenant the admin named (a
    GUID or a domain), or any organisation. Only a routing hint: the tenant connected is
    the one the signed ID token names."""
    value = hint.strip()
    if value.lower() in _ANY:
        return ANY_ORGANIZATION
    if is_tenant_id(value) or is_domain(value):
        return value.lower()
    raise BadRequest(
        "tenant must be a tenant id (GUID), a verified domain such as "
        "contoso.onmicrosoft.com, or empty for any organization"
    )
