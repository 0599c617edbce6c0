"""Gathering what the troubleshooter reasons about, without changing anything: the
failures the integration API recorded, the hub's request log (what Entra pushed and how the
hub answered), and, over Graph, the provisioning job, the audit and provisioning logs.

Every Graph call is guarded: a refused or failed call becomes a `GraphProblem` in the
evidence (if Entra refuses the integration's credentials, that refusal IS the evidence),
never an exception out of the doctor."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, Protocol, TypeVar

from sqlalchemy.exc import SQLAlchemyError

from ..directory.audit import Audit
from ..directory.custom_attributes import CustomAttributes
from ..directory.deletion_brake import DeletionBrake, Threshold
from ..directory.groups import Groups
from ..directory.instances import Instance, Instances, IntegrationFailure, Mode
from ..directory.orgs import Orgs
from ..directory.removal_bursts import Burst, BurstState, RemovalBursts
from ..directory.request_log import RefusedAttribute, RequestEntry, RequestLog
from ..directory.tokens import TokenInfo, Tokens
from ..directory.users import Users
from ..integrations.entra.audit_actions import AuditAction
from ..integrations.entra.errors import IntegrationError, NotFound
from ..integrations.entra.jobs import JobRef
from ..integrations.entra.reader import TenantProbe
from ..integrations.entra.service import EntraIntegration
from ..integrations.ldap.errors import BY_CODE as LDAP_CODES
from ..integrations.ldap.errors import LdapError
from ..integrations.ldap.probe import ProbeReport
from ..integrations.ldap.service import LdapService
from .scope import ScopeEvidence, gather_scope

T = TypeVar("T")
# Hub audit actions after which earlier failures are history, not current problems.
RECOVERY_ACTIONS = frozenset(
    {
        AuditAction.ALLOW_SYNC_ENABLED,
        AuditAction.CONFIGURATION_RESTORED,
        AuditAction.APP_RECREATED,
        AuditAction.JOB_RECREATED,
        AuditAction.CONSENT_GRANTED,
        AuditAction.INSTANCE_CONNECTED,
        AuditAction.SYNC_NOW,
        AuditAction.SCIM_TOKEN_RENEWED,
    }
)
# Request-log failures older than this are not "current" even without a recovery.
REQUEST_WINDOW = timedelta(hours=24)
# Graph's waits are for users; the doctor reports throttling instead of sitting it out.
GRAPH_MAX_WAIT = 2.0


class Services(Protocol):
    """What the doctor reads; `api.services.Hub` provides it (diagnose may not import api).
    Read-only members, so a frozen container satisfies it."""

    @property
    def entra(self) -> EntraIntegration: ...
    @property
    def instances(self) -> Instances: ...
    @property
    def requests(self) -> RequestLog: ...
    @property
    def tokens(self) -> Tokens: ...
    @property
    def audit(self) -> Audit: ...
    @property
    def users(self) -> Users: ...
    @property
    def groups(self) -> Groups: ...
    @property
    def orgs(self) -> Orgs: ...
    @property
    def attributes(self) -> CustomAttributes: ...
    @property
    def brake(self) -> DeletionBrake: ...
    @property
    def bursts(self) -> RemovalBursts: ...
    @property
    def ldap(self) -> LdapService: ...


@dataclass(frozen=True, slots=True)
class GraphProblem:
    """A Graph or token call that failed, with what Entra said."""

    operation: str
    status: int
    code: str
    upstream_code: str | None
    upstream_message: str | None
    correlation_id: str | None
    client_request_id: str | None

    @classmethod
    def of(cls, operation: str, err: IntegrationError) -> GraphProblem:
        return cls(operation, **err.failure_fields())


@dataclass(slots=True)
class InstanceEvidence:
    instance: Instance
    probe_error: GraphProblem | None = None  # the first Graph call failed: nothing else read
    provisioning_sp_found: bool | None = None  # None: could not tell
    job: dict[str, Any] | None = None
    job_missing: bool = False
    removed_sps: list[dict[str, Any]] = field(default_factory=list)
    provisioning_failures: list[dict[str, Any]] = field(default_factory=list)
    provisioning_skipped: list[dict[str, Any]] = field(default_factory=list)
    scope: ScopeEvidence | None = None
    scim_token: TokenInfo | None = None
    log_problems: list[GraphProblem] = field(default_factory=list)  # audit/provisioning logs
    removals_held: int = 0  # the deletion brake's, waiting for an admin
    threshold: Threshold | None = None


@dataclass(slots=True)
class LdapEvidence:
    """The organisation's LDAP source: tried now (`probe`, when enabled), and the failures
    its rounds and tests recorded."""

    source_id: str
    name: str
    enabled: bool
    url: str
    bind_dn: str
    probe: ProbeReport | None = None
    failures: list[IntegrationFailure] = field(default_factory=list)
    last_round: dict[str, Any] | None = None


@dataclass(slots=True)
class Evidence:
    org_id: str
    now: datetime
    configured: bool = True
    login_url: str = ""  # with client_id: the admin consent URL (public identifiers only)
    client_id: str = ""
    client_secret_expires: datetime | None = None
    since: datetime | None = None  # the last recovery: earlier failures are history
    failures: list[IntegrationFailure] = field(default_factory=list)
    requests_failed: list[RequestEntry] = field(default_factory=list)
    requests_ok: list[RequestEntry] = field(default_factory=list)
    # Writes refused for naming an attribute the organisation had not defined, and what it
    # defines now ("User:<lower-cased path>"): a refusal of one defined since is history.
    refused_attributes: list[RefusedAttribute] = field(default_factory=list)
    defined_attributes: frozenset[str] = frozenset()
    removal_bursts: list[Burst] = field(default_factory=list)
    ldap: LdapEvidence | None = (
        None  # the organisation's AD / LDAP source  # open ones (deletion brake)
    )
    instances: list[InstanceEvidence] = field(default_factory=list)
    database_error: str | None = None

    @classmethod
    def unreachable(cls, org_id: str, error: BaseException) -> Evidence:
        return cls(org_id, datetime.now(UTC), database_error=_short(error))


def gather(services: Services, org_id: str, *, with_scope: bool = True) -> Evidence:
    """Everything the classifier needs about one organisation."""
    identity = services.entra.reader.public_identity()
    evidence = Evidence(
        org_id,
        datetime.now(UTC),
        identity.configured,
        identity.login_url,
        identity.client_id,
        identity.client_secret_expires,
    )
    try:
        services.orgs.get(org_id)  # raises OrgNotFound: a wrong --org is the caller's error
        evidence.since = _last_recovery(services.audit, org_id)
        recorded = services.instances.failures(org_id, limit=200)[0]
        evidence.failures = [
            f
            for f in recorded
            if (evidence.since is None or f.time > evidence.since) and f.code not in LDAP_CODES
        ]
        evidence.ldap = _gather_ldap(
            services, org_id, [f for f in recorded if f.code in LDAP_CODES]
        )
        _gather_requests(services.requests, evidence)
        evidence.defined_attributes = frozenset(
            defined_key(d.definition.resource_type, d.definition.path)
            for d in services.attributes.definitions(org_id)
        )
        evidence.removal_bursts = services.bursts.listed(org_id, BurstState.OPEN)
        instances = services.instances.list(org_id)
        tokens = {t.id: t for t in services.tokens.list(org_id)}
        held = services.brake.held_counts(org_id)
        thresholds = {i.id: services.brake.threshold(i) for i in instances}
    except SQLAlchemyError as exc:
        evidence.database_error = _short(exc)
        return evidence
    for instance in instances:
        found = InstanceEvidence(
            instance,
            scim_token=tokens.get(instance.scim_token_id or ""),
            removals_held=held.get(instance.id, 0),
            threshold=thresholds[instance.id],
        )
        if evidence.configured and instance.mode == Mode.PUSH:
            _gather_graph(services, found, with_scope=with_scope)
        evidence.instances.append(found)
    return evidence


def _gather_ldap(
    services: Services, org_id: str, failures: list[IntegrationFailure]
) -> LdapEvidence | None:
    """The LDAP source tried now, as `scimhub ldap test` does (reads only)."""
    source = services.ldap.get(org_id)
    if source is None:
        return None
    found = LdapEvidence(
        source.id,
        source.name,
        source.enabled,
        source.url,
        source.bind_dn,
        failures=[f for f in failures if f.instance_id in (None, source.id)],
        last_round=source.last_round,
    )
    if source.enabled:
        try:
            found.probe = services.ldap.test(org_id)
        except LdapError as err:  # the password cannot be read, say
            found.probe = ProbeReport(ok=False, error=err)
    return found


def _last_recovery(audit: Audit, org_id: str) -> datetime | None:
    events, _ = audit.events(org_id, limit=200)
    return next((e.time for e in events if e.action in RECOVERY_ACTIONS), None)


def defined_key(resource_type: str | None, path: str) -> str:
    """How a refused attribute is matched with the definitions: paths are case-insensitive."""
    return f"{resource_type}:{path.lower()}"


def _gather_requests(log: RequestLog, evidence: Evidence) -> None:
    cutoff = max(evidence.since or evidence.now - REQUEST_WINDOW, evidence.now - REQUEST_WINDOW)
    failed, _ = log.entries(evidence.org_id, status_class="failure", limit=500)
    evidence.requests_failed = [e for e in failed if e.time > cutoff]
    evidence.refused_attributes = log.refused_attributes(evidence.org_id, cutoff)
    ok, _ = log.entries(evidence.org_id, status_class="success", limit=1000)
    evidence.requests_ok = [e for e in ok if e.time > evidence.now - REQUEST_WINDOW]


def _gather_graph(services: Services, found: InstanceEvidence, *, with_scope: bool) -> None:
    instance = found.instance
    probe = services.entra.reader.tenant(instance.tenant_id, max_wait=GRAPH_MAX_WAIT)
    # The first call also gets the token: its failure (AADSTS...) explains everything else.
    app_id = instance.provisioning_app_id
    sp, problem = _guard(
        "find provisioning app", lambda: probe.service_principal(app_id) if app_id else None
    )
    if problem is not None:
        found.probe_error = _tenant_checked(probe, problem)
        return
    found.provisioning_sp_found = sp is not None if app_id else None
    if sp is not None and instance.job_id:
        try:
            found.job = probe.job(JobRef(str(sp["id"]), instance.job_id))
        except NotFound:
            found.job_missing = True
        except IntegrationError as err:
            found.probe_error = GraphProblem.of("read provisioning job", err)
            return
    _gather_logs(probe, found)
    if with_scope and found.job and (found.job.get("status") or {}).get("lastExecution"):
        found.scope, problem = _guard(
            "compare users",
            lambda: gather_scope(
                probe,
                services.users,
                services.groups,
                instance,
                sp_id=sp["id"] if sp else None,
                skipped=found.provisioning_skipped,
            ),
        )
        if problem is not None:
            found.log_problems.append(problem)


def _gather_logs(probe: TenantProbe, found: InstanceEvidence) -> None:
    removed, problem = _guard("read directoryAudits", probe.removed_service_principals)
    found.removed_sps = removed or []
    if problem is not None:
        found.log_problems.append(problem)
    job_id = found.instance.job_id
    if not job_id or found.job is None:
        return
    began = ((found.job.get("status") or {}).get("lastExecution") or {}).get("timeBegan")
    for status, into in (
        ("failure", found.provisioning_failures),
        ("skipped", found.provisioning_skipped),
    ):
        since = began if status == "failure" else None  # only what still fails
        entries, problem = _guard(
            f"read provisioning log ({status})",
            partial(probe.provisioning_log, job_id, status, since),
        )
        into.extend(entries or [])
        if problem is not None:
            found.log_problems.append(problem)


def _tenant_checked(probe: TenantProbe, problem: GraphProblem) -> GraphProblem:
    """MSAL reports an unknown tenant as unreadable metadata (no AADSTS code): the tenant's
    OpenID configuration tells whether the tenant is gone."""
    if problem.upstream_code or problem.status != 503:
        return problem
    missing = probe.tenant_missing()
    if missing is None:
        return problem
    return GraphProblem(
        problem.operation,
        401,
        problem.code,
        missing.code,
        missing.message,
        missing.correlation_id,
        problem.client_request_id,
    )


def _guard(operation: str, call: Callable[[], T]) -> tuple[T | None, GraphProblem | None]:
    try:
        return call(), None
    except IntegrationError as err:
        return None, GraphProblem.of(operation, err)


def _short(error: BaseException) -> str:
    return (str(error).splitlines() or [type(error).__name__])[0][:300]
