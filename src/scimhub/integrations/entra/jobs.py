"""The provisioning app and its synchronization job, through Graph's synchronization API
(`/servicePrincipals/{id}/synchronization/...`) and application templates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...directory.instances import Instance, Mode
from .errors import UnexpectedAnswer
from .graph import GraphClient

# What "Sync now" resets: like the portal's "Restart provisioning", a new initial cycle
# that keeps what is already in the target (no ForceDeletes).
RESTART_SCOPE = "Watermark, Escrows, QuarantineState"


@dataclass(frozen=True, slots=True)
class JobRef:
    """A synchronization job: the provisioning app's service principal and the job's id."""

    sp_id: str
    job_id: str

    @property
    def path(self) -> str:
        return f"/servicePrincipals/{self.sp_id}/synchronization/jobs/{self.job_id}"


def job_of(instance: Instance) -> JobRef | None:
    """The job a push instance steers; None for pull instances and unfinished setups."""
    if instance.mode == Mode.PUSH and instance.provisioning_sp_id and instance.job_id:
        return JobRef(instance.provisioning_sp_id, instance.job_id)
    return None


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
        raise UnexpectedAnswer(graph.client_request_id) from None


def sync_template_id(graph: GraphClient, sp_id: str) -> str:
    templates = graph.get(f"/servicePrincipals/{sp_id}/synchronization/templates")
    values = templates.get("value", []) if isinstance(templates, dict) else []
    if not values:
        raise UnexpectedAnswer(graph.client_request_id)
    return str(values[0]["id"])


def create_job(graph: GraphClient, sp_id: str, template_id: str) -> JobRef:
    job = graph.post(
        f"/servicePrincipals/{sp_id}/synchronization/jobs", {"templateId": template_id}
    )
    if not isinstance(job, dict) or "id" not in job:
        raise UnexpectedAnswer(graph.client_request_id)
    return JobRef(sp_id, str(job["id"]))


def get_job(graph: GraphClient, job: JobRef) -> dict[str, Any]:
    found = graph.get(job.path)
    if not isinstance(found, dict):
        raise UnexpectedAnswer(graph.client_request_id)
    return found


def delete_job(graph: GraphClient, job: JobRef) -> None:
    graph.delete(job.path)


def put_secrets(
    graph: GraphClient, sp_id: str, *, base_address: str, secret_token: str, sync_all: bool
) -> None:
    graph.put(
        f"/servicePrincipals/{sp_id}/synchronization/secrets",
        {
            "value": [
                {"key": "BaseAddress", "value": base_address},
                {"key": "SecretToken", "value": secret_token},
                {"key": "SyncAll", "value": "true" if sync_all else "false"},
            ]
        },
    )


def get_schema(graph: GraphClient, job: JobRef) -> dict[str, Any]:
    schema = graph.get(f"{job.path}/schema")
    if not isinstance(schema, dict):
        raise UnexpectedAnswer(graph.client_request_id)
    return schema


def put_schema(graph: GraphClient, job: JobRef, schema: dict[str, Any]) -> None:
    graph.put(f"{job.path}/schema", schema)


def job_action(
    graph: GraphClient, job: JobRef, action: str, body: dict[str, Any] | None = None
) -> Any:
    """start | pause | restart | validateCredentials | provisionOnDemand"""
    return graph.post(f"{job.path}/{action}", body)


def restart(graph: GraphClient, job: JobRef, *, start: bool) -> None:
    """A new initial cycle (it also lifts a quarantine); `start` resumes the schedule too,
    for a job whose auto sync is on."""
    job_action(graph, job, "restart", {"criteria": {"resetScope": RESTART_SCOPE}})
    if start:
        job_action(graph, job, "start")
