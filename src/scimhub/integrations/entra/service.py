"""The Azure AD integration of one hub: connect an organisation to Entra tenants through
admin consent, create and steer each tenant's provisioning job over Graph, keep a copy of
its configuration, and restore that copy when the integration is allowed again.

Every method is synchronous (MSAL and Graph calls block); the API runs them in a thread.
"""

from __future__ import annotations

import contextlib
import secrets
import ssl
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx

from ...config import Settings
from ...directory.audit import Audit
from ...directory.errors import OrgNotFound
from ...directory.instances import ConsentSessionMismatch, Instance, Instances
from ...directory.orgs import Orgs
from ...directory.tokens import Tokens
from . import jobs, mappings, tenants
from .credentials import CredentialSource
from .errors import (
    IntegrationError,
    bad_request,
    conflict,
    not_configured,
    not_found,
    tenant_taken,
)
from .graph import GraphClient
from .settings import EntraSettings
from .signin import SetupSignIn, TenantProof

SCOPES = ("assigned", "all")
MODES = ("push", "pull")
# Entra's provisioning service reads this flag from the tenant URL (BaseAddress) and then
# speaks its newer SCIM dialect.
DIALECT_FLAG = "aadOptscim062020"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who asks (for the audit trail) and the request's tracking id."""

    name: str
    tracking_id: str | None = None


@dataclass(frozen=True, slots=True)
class SetupOptions:
    scope: str = "assigned"
    mode: str = "push"
    dialect: str = "default"  # or "aadOptscim062020"
    mappings: tuple[tuple[str, str], ...] = ()

    @classmethod
    def parse(cls, raw: Any) -> SetupOptions:
        raw = raw if isinstance(raw, dict) else {}
        scope, mode = raw.get("scope", "assigned"), raw.get("mode", "push")
        dialect = raw.get("dialect", "default")
        if scope not in SCOPES:
            raise bad_request(f"scope must be one of {', '.join(SCOPES)}")
        if mode not in MODES:
            raise bad_request(f"mode must be one of {', '.join(MODES)}")
        if dialect not in ("default", DIALECT_FLAG):
            raise bad_request(f"dialect must be 'default' or '{DIALECT_FLAG}'")
        chosen = mappings.validate(raw["mappings"]) if "mappings" in raw else []
        return cls(scope, mode, dialect, tuple((m["source"], m["target"]) for m in chosen))

    def as_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"scope": self.scope, "mode": self.mode, "dialect": self.dialect}
        if self.mappings:
            doc["mappings"] = [{"source": s, "target": t} for s, t in self.mappings]
        return doc

    def mapping_list(self) -> list[dict[str, str]]:
        return [{"source": s, "target": t} for s, t in self.mappings] or [
            dict(m) for m in mappings.DEFAULT_MAPPINGS]


