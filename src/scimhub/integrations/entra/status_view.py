"""The integration's status as the API answers it: each instance's saved configuration,
and for push instances the provisioning job's live status from Graph (kept as the
instance's last status, for when Entra cannot be asked)."""

from __future__ import annotations

from typing import Any

from ...directory.instances import Instance, Instances, Mode
from ...directory.orgs import Org, Orgs
from . import jobs
from .connection import EntraConnection

# What of a job's status is kept between reads.
_KEPT = ("jobStatus", "lastExecution", "quarantine", "counts")
_EXECUTION = (
    "state",
    "timeBegan",
    "timeEnded",
    "countExported",
    "countImported",
    "countEscrowed",
    "error",
)
_QUARANTINE = ("reason", "currentBegan", "nextAttempt", "seriesBegan", "seriesCount")


class StatusView:
    def __init__(self, connection: EntraConnection, *, orgs: Orgs, instances: Instances) -> None:
        self.connection = connection
        self.orgs = orgs
        self.instances = instances

    def org(self, org_id: str, client_request_id: str | None = None) -> dict[str, Any]:
        """The instances with their jobs' live status from Graph."""
        org = self.orgs.get(org_id)
        return self._doc(
            org, [self.instance(i, client_request_id) for i in self.instances.list(org_id)]
        )

    def org_offline(self, org_id: str) -> dict[str, Any]:
        """The instances as last seen, without asking Entra (which may be refusing us)."""
        org = self.orgs.get(org_id)
        return self._doc(org, [instance_doc(i) for i in self.instances.list(org_id)])

    def instance(self, instance: Instance, client_request_id: str | None = None) -> dict[str, Any]:
        doc = instance_doc(instance)
        job = jobs.job_of(instance)
        if job is None:
            doc["jobStatus"] = "NotConfigured" if instance.mode == Mode.PUSH else "PullSync"
            return doc
        graph = self.connection.graph(instance.tenant_id, client_request_id)
        found = jobs.get_job(graph, job)
        doc.update(job_doc(found.get("status") or {}, (found.get("schedule") or {}).get("state")))
        keep = {k: doc[k] for k in _KEPT}
        self.instances.update(instance, last_status={**(instance.last_status or {}), **keep})
        return doc

    def _doc(self, org: Org, instances: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "allowSync": bool(org.setting("allow_azure_sync")),
            "configured": self.connection.settings.configured,
            "instances": instances,
        }


def instance_doc(instance: Instance) -> dict[str, Any]:
    """An instance's saved configuration and last known status."""
    last = instance.last_status or {}
    return {
        "id": instance.id,
        "name": instance.name,
        "tenantId": instance.tenant_id,
        "tenantDomain": instance.tenant_domain,
        "mode": instance.mode,
        "jobStatus": last.get("jobStatus", "Unknown"),
        "autoSync": instance.auto_sync,
        "scope": instance.scope,
        "mappings": instance.mappings,
        "lastExecution": last.get("lastExecution"),
        "lastSuccessfulExecution": None,
        "quarantine": last.get("quarantine"),
        "counts": last.get("counts", {}),
        "lastPull": instance.last_pull,
    }


def job_doc(status: dict[str, Any], schedule_state: str | None) -> dict[str, Any]:
    """A job's status as Graph reports it, in the API's terms."""
    counts: dict[str, int] = {}
    for entry in status.get("synchronizedEntryCountByType") or []:
        key = str(entry.get("key", "")).lower()
        kind = "groups" if "group" in key else "users"
        counts[kind] = counts.get(kind, 0) + int(entry.get("value") or 0)
    quarantine = status.get("quarantine")
    code = status.get("code") or "Unknown"
    if schedule_state == "Paused" and code != "Quarantine":
        code = "Paused"
    return {
        "jobStatus": code,
        "autoSync": schedule_state == "Active",
        "lastExecution": _execution(status.get("lastExecution")),
        "lastSuccessfulExecution": _execution(status.get("lastSuccessfulExecution")),
        "quarantine": {k: quarantine.get(k) for k in _QUARANTINE}
        if isinstance(quarantine, dict)
        else None,
        "counts": counts,
    }


def _execution(raw: Any) -> dict[str, Any] | None:
    if not isinstance(raw, dict):
        return None
    return {k: raw.get(k) for k in _EXECUTION}
