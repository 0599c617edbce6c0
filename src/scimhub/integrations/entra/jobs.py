"""The provisioning app and its synchronization job, through Graph's synchronization API
(`/servicePrincipals/{id}/synchronization/...`) and application templates."""

from __future__ import annotations

from typing import Any

from .errors import IntegrationError, unexpected
from .graph import GraphClient

# What "Sync now" resets: like the portal's "Restart provisioning", a new initial cycle
# that keeps what is already in the target (no ForceDeletes).
RESTART_SCOPE = "Watermark, Escrows, QuarantineState"


def find_service_principal(graph: GraphClient, app_id: str) -> dict[str, Any] | None:
    found = graph.get("/servicePrincipals", **{"$filter": f"appId eq '{app_id}'"})
    values = found.get("value", []) if isinstance(found, dict) else []
    return values[0] if values else None


def instantiate(graph: GraphClient, template_id: str, name: str) -> tuple[str, str]:
    """Create the provisioning app from its gallery template; (appId, SP object id)."""
    made = graph.post(f"/applicationTemplates/{template_id}/instantiate", {"displayName": name})
    try:
        return str(made["application"]["appId"]), str(made["servicePrincipal"]["id"])
    except (KeyError, TypeError):
        raise unexpected(graph.client_request_id) from None


def sync_template_id(graph: GraphClient, sp_id: str) -> str:
    templates = graph.get(f"/servicePrincipals/{sp_id}/synchronization/templates")
    values = templates.get("value", []) if isinstance(templates, dict) else []
    if not values:
        raise unexpected(graph.client_request_id)
    return str(values[0]["id"])


def create_job(graph: GraphClient, sp_id: str, template_id: str) -> dict[str, Any]:
    job = graph.post(f"/servicePrincipals/{sp_id}/synchronization/jobs",
                     {"templateId": template_id})
    if not isinstance(job, dict) or "id" not in job:
        raise unexpected(graph.client_request_id)
    return job


def get_job(graph: GraphClient, sp_id: str, job_id: str) -> dict[str, Any]:
    job = graph.get(f"/servicePrincipals/{sp_id}/synchronization/jobs/{job_id}")
    if not isinstance(job, dict):
        raise unexpected(graph.client_request_id)
    return job


def delete_job(graph: GraphClient, sp_id: str, job_id: str) -> None:
    graph.delete(f"/servicePrincipals/{sp_id}/synchronization/jobs/{job_id}")


def put_secrets(graph: GraphClient, sp_id: str, *, base_address: str, secret_token: str,
                sync_all: bool) -> None:
    graph.put(f"/servicePrincipals/{sp_id}/synchronization/secrets", {"value": [
        {"key": "BaseAddress", "value": base_address},
        {"key": "SecretToken", "value": secret_token},
        {"key": "SyncAll", "value": "true" if sync_all else "false"},
    ]})


def get_schema(graph: GraphClient, sp_id: str, job_id: str) -> dict[str, Any]:
    schema = graph.get(f"/servicePrincipals/{sp_id}/synchronization/jobs/{job_id}/schema")
    if not isinstance(schema, dict):
        raise unexpected(graph.client_request_id)
    return schema


def put_schema(graph: GraphClient, sp_id: str, job_id: str, schema: dict[str, Any]) -> None:
    graph.put(f"/servicePrincipals/{sp_id}/synchronization/jobs/{job_id}/schema", schema)


def job_action(graph: GraphClient, sp_id: str, job_id: str, action: str,
               body: dict[str, Any] | None = None) -> Any:
    """start | pause | restart | validateCredentials | provisionOnDemand"""
    return graph.post(f"/servicePrincipals/{sp_id}/synchronization/jobs/{job_id}/{action}", body)


def restart(graph: GraphClient, sp_id: str, job_id: str) -> None:
    job_action(graph, sp_id, job_id, "restart", {"criteria": {"resetScope": RESTART_SCOPE}})


def is_not_found(error: IntegrationError) -> bool:
    return error.code == "701040"