class EntraIntegration:
    def __init__(self, settings: Settings, *, orgs: Orgs, tokens: Tokens, instances: Instances,
                 audit: Audit) -> None:
        self.settings = EntraSettings.from_settings(settings)
        self.job_token_lifetime = timedelta(days=settings.job_token_days)
        self.orgs = orgs
        self.tokens = tokens
        self.instances = instances
        self.audit = audit
        self.credentials = CredentialSource(self.settings)
        self.signin = SetupSignIn(self.settings)
        self.shared_tenants = frozenset(t.lower() for t in settings.entra_shared_tenants)
        verify: ssl.SSLContext | bool = True
        if self.settings.ca_bundle:
            verify = ssl.create_default_context(cafile=self.settings.ca_bundle)
        self.http = httpx.Client(verify=verify, trust_env=False, timeout=20)

    def close(self) -> None:
        self.http.close()
        self.credentials.close()
        self.signin.close()

    def graph(self, tenant_id: str, client_request_id: str | None = None, *,
              max_wait: float = 10.0) -> GraphClient:
        if not self.settings.configured:
            raise not_configured()
        return GraphClient(self.credentials, self.http, tenants.require_tenant_id(tenant_id),
                           client_request_id or str(uuid.uuid4()), max_wait=max_wait)

    # -- setup: admin consent, then the provisioning app and job -------------------------

    def begin_setup(self, org_id: str, actor: Actor, *, redirect_uri: str, tenant: str,
                    session_hash: str | None, options: SetupOptions) -> str:
        """The Entra sign-in URL to send the admin to: they sign in and grant admin consent
        in one step, and the signed ID token they come back with names the tenant.
        `state` binds the answer to this org, admin and browser session."""
        if not self.settings.configured:
            raise not_configured()
        authority = tenants.sign_in_authority(tenant)
        state = secrets.token_urlsafe(32)
        url, flow = self.signin.begin(authority, redirect_uri, state)
        self.instances.new_consent_state(state, org_id, actor.name, session_hash,
                                         options.as_json(), flow)
        return url

    def finish_setup(self, query: dict[str, str], *, hub_url: str,
                     session_hash: str | None, tracking_id: str | None) -> Instance:
        """Handle Entra's redirect after the sign-in: redeem the code, take the tenant from
        the verified ID token, then connect (or restore) it. Nothing in the query itself is
        believed: it only carries the code and the state."""
        try:
            pending = self.instances.consume_consent_state(query.get("state", ""),
                                                           session_hash)
        except ConsentSessionMismatch:
            raise bad_request("Finish the setup in the browser session that started it.") \
                from None
        if pending is None:
            raise bad_request("This consent link has expired or was already used; start the "
                              "setup again.")
        actor = Actor(pending.actor, tracking_id)
        if query.get("error"):
            self.audit.record(pending.org_id, actor.name, "Azure AD admin consent declined",
                              detail={"error": query.get("error")[:64]},
                              tracking_id=tracking_id)
            raise bad_request(f"Admin consent was not granted ({query.get('error')}): "
                              f"{query.get('error_description', '')}".strip()[:500])
        if not query.get("code") or not pending.flow:
            raise bad_request("Entra did not send a sign-in code back; start the setup again.")
        proof = self.signin.finish(pending.flow, query)
        self._check_tenant_owner(pending.org_id, proof, actor)
        self.audit.record(pending.org_id, actor.name, "Azure AD admin consent granted",
                          target=proof.tenant_id, detail={"signedInAs": proof.user},
                          tracking_id=tracking_id)
        existing = self.instances.by_tenant(pending.org_id, proof.tenant_id)
        if existing is not None:
            return self.restore(existing, actor, hub_url=hub_url)
        return self.connect(pending.org_id, proof.tenant_id, SetupOptions.parse(pending.options),
                            actor, hub_url=hub_url)

    def _check_tenant_owner(self, org_id: str, proof: TenantProof, actor: Actor) -> None:
        """An Entra tenant feeds one organisation, unless the operator allows sharing it:
        otherwise its people would appear in two directories."""
        others = self.instances.orgs_with_tenant(proof.tenant_id) - {org_id}
        if not others or proof.tenant_id in self.shared_tenants:
            return
        for org in (org_id, *sorted(others)):
            self.audit.record(org, actor.name if org == org_id else "scimhub",
                              "Azure AD tenant refused: connected to another organization",
                              target=proof.tenant_id,
                              detail={"requestingOrg": org_id, "signedInAs": proof.user},
                              tracking_id=actor.tracking_id)
        raise tenant_taken()

    def connect(self, org_id: str, tenant_id: str, options: SetupOptions, actor: Actor, *,
                hub_url: str) -> Instance:
        tenant_id = tenants.require_tenant_id(tenant_id)
        if self.instances.by_tenant(org_id, tenant_id) is not None:
            raise conflict("This tenant is already connected to the organization.")
        graph = self.graph(tenant_id)
        domain = _tenant_domain(graph)
        name = f"{self.settings.app_name} - {domain or tenant_id}"
        instance = self.instances.create(
            org_id, tenant_id, tenant_domain=domain, name=name, mode=options.mode,
            scope=options.scope, mappings=options.mapping_list(), auto_sync=True,
            last_status={"dialect": options.dialect})
        if options.mode == "push":
            instance = self._provision_app(graph, instance, hub_url)
        self.audit.record(org_id, actor.name, "Azure AD instance connected", target=name,
                          detail={"tenant": tenant_id, "mode": options.mode,
                                  "scope": options.scope}, tracking_id=actor.tracking_id)
        return instance

    def _provision_app(self, graph: GraphClient, instance: Instance,
                       hub_url: str) -> Instance:
        """Instantiate the provisioning app, create and configure its job, start it."""
        app_id, sp_id = jobs.instantiate(graph, self.settings.app_template_id, instance.name)
        instance = self.instances.update(instance, provisioning_app_id=app_id,
                                         provisioning_sp_id=sp_id)
        return self._create_job(graph, instance, hub_url)

    def _create_job(self, graph: GraphClient, instance: Instance, hub_url: str) -> Instance:
        sp_id = instance.provisioning_sp_id
        assert sp_id is not None
        template_id = jobs.sync_template_id(graph, sp_id)
        job = jobs.create_job(graph, sp_id, template_id)
        instance = self.instances.update(instance, job_id=job["id"], template_id=template_id)
        instance = self._put_secrets(graph, instance, hub_url)
        schema = jobs.get_schema(graph, sp_id, job["id"])
        jobs.put_schema(graph, sp_id, job["id"], mappings.into_schema(schema, instance.mappings))
        if instance.auto_sync:
            jobs.job_action(graph, sp_id, job["id"], "start")
        return instance

    def _put_secrets(self, graph: GraphClient, instance: Instance, hub_url: str) -> Instance:
        """Give the job a fresh hub token (revoking the one it had) and the SCIM URL."""
        assert instance.provisioning_sp_id is not None
        scim_base = f"{hub_url}/identity/scim/{instance.org_id}/v2"
        secret, token = self.tokens.create(
            instance.org_id, name=f"Entra provisioning "
            f"({instance.tenant_domain or instance.tenant_id})",
            expires_in=self.job_token_lifetime)
        dialect = (instance.last_status or {}).get("dialect", "default")
        base = f"{scim_base}?{DIALECT_FLAG}" if dialect == DIALECT_FLAG else scim_base
        jobs.put_secrets(graph, instance.provisioning_sp_id, base_address=base,
                         secret_token=secret, sync_all=instance.scope == "all")
        if instance.scim_token_id:
            _revoke_quietly(self.tokens, instance.org_id, instance.scim_token_id)
        return self.instances.update(instance, scim_token_id=token.id, hub_url=hub_url)

    # -- status and job control ---------------------------------------------------------

    def status(self, org_id: str, client_request_id: str | None = None) -> dict[str, Any]:
        """The instances with their jobs' live status from Graph."""
        org = self.orgs.get(org_id)
        out = []
        for instance in self.instances.list(org_id):
            out.append(self.instance_status(instance, client_request_id))
        return {"allowSync": bool(org.setting("allow_azure_sync")),
                "configured": self.settings.configured, "instances": out}

    def status_offline(self, org_id: str) -> dict[str, Any]:
        """The instances as last seen, without asking Entra (which may be refusing us)."""
        org = self.orgs.get(org_id)
        return {"allowSync": bool(org.setting("allow_azure_sync")),
                "configured": self.settings.configured,
                "instances": [_instance_doc(i) for i in self.instances.list(org_id)]}

    def instance_status(self, instance: Instance, client_request_id: str | None = None
                        ) -> dict[str, Any]:
        doc = _instance_doc(instance)
        if instance.mode != "push" or not (instance.provisioning_sp_id and instance.job_id):
            doc["jobStatus"] = "NotConfigured" if instance.mode == "push" else "PullSync"
            return doc
        graph = self.graph(instance.tenant_id, client_request_id)
        job = jobs.get_job(graph, instance.provisioning_sp_id, instance.job_id)
        status = job.get("status") or {}
        schedule_state = (job.get("schedule") or {}).get("state")
        doc.update(_job_doc(status, schedule_state))
        keep = {k: doc[k] for k in ("jobStatus", "lastExecution", "quarantine", "counts")}
        self.instances.update(instance, last_status={**(instance.last_status or {}), **keep})
        return doc

    def set_auto_sync(self, org_id: str, instance_id: str, enabled: bool, actor: Actor
                      ) -> dict[str, Any]:
        instance = self._push_instance(org_id, instance_id)
        graph = self.graph(instance.tenant_id)
        assert instance.provisioning_sp_id and instance.job_id
        jobs.job_action(graph, instance.provisioning_sp_id, instance.job_id,
                        "start" if enabled else "pause")
        instance = self.instances.update(instance, auto_sync=enabled)
        self.audit.record(org_id, actor.name, f"Azure AD auto sync {'on' if enabled else 'off'}",
                          target=instance.name, tracking_id=actor.tracking_id)
        return self.instance_status(instance, graph.client_request_id)

    def sync_now(self, org_id: str, instance_id: str, actor: Actor) -> dict[str, Any]:
        instance = self._push_instance(org_id, instance_id)
        graph = self.graph(instance.tenant_id)
        assert instance.provisioning_sp_id and instance.job_id
        jobs.restart(graph, instance.provisioning_sp_id, instance.job_id)
        if instance.auto_sync:
            jobs.job_action(graph, instance.provisioning_sp_id, instance.job_id, "start")
        self.audit.record(org_id, actor.name, "Azure AD sync now", target=instance.name,
                          tracking_id=actor.tracking_id)
        return self.instance_status(instance, graph.client_request_id)

    def renew_scim_token(self, org_id: str, instance_id: str, actor: Actor, *,
                         hub_url: str) -> dict[str, Any]:
        """Give the job a new hub token (revoking the old one) and restart it: the repair
        for a quarantine caused by the hub answering Entra with 401."""
        instance = self._push_instance(org_id, instance_id)
        graph = self.graph(instance.tenant_id)
        instance = self._put_secrets(graph, instance, hub_url)
        assert instance.provisioning_sp_id and instance.job_id
        jobs.restart(graph, instance.provisioning_sp_id, instance.job_id)  # lifts quarantine
        if instance.auto_sync:
            jobs.job_action(graph, instance.provisioning_sp_id, instance.job_id, "start")
        self.audit.record(org_id, actor.name, "Azure AD SCIM token renewed",
                          target=instance.name, tracking_id=actor.tracking_id)
        return self.instance_status(instance, graph.client_request_id)

    def provision_on_demand(self, org_id: str, instance_id: str, user_id: Any, actor: Actor
                            ) -> dict[str, Any]:
        if not isinstance(user_id, str) or not user_id:
            raise bad_request("userId (the Entra object id of the user) is required")
        instance = self._push_instance(org_id, instance_id)
        graph = self.graph(instance.tenant_id)
        assert instance.provisioning_sp_id and instance.job_id
        rule_id = _rule_id(jobs.get_schema(graph, instance.provisioning_sp_id, instance.job_id))
        result = jobs.job_action(graph, instance.provisioning_sp_id, instance.job_id,
                                 "provisionOnDemand", {"parameters": [{
                                     "ruleId": rule_id, "subjects": [{
                                         "objectId": user_id, "objectTypeName": "User"}]}]})
        self.audit.record(org_id, actor.name, "Azure AD provision on demand",
                          target=user_id, tracking_id=actor.tracking_id)
        return result if isinstance(result, dict) else {}

    def set_scope(self, org_id: str, instance_id: str, scope: Any, actor: Actor, *,
                  hub_url: str) -> dict[str, Any]:
        if scope not in SCOPES:
            raise bad_request(f"scope must be one of {', '.join(SCOPES)}")
        instance = self.instance(org_id, instance_id)
        instance = self.instances.update(instance, scope=scope)
        if instance.mode == "push":
            graph = self.graph(instance.tenant_id)
            instance = self._put_secrets(graph, instance, hub_url)
            assert instance.provisioning_sp_id and instance.job_id
            # As in Entra, a new scope means a new initial cycle.
            jobs.restart(graph, instance.provisioning_sp_id, instance.job_id)
        self.audit.record(org_id, actor.name, "Azure AD scope changed", target=instance.name,
                          detail={"scope": scope}, tracking_id=actor.tracking_id)
        return _instance_doc(instance)

    def set_mappings(self, org_id: str, instance_id: str, raw: Any, actor: Actor
                     ) -> dict[str, Any]:
        chosen = mappings.validate(raw)
        instance = self.instance(org_id, instance_id)
        if instance.mode == "push":
            graph = self.graph(instance.tenant_id)
            assert instance.provisioning_sp_id and instance.job_id
            schema = jobs.get_schema(graph, instance.provisioning_sp_id, instance.job_id)
            jobs.put_schema(graph, instance.provisioning_sp_id, instance.job_id,
                            mappings.into_schema(schema, chosen))
        instance = self.instances.update(instance, mappings=chosen)
        self.audit.record(org_id, actor.name, "Azure AD attribute mappings changed",
                          target=instance.name, tracking_id=actor.tracking_id)
        return _instance_doc(instance)

    # -- allow / disallow, restore, disconnect ------------------------------------------

    def allow_sync(self, org_id: str, enabled: bool, actor: Actor, *,
                   hub_url: str) -> dict[str, Any]:
        """"Allow Azure AD sync": on restores every saved instance, off pauses their jobs.
        Off is the hub's own decision: it is saved first, whatever Entra answers, and a job
        Entra would not pause is reported (and kept for the troubleshooter)."""
        if not enabled:
            self.orgs.update_setting(org_id, "allow_azure_sync", False)
        warnings = []
        for instance in self.instances.list(org_id):
            if instance.mode != "push":
                continue
            if enabled:
                self.restore(instance, actor, hub_url=hub_url)
                continue
            try:
                self._pause(instance)
            except IntegrationError as exc:
                self.instances.record_failure(org_id, instance.id, operation="allowSync",
                                              tracking_id=actor.tracking_id or "",
                                              **exc.failure_fields())
                warnings.append({"instanceId": instance.id, "code": exc.code,
                                 "description": f"{instance.name}: the job could not be "
                                                f"paused in Entra ({exc.description})"})
        if enabled:
            self.orgs.update_setting(org_id, "allow_azure_sync", True)
        self.audit.record(org_id, actor.name,
                          f"Allow Azure AD sync {'enabled' if enabled else 'disabled'}",
                          tracking_id=actor.tracking_id)
        # On, the admin wants to see the jobs running again; off, Entra may be refusing us.
        status = self.status(org_id) if enabled else self.status_offline(org_id)
        return {**status, "warnings": warnings} if warnings else status

    def _pause(self, instance: Instance) -> None:
        if not (instance.provisioning_sp_id and instance.job_id):
            return
        try:
            jobs.job_action(self.graph(instance.tenant_id), instance.provisioning_sp_id,
                            instance.job_id, "pause")
        except IntegrationError as exc:
            if not jobs.is_not_found(exc):  # a job that is gone is paused enough
                raise

    def restore(self, instance: Instance, actor: Actor, *, hub_url: str) -> Instance:
        """Bring the tenant back to the saved configuration: reuse the provisioning app and
        job when they still exist, recreate what was deleted, then re-apply mappings and
        the auto-sync state."""
        if instance.mode != "push":
            return instance
        graph = self.graph(instance.tenant_id)
        sp = (jobs.find_service_principal(graph, instance.provisioning_app_id)
              if instance.provisioning_app_id else None)
        if sp is None:
            instance = self._provision_app(graph, instance, hub_url)
            self.audit.record(instance.org_id, actor.name,
                              "Provisioning app recreated from saved configuration",
                              target=instance.name, tracking_id=actor.tracking_id)
            return instance
        if sp["id"] != instance.provisioning_sp_id:
            instance = self.instances.update(instance, provisioning_sp_id=sp["id"])
        assert instance.provisioning_sp_id is not None
        job = None
        if instance.job_id:
            try:
                job = jobs.get_job(graph, instance.provisioning_sp_id, instance.job_id)
            except IntegrationError as exc:
                if not jobs.is_not_found(exc):
                    raise
        if job is None:
            instance = self._create_job(graph, instance, hub_url)
            self.audit.record(instance.org_id, actor.name,
                              "Provisioning job recreated from saved configuration",
                              target=instance.name, tracking_id=actor.tracking_id)
            return instance
        sp_id, job_id = instance.provisioning_sp_id, job["id"]
        schema = jobs.get_schema(graph, sp_id, job_id)
        if mappings.from_schema(schema) != instance.mappings:
            jobs.put_schema(graph, sp_id, job_id, mappings.into_schema(schema, instance.mappings))
        running = (job.get("schedule") or {}).get("state") == "Active"
        if instance.auto_sync and not running:
            jobs.job_action(graph, sp_id, job_id, "start")
        elif not instance.auto_sync and running:
            jobs.job_action(graph, sp_id, job_id, "pause")
        self.audit.record(instance.org_id, actor.name, "Azure AD configuration restored",
                          target=instance.name, tracking_id=actor.tracking_id)
        return instance

    def disconnect(self, org_id: str, instance_id: str, actor: Actor) -> None:
        """Delete the job in Entra (if it is still reachable) and forget the instance."""
        instance = self.instance(org_id, instance_id)
        if instance.mode == "push" and instance.provisioning_sp_id and instance.job_id:
            try:
                jobs.delete_job(self.graph(instance.tenant_id), instance.provisioning_sp_id,
                                instance.job_id)
            except IntegrationError as exc:
                if not jobs.is_not_found(exc):
                    raise
        if instance.scim_token_id:
            _revoke_quietly(self.tokens, org_id, instance.scim_token_id)
        self.instances.delete(instance)
        self.audit.record(org_id, actor.name, "Azure AD instance disconnected",
                          target=instance.name, tracking_id=actor.tracking_id)

    # -- lookups ------------------------------------------------------------------------

    def instance(self, org_id: str, instance_id: str) -> Instance:
        instance = self.instances.get(org_id, instance_id)
        if instance is None:
            raise not_found(f"Instance {instance_id}")
        return instance

    def _push_instance(self, org_id: str, instance_id: str) -> Instance:
        instance = self.instance(org_id, instance_id)
        if instance.mode != "push" or not (instance.provisioning_sp_id and instance.job_id):
            raise conflict("This instance has no Entra provisioning job (it uses pull sync).")
        return instance


