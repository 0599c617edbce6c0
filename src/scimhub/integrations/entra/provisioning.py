"""What Entra needs to push into the hub, created and repaired with the integration app's
own credentials: the provisioning app (instantiated from its gallery template), its
synchronization job, and the job's secrets (the org's SCIM URL and a hub token). `restore`
brings a tenant back to the saved copy, reusing what still exists."""

from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import Any

from ...directory.actor import Actor
from ...directory.audit import Audit
from ...directory.errors import OrgNotFound
from ...directory.events import Source, SourceKind, caused_by
from ...directory.instances import Dialect, Instance, Instances, Mode
from ...directory.tokens import Tokens
from . import jobs, mappings
from .audit_actions import AuditAction, record
from .connection import EntraConnection
from .errors import NotFound
from .graph import GraphClient
from .lookup import push_instance
from .status_view import StatusView


class Provisioning:
    def __init__(
        self,
        connection: EntraConnection,
        *,
        tokens: Tokens,
        instances: Instances,
        audit: Audit,
        status: StatusView,
        job_token_lifetime: timedelta,
    ) -> None:
        self.connection = connection
        self.tokens = tokens
        self.instances = instances
        self.audit = audit
        self.status = status
        self.job_token_lifetime = job_token_lifetime

    def provision_app(self, graph: GraphClient, instance: Instance, hub_url: str) -> Instance:
        """Instantiate the provisioning app, create and configure its job, start it."""
        app_id, sp_id = jobs.instantiate(
            graph, self.connection.settings.app_template_id, instance.name
        )
        instance = self.instances.update(
            instance, provisioning_app_id=app_id, provisioning_sp_id=sp_id
        )
        return self._create_job(graph, instance, sp_id, hub_url)

    def put_secrets(
        self, graph: GraphClient, instance: Instance, sp_id: str, hub_url: str
    ) -> Instance:
        """Give the job a fresh hub token (revoking the one it had) and the SCIM URL."""
        scim_base = f"{hub_url}/identity/scim/{instance.org_id}/v2"
        secret, token = self.tokens.create(
            instance.org_id,
            name=f"Entra provisioning ({instance.tenant_domain or instance.tenant_id})",
            expires_in=self.job_token_lifetime,
        )
        # Entra's provisioning service reads the dialect's flag from the tenant URL.
        base = (
            scim_base if instance.dialect == Dialect.DEFAULT else f"{scim_base}?{instance.dialect}"
        )
        jobs.put_secrets(
            graph, sp_id, base_address=base, secret_token=secret, sync_all=instance.scope == "all"
        )
        self.revoke_job_token(instance)
        return self.instances.update(instance, scim_token_id=token.id, hub_url=hub_url)

    def revoke_job_token(self, instance: Instance) -> None:
        if instance.scim_token_id:
            with contextlib.suppress(OrgNotFound):  # already gone
                self.tokens.revoke(instance.org_id, instance.scim_token_id)

    def renew_scim_token(
        self, org_id: str, instance_id: str, actor: Actor, *, hub_url: str
    ) -> dict[str, Any]:
        """Give the job a new hub token (revoking the old one) and restart it: the repair
        for a quarantine caused by the hub answering Entra with 401."""
        instance, job = push_instance(self.instances, org_id, instance_id)
        graph = self.connection.graph(instance.tenant_id)
        instance = self.put_secrets(graph, instance, job.sp_id, hub_url)
        jobs.restart(graph, job, start=instance.auto_sync)  # lifts the quarantine
        record(self.audit, org_id, actor, AuditAction.SCIM_TOKEN_RENEWED, target=instance.name)
        return self.status.instance(instance, graph.client_request_id)

    def restore(self, instance: Instance, actor: Actor, *, hub_url: str) -> Instance:
        """Bring the tenant back to the saved configuration: reuse the provisioning app and
        job when they still exist, recreate what was deleted, then re-apply mappings and
        the auto-sync state."""
        if instance.mode != Mode.PUSH:
            return instance
        graph = self.connection.graph(instance.tenant_id)
        sp = (
            jobs.find_service_principal(graph, instance.provisioning_app_id)
            if instance.provisioning_app_id
            else None
        )
        if sp is None:
            instance = self.provision_app(graph, instance, hub_url)
            self._restored(instance, actor, AuditAction.APP_RECREATED, "app")
            return instance
        sp_id = str(sp["id"])
        if sp_id != instance.provisioning_sp_id:
            instance = self.instances.update(instance, provisioning_sp_id=sp_id)
        job = None
        if instance.job_id:
            with contextlib.suppress(NotFound):
                job = jobs.get_job(graph, jobs.JobRef(sp_id, instance.job_id))
        if job is None:
            instance = self._create_job(graph, instance, sp_id, hub_url)
            self._restored(instance, actor, AuditAction.JOB_RECREATED, "job")
            return instance
        ref = jobs.JobRef(sp_id, str(job["id"]))
        schema = jobs.get_schema(graph, ref)
        if mappings.from_schema(schema) != instance.mappings:
            jobs.put_schema(graph, ref, mappings.into_schema(schema, instance.mappings))
        running = (job.get("schedule") or {}).get("state") == "Active"
        if instance.auto_sync and not running:
            jobs.job_action(graph, ref, "start")
        elif not instance.auto_sync and running:
            jobs.job_action(graph, ref, "pause")
        self._restored(instance, actor, AuditAction.CONFIGURATION_RESTORED, "configuration")
        return instance

    def _restored(
        self, instance: Instance, actor: Actor, action: AuditAction, restored: str
    ) -> None:
        """The audit trail's entry for a restore, and its `integration.restored` event,
        caused by the instance (the admin who asked is in the audit trail)."""
        record(self.audit, instance.org_id, actor, action, target=instance.name)
        with caused_by(Source(SourceKind.ENTRA, instance.name, instance.id, actor.tracking_id)):
            self.instances.record_restored(instance, restored)

    def _create_job(
        self, graph: GraphClient, instance: Instance, sp_id: str, hub_url: str
    ) -> Instance:
        template_id = jobs.sync_template_id(graph, sp_id)
        job = jobs.create_job(graph, sp_id, template_id)
        instance = self.instances.update(instance, job_id=job.job_id, template_id=template_id)
        instance = self.put_secrets(graph, instance, sp_id, hub_url)
        schema = jobs.get_schema(graph, job)
        jobs.put_schema(graph, job, mappings.into_schema(schema, instance.mappings))
        if instance.auto_sync:
            jobs.job_action(graph, job, "start")
        return instance
