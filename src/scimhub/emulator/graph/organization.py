"""/v1.0/organization: the caller's tenant, with its verified domains (clients use the
default domain to name things after the tenant)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from starlette.requests import Request
from starlette.routing import Route

from ..context import Emulator
from ..schema import tenants
from .endpoint import Caller, graph_endpoint

# Any authenticated app may read its tenant's basic profile.
READ_ROLES: tuple[str, ...] = ()


def routes(emu: Emulator) -> list[Route]:
    base = emu.base_url

    async def organization(request: Request, caller: Caller) -> dict[str, Any]:
        with emu.engine.connect() as conn:
            row = conn.execute(select(tenants).where(tenants.c.id == caller.tenant_id)).one()
        return {
            "@odata.context": f"{base}/v1.0/$metadata#organization",
            "value": [
                {
                    "id": row.id,
                    "displayName": row.display_name,
                    "verifiedDomains": [
                        {
                            "name": row.domain,
                            "type": "Managed",
                            "isDefault": True,
                            "isInitial": True,
                            "capabilities": "Email",
                        }
                    ],
                }
            ],
        }

    return [Route("/v1.0/organization", graph_endpoint(emu, organization, *READ_ROLES))]
