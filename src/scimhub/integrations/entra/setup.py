"""Connecting an organisation to an Entra tenant: the setup sign-in (in which the admin also
grants consent) proves the tenant, one tenant feeds one organisation, then the instance is
saved and, in push mode, its provisioning app and job are created."""

from __future__ import annotations

import secrets
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from ...directory.actor import Actor
from ...directory.audit import Audit
from ...directory.instances import (
    SCOPES,
    ConsentSessionMismatch,
    Dialect,
    Instance,
    Instances,
    Mode,
)
from . import mappings, tenants
from .audit_actions import AuditAction, record
from .connection import EntraConnection
from .errors import BadRequest, Conflict, IntegrationError, NotConfigured, TenantTaken
from .graph import GraphClient
from .provisioning import Provisioning
from .signin import TenantProof

_MODES = tuple(Mode)
_DIALECTS = tuple(Dialect)


@dataclass(frozen=True, slots=True)
class SetupOptions:
    scope: str = "assigned"
    mode: Mode = Mode.PUSH
    dialect: Dialect = Dialect.DEFAULT
    mappings: tuple[tuple[str, str], ...] = ()

    @classmethod
    def parse(cls, raw: Any) -> SetupOptions:
        raw = raw if isinstance(raw, dict) else {}
        scope, mode = raw.get("scope", "assigned"), raw.get("mode", Mode.PUSH)
        dialect = raw.get("dialect", Dialect.DEFAULT)
        if scope not in SCOPES:
            raise BadRequest(f"scope must be one of {', '.join(SCOPES)}")
        if mode not in _MODES:
            raise BadRequest(f"mode must be one of {', '.join(_MODES)}")
        if dialect not in _DIALECTS:
            raise BadRequest(
                f"dialect must be '{Dialect.DEFAULT}' or '{Dialect.AAD_OPT_SCIM_062020}'"
            )
        chosen = mappings.validate(raw["mappings"]) if "mappings" in raw else []
        return cls(
            scope, Mode(mode), Dialect(dialect), tuple((m["source"], m["target"]) for m in chosen)
        )

    def as_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"scope": self.scope, "mode": self.mode, "dialect": self.dialect}
        if self.mappings:
            doc["mappings"] = [{"source": s, "target": t} for s, t in self.mappings]
        return doc

    def mapping_list(self) -> list[dict[str, str]]:
        return [{"source": s, "target": t} for s, t in self.mappings] or [
            dict(m) for m in mappings.DEFAULT_MAPPINGS
        ]


class Setup:
    def __init__(
        self,
        connection: EntraConnection,
        *,
        instances: Instances,
        audit: Audit,
        provisioning: Provisioning,
        shared_tenants: frozenset[str],
    ) -> None:
        self.connection = connection
        self.instances = instances
        self.audit = audit
        self.provisioning = provisioning
        self.shared_tenants = shared_tenants

    def begin(
        self,
        org_id: str,
        actor: Actor,
        *,
        redirect_uri: str,
        tenant: str,
        session_hash: str | None,
        options: SetupOptions,
    ) -> str:
        """The Entra sign-in URL to send the admin to: they sign in and grant admin consent
        in one step, and the signed ID token they come back with names the tenant.
        `state` binds the answer to this org, admin and browser session."""
        if not self.connection.settings.configured:
            raise NotConfigured()
        authority = tenants.sign_in_authority(tenant)
        state = secrets.token_urlsafe(32)
        url, flow = self.connection.signin.begin(authority, redirect_uri, state)
        self.instances.new_consent_state(
            state, org_id, actor.name, session_hash, options.as_json(), flow
        )
        return url

    def finish(
        self,
        query: dict[str, str],
        *,
        hub_url: str,
        session_hashes: Collection[str],
        tracking_id: str | None,
    ) -> Instance:
        """Handle Entra's redirect after the sign-in: redeem the code, take the tenant from
        the verified ID token, then connect (or restore) it. Nothing in the query itself is
        believed: it only carries the code and the state, which must come back in the
        browser session that began it (one of `session_hashes`, those it presents)."""
        try:
            pending = self.instances.consume_consent_state(query.get("state", ""), session_hashes)
        except ConsentSessionMismatch:
            raise BadRequest("Finish the setup in the browser session that started it.") from None
        if pending is None:
            raise BadRequest(
                "This consent link has expired or was already used; start the setup again."
            )
        actor = Actor(pending.actor, tracking_id)
        error = query.get("error")
        if error:
            record(
                self.audit,
                pending.org_id,
                actor,
                AuditAction.CONSENT_DECLINED,
                detail={"error": error[:64]},
            )
            raise BadRequest(
                f"Admin consent was not granted ({error}): "
                f"{query.get('error_description', '')}".strip()[:500]
            )
        if not query.get("code") or not pending.flow:
            raise BadRequest("Entra did not send a sign-in code back; start the setup again.")
        proof = self.connection.signin.finish(pending.flow, query)
        self._check_tenant_owner(pending.org_id, proof, actor)
        record(
            self.audit,
            pending.org_id,
            actor,
            AuditAction.CONSENT_GRANTED,
            target=proof.tenant_id,
            detail={"signedInAs": proof.user},
        )
        existing = self.instances.by_tenant(pending.org_id, proof.tenant_id)
        if existing is not None:
            return self.provisioning.restore(existing, actor, hub_url=hub_url)
        return self.connect(
            pending.org_id,
            proof.tenant_id,
            SetupOptions.parse(pending.options),
            actor,
            hub_url=hub_url,
        )

    def connect(
        self, org_id: str, tenant_id: str, options: SetupOptions, actor: Actor, *, hub_url: str
    ) -> Instance:
        tenant_id = tenants.require_tenant_id(tenant_id)
        if self.instances.by_tenant(org_id, tenant_id) is not None:
            raise Conflict("This tenant is already connected to the organization.")
        graph = self.connection.graph(tenant_id)
        domain = _tenant_domain(graph)
        name = f"{self.connection.settings.app_name} - {domain or tenant_id}"
        instance = self.instances.create(
            org_id,
            tenant_id,
            tenant_domain=domain,
            name=name,
            mode=options.mode,
            dialect=options.dialect,
            scope=options.scope,
            mappings=options.mapping_list(),
            auto_sync=True,
        )
        if options.mode == Mode.PUSH:
            instance = self.provisioning.provision_app(graph, instance, hub_url)
        record(
            self.audit,
            org_id,
            actor,
            AuditAction.INSTANCE_CONNECTED,
            target=name,
            detail={"tenant": tenant_id, "mode": options.mode, "scope": options.scope},
        )
        return instance

    def _check_tenant_owner(self, org_id: str, proof: TenantProof, actor: Actor) -> None:
        """An Entra tenant feeds one organisation, unless the operator allows sharing it:
        otherwise its people would appear in two directories."""
        others = self.instances.orgs_with_tenant(proof.tenant_id) - {org_id}
        if not others or proof.tenant_id in self.shared_tenants:
            return
        for org in (org_id, *sorted(others)):
            # In the organisations that own the tenant, the refusal is the hub's doing.
            who = actor if org == org_id else Actor("scimhub", actor.tracking_id)
            record(
                self.audit,
                org,
                who,
                AuditAction.TENANT_REFUSED,
                target=proof.tenant_id,
                detail={"requestingOrg": org_id, "signedInAs": proof.user},
            )
        raise TenantTaken()


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
