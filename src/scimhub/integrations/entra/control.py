"""What an admin does with a connected instance: steer its provisioning job (auto sync,
sync now, provision on demand), change its scope and mappings, allow or stop the whole
integration, disconnect. Each change is audited and answers the instance's new status."""

from __future__ import annotations

import contextlib
from typing import Any

from ...directory.actor import Actor
from ...directory.audit import Audit
from ...directory.instances import SCOPES, Instance, Instances, Mode
from ...directory.orgs import Orgs
from . import jobs, mappings
from .audit_actions import AuditAction, record
from .connection import EntraConnection
from .errors import BadRequest, IntegrationError, NotFound
from .failures import recording_failures
from .lookup import push_instance, saved_instance
from .provisioning import Provisioning
from .status_view import StatusView, instance_doc


class Control:
    def __init__(
        self,
        connection: EntraConnection,
        *,
        orgs: Orgs,
        instances: Instances,
        audit: Audit,
        provisioning: Provisioning,
        status: StatusView,
    ) -> None:
        self.connection = connection
        self.orgs = orgs
        self.instances = instances
        self.audit = audit
        self.provisioning = provisioning
        self.status = status

    # -- the provisioning job -----------------------------------------------------------

    def set_auto_sync(
        self, org_id: str, instance_id: str, enabled: bool, actor: Actor
    ) -> dict[str, Any]:
        instance, job = push_instance(self.instances, org_id, instance_id)
        graph = self.connection.graph(instance.tenant_id)
        jobs.job_action(graph, job, "start" if enabled else "pause")
        instance = self.instances.update(instance, auto_sync=enabled)
        record(self.audit, org_id, actor, AuditAction.auto_sync(enabled), target=instance.name)
        return self.status.instance(instance, graph.client_request_id)

    def sync_now(self, org_id: str, instance_id: str, actor: Actor) -> dict[str, Any]:
        instance, job = push_instance(self.instances, org_id, instance_id)
        graph = self.connection.graph(instance.tenant_id)
        jobs.restart(graph, job, start=instance.auto_sync)
        record(self.audit, org_id, actor, AuditAction.SYNC_NOW, target=instance.name)
        return self.status.instance(instance, graph.client_request_id)

    def provision_on_demand(
        self, org_id: str, instance_id: str, user_id: Any, actor: Actor
    ) -> dict[str, Any]:
        if not isinstance(user_id, str) or not user_id:
            raise BadRequest("userId (the Entra object id of the user) is required")
        instance, job = push_instance(self.instances, org_id, instance_id)
        graph = self.connection.graph(instance.tenant_id)
        rule_id = _rule_id(jobs.get_schema(graph, job))
        result = jobs.job_action(
            graph,
            job,
            "provisionOnDemand",
            {
                "parameters": [
                    {
                        "ruleId": rule_id,
                        "subjects": [{"objectId": user_id, "objectTypeName": "User"}],
                    }
                ]
            },
        )
        record(self.audit, org_id, actor, AuditAction.PROVISION_ON_DEMAND, target=user_id)
        return result if isinstance(result, dict) else {}

    # -- the saved configuration --------------------------------------------------------

    def set_scope(
        self, org_id: str, instance_id: str, scope: Any, actor: Actor, *, hub_url: str
    ) -> dict[str, Any]:
        if scope not in SCOPES:
            raise BadRequest(f"scope must be one of {', '.join(SCOPES)}")
        instance = saved_instance(self.instances, org_id, instance_id)
        instance = self.instances.update(instance, scope=scope)
        job = jobs.job_of(instance)
        if job is not None:
            graph = self.connection.graph(instance.tenant_id)
            instance = self.provisioning.put_secrets(graph, instance, job.sp_id, hub_url)
            # As in Entra, a new scope means a new initial cycle.
            jobs.restart(graph, job, start=False)
        record(
            self.audit,
            org_id,
            actor,
            AuditAction.SCOPE_CHANGED,
            target=instance.name,
            detail={"scope": scope},
        )
        return instance_doc(instance)

    def set_mappings(self, org_id: str, instance_id: str, raw: Any, actor: Actor) -> dict[str, Any]:
        chosen = mappings.validate(raw)
        instance = saved_instance(self.instances, org_id, instance_id)
        job = jobs.job_of(instance)
        if job is not None:
            graph = self.connection.graph(instance.tenant_id)
            schema = jobs.get_schema(graph, job)
            jobs.put_schema(graph, job, mappings.into_schema(schema, chosen))
        changes: dict[str, Any] = {"mappings": chosen}
        if instance.mode == Mode.PULL and chosen != instance.mappings:
            # As a mapping change restarts Entra's cycle, the next round reads every user
            # from scratch: users Entra did not change get the new mappings too, and a
            # deltaLink keeps the $select it began with (a newly mapped extension).
            changes["users_delta_link"] = None
        instance = self.instances.update(instance, **changes)
        record(self.audit, org_id, actor, AuditAction.MAPPINGS_CHANGED, target=instance.name)
        return instance_doc(instance)

    # -- the whole integration ----------------------------------------------------------

    def allow_sync(
        self, org_id: str, enabled: bool, actor: Actor, *, hub_url: str
    ) -> dict[str, Any]:
        """ "Allow Azure AD sync": on restores every saved instance, off pauses their jobs.
        Off is the hub's own decision: it is saved first, whatever Entra answers, and a job
        Entra would not pause is reported (and kept for the troubleshooter)."""
        if not enabled:
            self.orgs.update_setting(org_id, "allow_azure_sync", False)
        warnings = []
        for instance in self.instances.list(org_id):
            if instance.mode != Mode.PUSH:
                continue
            if enabled:
                self.provisioning.restore(instance, actor, hub_url=hub_url)
                continue
            try:
                with recording_failures(
                    self.instances,
                    org_id,
                    instance.id,
                    tracking_id=actor.tracking_id or "",
                    operation="allowSync",
                    every_failure=True,
                ):
                    self._pause(instance)
            except IntegrationError as exc:
                warnings.append(
                    {
                        "instanceId": instance.id,
                        "code": exc.code,
                        "description": f"{instance.name}: the job could not be "
                        f"paused in Entra ({exc.description})",
                    }
                )
        if enabled:
            self.orgs.update_setting(org_id, "allow_azure_sync", True)
        record(self.audit, org_id, actor, AuditAction.allow_sync(enabled))
        # On, the admin wants to see the jobs running again; off, Entra may be refusing us.
        status = self.status.org(org_id) if enabled else self.status.org_offline(org_id)
        return {**status, "warnings": warnings} if warnings else status

    def disconnect(self, org_id: str, instance_id: str, actor: Actor) -> None:
        """Delete the job in Entra (if it is still reachable) and forget the instance."""
        instance = saved_instance(self.instances, org_id, instance_id)
        job = jobs.job_of(instance)
        if job is not None:
            with contextlib.suppress(NotFound):  # deleted in Entra already
                jobs.delete_job(self.connection.graph(instance.tenant_id), job)
        self.provisioning.revoke_job_token(instance)
        self.instances.delete(instance)
        record(self.audit, org_id, actor, AuditAction.INSTANCE_DISCONNECTED, target=instance.name)

    def _pause(self, instance: Instance) -> None:
        job = jobs.job_of(instance)
        if job is None:
            return
        with contextlib.suppress(NotFound):  # a job that is gone is paused enough
            jobs.job_action(self.connection.graph(instance.tenant_id), job, "pause")


def _rule_id(schema: dict[str, Any]) -> str:
    rules = schema.get("synchronizationRules") or [{}]
    return str(rules[0].get("id", ""))