def _revoke_quietly(tokens: Tokens, org_id: str, token_id: str) -> None:
    with contextlib.suppress(OrgNotFound):  # already gone
        tokens.revoke(org_id, token_id)


def _tenant_domain(graph: GraphClient) -> str | None:
    """The tenant's default domain, for the instance name; None if Graph won't say."""
    try:
        org = graph.get("/organization")
    except IntegrationError:
        return None
    for entry in (org or {}).get("value", []):
        for domain in entry.get("verifiedDomains", []):
            if domain.get("isDefault"):
                return str(domain["name"])
    return None


def _rule_id(schema: dict[str, Any]) -> str:
    rules = schema.get("synchronizationRules") or [{}]
    return str(rules[0].get("id", ""))


def _instance_doc(instance: Instance) -> dict[str, Any]:
    last = instance.last_status or {}
    return {
        "id": instance.id, "name": instance.name, "tenantId": instance.tenant_id,
        "tenantDomain": instance.tenant_domain, "mode": instance.mode,
        "jobStatus": last.get("jobStatus", "Unknown"), "autoSync": instance.auto_sync,
        "scope": instance.scope, "mappings": instance.mappings,
        "lastExecution": last.get("lastExecution"), "lastSuccessfulExecution": None,
        "quarantine": last.get("quarantine"), "counts": last.get("counts", {}),
        "lastPull": instance.last_pull,
    }


def _execution(raw: Any) -> dict[str, Any] | None:
    if not isinstance(raw, dict):
        return None
    keys = ("state", "timeBegan", "timeEnded", "countExported", "countImported",
            "countEscrowed", "error")
    return {k: raw.get(k) for k in keys}


def _job_doc(status: dict[str, Any], schedule_state: str | None) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for entry in status.get("synchronizedEntryCountByType") or []:
        key = str(entry.get("key", "")).lower()
        kind = "groups" if "group" in key else "users"
        counts[kind] = counts.get(kind, 0) + int(entry.get("value") or 0)
    quarantine = status.get("quarantine")
    code = status.get("code") or "Unknown"
    if schedule_state == "Paused" and code not in ("Quarantine",):
        code = "Paused"
    return {
        "jobStatus": code,
        "autoSync": schedule_state == "Active",
        "lastExecution": _execution(status.get("lastExecution")),
        "lastSuccessfulExecution": _execution(status.get("lastSuccessfulExecution")),
        "quarantine": {k: quarantine.get(k) for k in ("reason", "currentBegan", "nextAttempt",
                                                       "seriesBegan", "seriesCount")}
        if isinstance(quarantine, dict) else None,
        "counts": counts,
    }
