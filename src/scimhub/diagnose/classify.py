"""Evidence → findings. Pure: no I/O, so every failure mode is unit-tested from evidence
objects. Each finding is an entry of the catalogue with the evidence lines that prove it."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from ..directory.instances import Mode
from ..directory.request_log import RefusedAttribute
from ..integrations.entra.settings import SECRET_WARNING
from ..integrations.ldap.errors import AD_DATA_CODES, LdapError
from ..integrations.ldap.errors import BY_CODE as LDAP_CODES
from . import _format as fmt
from .catalogue import BY_ID, mode_for_failure, mode_for_scim_answer
from .evidence import Evidence, InstanceEvidence, LdapEvidence, defined_key
from .report import SEVERITIES, Check, Finding, Link

# Throttling and outages heal by themselves: only recent ones are current problems.
TRANSIENT_WINDOW = timedelta(hours=1)
CLOCK_SLACK = timedelta(minutes=5)
_UNAUTHORIZED = "SystemForCrossDomainIdentityManagementUnauthorized"
_CONFLICT = "SystemForCrossDomainIdentityManagementConflict"
_UNAVAILABLE = "SystemForCrossDomainIdentityManagementServiceUnavailable"


def finding(
    mode_id: str,
    *,
    severity: str = "error",
    title: str | None = None,
    explanation: str = "",
    **kw: Any,
) -> Finding:
    mode = BY_ID[mode_id]
    kw.setdefault("steps", list(mode.remediation))
    return Finding(mode_id, severity, title or mode.title, explanation or mode.detection, **kw)


def consent_url(ev: Evidence, tenant: str) -> str:
    return f"{ev.login_url}/{tenant}/adminconsent?client_id={ev.client_id}"


def classify(ev: Evidence) -> tuple[list[Finding], list[Check]]:
    if ev.database_error is not None:
        return [
            finding(
                "hub_database_unavailable",
                explanation="The hub could not read its "
                "database, so it cannot serve Entra's SCIM requests or the console.",
                evidence=[f"Database error: {ev.database_error}"],
            )
        ], [Check("Hub database", False, ev.database_error)]
    checks = [Check("Hub database", True, "readable")]
    findings: list[Finding] = []
    if not ev.configured:
        findings.append(finding("not_configured"))
    findings += _secret_expiry(ev, checks)
    if not ev.instances:
        checks.append(Check("Azure AD instances", True, "none connected"))
    for ie in ev.instances:
        findings += _instance(ev, ie, checks)
    findings += _recorded(ev, findings)
    findings += _requests(ev, findings)
    findings += _undefined_attributes(ev)
    findings += _removals(ev)
    findings += _ldap(ev, checks)
    return _merge(findings), checks


def _secret_expiry(ev: Evidence, checks: list[Check]) -> list[Finding]:
    expires = ev.client_secret_expires
    if expires is None or not ev.configured:
        return []
    left = expires - ev.now
    when = f"{expires:%Y-%m-%d %H:%M} UTC"
    if left <= timedelta(0):
        checks.append(Check("Client secret", False, f"expired {when}"))
        return [finding("client_secret_expired", evidence=[f"Configured expiry: {when}"])]
    if left < SECRET_WARNING:
        checks.append(Check("Client secret", False, f"expires {when}"))
        return [
            finding(
                "client_secret_expiring",
                severity="warning",
                title=f"The hub's client secret expires in {left.days} days",
                evidence=[f"Configured expiry: {when}"],
            )
        ]
    checks.append(Check("Client secret", True, f"valid until {when}"))
    return []


# -- one connected tenant -------------------------------------------------------------


def _instance(ev: Evidence, ie: InstanceEvidence, checks: list[Check]) -> list[Finding]:
    inst = ie.instance
    if ie.probe_error is not None:
        checks.append(
            Check(
                f"Graph access to {inst.tenant_domain or inst.tenant_id}",
                False,
                ie.probe_error.upstream_code or ie.probe_error.code,
            )
        )
        return [_refused(ev, ie)]
    if inst.mode != Mode.PUSH or not ev.configured:
        return []
    checks.append(
        Check(
            f"Graph access to {inst.tenant_domain or inst.tenant_id}",
            True,
            "token and Graph calls work",
        )
    )
    out = _recovered_app(ev, ie)
    if ie.provisioning_sp_found is False:
        out.append(
            _provisioning_gone(
                ie,
                "provisioning_app_deleted",
                f"No service principal for the saved provisioning app "
                f"{inst.provisioning_app_id} exists in the tenant.",
            )
        )
    elif ie.job_missing:
        out.append(
            _provisioning_gone(
                ie, "provisioning_job_deleted", f"The saved job {inst.job_id} no longer exists."
            )
        )
    elif ie.job is not None:
        status = ie.job.get("status") or {}
        checks.append(
            Check("Provisioning job", status.get("code") != "Quarantine", str(status.get("code")))
        )
        out += _quarantine(ev, ie, status)
    out += _token_state(ev, ie)
    out += _object_failures(ev, ie)
    out += _scope(ie)
    return out


def _refused(ev: Evidence, ie: InstanceEvidence) -> Finding:
    """Entra refused the integration's credentials (or was unreachable) for this tenant."""
    problem, inst = ie.probe_error, ie.instance
    assert problem is not None
    mode = mode_for_failure(problem.status, problem.upstream_code) or "entra_unavailable"
    related = [f for f in ev.failures if mode_for_failure(f.status, f.upstream_code) == mode]
    evidence = [fmt.problem_line(problem, inst.tenant_domain or inst.tenant_id)]
    evidence += [fmt.failure_line(f) for f in related[:10]]
    links, details, steps = (
        [],
        {"upstreamCode": problem.upstream_code, "tenantId": inst.tenant_id},
        list(BY_ID[mode].remediation),
    )
    if mode in ("integration_app_deleted", "consent_missing"):
        url = consent_url(ev, inst.tenant_id)
        links.append(Link("Grant admin consent", url))
        details["consentUrl"] = url
        steps[0] = f"{steps[0]} {url}"
    if mode == "integration_app_deleted":
        evidence += _pushes_meanwhile(ev, related, details)
        evidence.append(
            "Who deleted it is in Entra's audit log, which the hub can read again "
            "once consent is granted (run the doctor again then)."
        )
    return finding(
        mode,
        instance_id=inst.id,
        evidence=evidence,
        steps=steps,
        links=links,
        tracking_ids=[f.tracking_id for f in related],
        details=details,
    )


def _pushes_meanwhile(ev: Evidence, related: list[Any], details: dict[str, Any]) -> list[str]:
    """Entra's provisioning job belongs to the other app: did it keep pushing?"""
    start = min((f.time for f in related), default=None)
    pushes = [e for e in ev.requests_ok if start is None or e.time >= start]
    details["pushesMeanwhile"] = len(pushes)
    details["lastPush"] = pushes[0].time.isoformat() if pushes else None
    if not pushes:
        return [
            "No SCIM requests from Entra reached the hub "
            + (f"since {fmt.when(start)}." if start else "in the last 24 hours.")
        ]
    return [
        f"Entra's provisioning kept running: {len(pushes)} SCIM requests answered OK "
        + (f"since {fmt.when(start)}" if start else "in the last 24 hours")
        + f", the last at {fmt.when(pushes[0].time)}."
    ]


def _recovered_app(ev: Evidence, ie: InstanceEvidence) -> list[Finding]:
    """Token works again, but 700016 failures since the last restore: consent recreated
    the service principal; the audit log now says who deleted it, and the saved
    configuration still has to be restored."""
    related = [
        f
        for f in ev.failures
        if mode_for_failure(f.status, f.upstream_code) == "integration_app_deleted"
    ]
    if not related:
        return []
    details: dict[str, Any] = {"tenantId": ie.instance.tenant_id}
    # The integration app's own record: not the provisioning app's (that is entry 2), and
    # written before Entra first refused the token (give or take clock skew: the hub keeps
    # whole seconds, and Entra's clock is not ours).
    latest = min(f.time for f in related) + CLOCK_SLACK
    removed = [
        r
        for r in ie.removed_sps
        if not _targets(r, ie.instance.provisioning_sp_id)
        and _time(r.get("activityDateTime")) <= latest
    ]
    details["audit"] = [fmt.audit_details(r) for r in removed[:3]]
    evidence = [fmt.failure_line(f) for f in related[:10]]
    evidence += [fmt.audit_line(r) for r in removed[:3]]
    if not removed:
        evidence.append(
            "No 'Remove service principal' record was found in Entra's audit log"
            + (" (it could not be read)." if ie.log_problems else ".")
        )
    evidence += _pushes_meanwhile(ev, related, details)
    return [
        finding(
            "integration_app_deleted",
            severity="warning",
            title="The integration app's service principal was deleted, and admin "
            "consent has recreated it",
            explanation="Entra refused the hub's token requests with AADSTS700016 "
            "until consent was granted again; restore the saved "
            "configuration to finish.",
            steps=[
                "Organization Settings > Directory Synchronization > Allow Azure "
                "AD sync (or `scimhub doctor --fix`): the saved configuration "
                "(provisioning app, job, mappings, scope, auto sync) is restored."
            ],
            fix="allow_sync",
            instance_id=ie.instance.id,
            evidence=evidence,
            tracking_ids=[f.tracking_id for f in related],
            details=details,
        )
    ]


def _provisioning_gone(ie: InstanceEvidence, mode: str, what: str) -> Finding:
    removed = [r for r in ie.removed_sps if _targets(r, ie.instance.provisioning_sp_id)]
    return finding(
        mode,
        instance_id=ie.instance.id,
        fix=BY_ID[mode].fix,
        evidence=[what] + [fmt.audit_line(r) for r in removed[:3]],
        details={"audit": [fmt.audit_details(r) for r in removed[:3]]},
    )


def _time(value: Any) -> datetime:
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return datetime.max.replace(tzinfo=UTC)


def _targets(record: dict[str, Any], object_id: str | None) -> bool:
    return any(t.get("id") == object_id for t in record.get("targetResources") or [])


def _quarantine(ev: Evidence, ie: InstanceEvidence, status: dict[str, Any]) -> list[Finding]:
    q = status.get("quarantine")
    if status.get("code") != "Quarantine" or not isinstance(q, dict):
        return []
    error = q.get("error") or {}
    rejected = error.get("code") == _UNAUTHORIZED or "401" in str(error.get("message", ""))
    lines = [
        f"Job {ie.instance.job_id} in quarantine since {q.get('currentBegan')} "
        f"(reason {q.get('reason')}); next attempt {q.get('nextAttempt')}.",
        f"Entra's error: {error.get('code')}: {error.get('message')}",
    ]
    mode = "scim_token_rejected" if rejected else "job_quarantined"
    unauthorized = [e for e in ev.requests_failed if e.status == 401]
    if rejected:
        lines += [fmt.request_line(e) for e in unauthorized[:5]]
    details = {k: q.get(k) for k in ("reason", "currentBegan", "nextAttempt", "seriesCount")}
    return [
        finding(
            mode,
            instance_id=ie.instance.id,
            fix=BY_ID[mode].fix,
            evidence=lines,
            tracking_ids=[e.tracking_id for e in unauthorized[:5]] if rejected else [],
            details={"quarantine": details, "error": error},
        )
    ]


def _token_state(ev: Evidence, ie: InstanceEvidence) -> list[Finding]:
    """The hub token the job pushes with: revoked or expired means 401s (and quarantine)."""
    token = ie.scim_token
    if token is None or token.usable(ev.now):
        return []
    state = (
        f"revoked at {fmt.when(token.revoked_at)}"
        if token.revoked_at
        else f"expired at {fmt.when(token.expires_at)}"
    )
    return [
        finding(
            "scim_token_rejected",
            instance_id=ie.instance.id,
            fix="rotate_scim_token",
            evidence=[
                f"The hub token Entra's job uses ({token.name}, {token.prefix}…) was {state}."
            ],
            details={"tokenId": token.id},
        )
    ]


def _object_failures(ev: Evidence, ie: InstanceEvidence) -> list[Finding]:
    """Per-object failures of the last cycle, grouped by cause, with the affected objects."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    refused = [r.attribute for r in _still_undefined(ev)]
    for entry in ie.provisioning_failures:
        if any(_mentions(entry, attribute) for attribute in refused):
            continue  # the undefined attribute's finding has it
        code = ((entry.get("provisioningStatusInfo") or {}).get("errorInformation") or {}).get(
            "errorCode"
        )
        mode = {
            _CONFLICT: "duplicate_user_name",
            _UNAVAILABLE: "hub_errors",
            _UNAUTHORIZED: "scim_token_rejected",
        }.get(code or "", "invalid_attribute_values")
        groups[mode].append(entry)
    out = []
    for mode, entries in groups.items():
        scim_type = {"duplicate_user_name": 409, "invalid_attribute_values": 400}.get(mode)
        answers = [e for e in ev.requests_failed if e.status == scim_type]
        objects = sorted({str((e.get("sourceIdentity") or {}).get("displayName")) for e in entries})
        out.append(
            finding(
                mode,
                severity="warning",
                instance_id=ie.instance.id,
                fix=BY_ID[mode].fix,
                explanation=f"{BY_ID[mode].detection} Affected: {', '.join(objects)}.",
                evidence=[fmt.provisioning_line(e) for e in entries[:10]]
                + [fmt.request_line(e) for e in answers[:5]],
                tracking_ids=[e.tracking_id for e in answers[:5]],
                details={"objects": objects},
            )
        )
    return out


def _scope(ie: InstanceEvidence) -> list[Finding]:
    scope = ie.scope
    if scope is None:
        return []
    failed = {str((e.get("sourceIdentity") or {}).get("id")) for e in ie.provisioning_failures}
    by_reason: dict[str, list[str]] = defaultdict(list)
    for user, reason in scope.not_provisioned:
        if user.id not in failed:
            by_reason[reason].append(user.upn)
    out = []
    if by_reason.get("pending"):
        out.append(
            finding(
                "scope_change_pending",
                severity="warning",
                fix="restart_job",
                instance_id=ie.instance.id,
                details={"users": by_reason["pending"]},
                evidence=[
                    f"In scope ({scope.scope}) but not in the hub: "
                    f"{', '.join(by_reason['pending'][:20])}"
                ],
            )
        )
    labels = {
        "unassigned": "Not assigned to the provisioning app (or outside its scoping filter)",
        "nested": "Only members of nested groups (Entra provisions direct members of "
        "assigned groups only)",
        "disabled": "Disabled in Entra (provisioned inactive)",
    }
    lines = [f"{labels[r]}: {', '.join(by_reason[r][:20])}" for r in labels if by_reason.get(r)]
    lines += [fmt.provisioning_line(e) for e in ie.provisioning_skipped[:5]]
    if lines:
        problems = bool(by_reason.get("unassigned") or by_reason.get("nested"))
        out.append(
            finding(
                "users_out_of_scope",
                severity="warning" if problems else "info",
                instance_id=ie.instance.id,
                evidence=lines,
                details={r: by_reason[r] for r in labels if by_reason.get(r)},
            )
        )
    if scope.truncated:
        out.append(
            finding(
                "users_out_of_scope",
                severity="info",
                instance_id=ie.instance.id,
                evidence=[f"Compared the first {scope.checked} Entra users only."],
            )
        )
    return out


# -- organisation-wide: recorded integration failures, the hub's request log --------------


def _recorded(ev: Evidence, found: list[Finding]) -> list[Finding]:
    """Failures the console met that no live check explains: recent throttling or
    outages (only information once Graph answers again), and, when no tenant could be
    probed, the refusals themselves."""
    probed = any(ie.probe_error is None and ie.instance.mode == Mode.PUSH for ie in ev.instances)
    known = {f.id for f in found}
    groups: dict[str, list[Any]] = defaultdict(list)
    for f in ev.failures:
        mode = mode_for_failure(f.status, f.upstream_code)
        transient = mode in ("graph_throttled", "entra_unavailable")
        if mode is None or mode in known or (transient and ev.now - f.time > TRANSIENT_WINDOW):
            continue
        if transient or not probed:
            groups[mode].append(f)
    out = []
    for mode, fs in groups.items():
        over = probed and mode in ("graph_throttled", "entra_unavailable")
        title = f"{BY_ID[mode].title} (recently; Graph answers again now)" if over else None
        severity = (
            "info"
            if over
            else "warning"
            if mode in ("graph_throttled", "entra_unavailable")
            else "error"
        )
        out.append(
            finding(
                mode,
                severity=severity,
                title=title,
                evidence=[fmt.failure_line(f) for f in fs[:10]],
                tracking_ids=[f.tracking_id for f in fs],
            )
        )
    return out


def _requests(ev: Evidence, found: list[Finding]) -> list[Finding]:
    """The hub's answers to Entra. 401s newer than the last success mean Entra's token is
    refused right now; data errors count only when Entra's own log could not be read."""
    last_ok = ev.requests_ok[0].time if ev.requests_ok else None
    graph_read = any(ie.job is not None for ie in ev.instances)
    known = {f.id for f in found}
    groups: dict[str, list[Any]] = defaultdict(list)
    for e in ev.requests_failed:
        mode = mode_for_scim_answer(e.status, e.scim_type)
        if mode is None or mode in known or e.undefined_attribute is not None:
            continue
        if mode == "scim_token_rejected" and last_ok is not None and e.time < last_ok:
            continue
        if mode == "hub_errors" and ev.now - e.time > TRANSIENT_WINDOW:
            continue
        if mode in ("duplicate_user_name", "invalid_attribute_values") and graph_read:
            continue
        groups[mode].append(e)
    push = [ie.instance.id for ie in ev.instances if ie.instance.mode == Mode.PUSH]
    out = []
    for mode, entries in groups.items():
        fix = BY_ID[mode].fix if len(push) == 1 else None
        out.append(
            finding(
                mode,
                severity="error" if mode == "scim_token_rejected" else "warning",
                instance_id=push[0] if fix else None,
                fix=fix,
                evidence=[fmt.request_line(e) for e in entries[:10]],
                tracking_ids=[e.tracking_id for e in entries[:10]],
            )
        )
    return out


def _still_undefined(ev: Evidence) -> list[RefusedAttribute]:
    """The refused attributes the organisation has not defined since."""
    return [
        r
        for r in ev.refused_attributes
        if defined_key(r.resource_type, r.attribute) not in ev.defined_attributes
    ]


def _mentions(entry: dict[str, Any], attribute: str) -> bool:
    """Whether an Entra provisioning-log failure quotes the hub's refusal of `attribute`
    (Entra copies the hub's error detail, which names it in quotes)."""
    info = (entry.get("provisioningStatusInfo") or {}).get("errorInformation") or {}
    text = f"{info.get('reason') or ''} {info.get('additionalDetails') or ''}".lower()
    return f"'{attribute.lower()}'" in text


def _undefined_attributes(ev: Evidence) -> list[Finding]:
    """One finding per attribute Entra sends that the organisation has not defined: how
    many users' writes were refused, with the requests as evidence and the fix. Never an
    automatic fix: only an administrator knows the attribute's type."""
    push = [ie.instance.id for ie in ev.instances if ie.instance.mode == Mode.PUSH]
    out = []
    for r in _still_undefined(ev):
        schema, _, name = r.attribute.rpartition(":")
        kind = r.resource_type or "User"
        noun = kind.lower() if r.subjects == 1 else f"{kind.lower()}s"
        whose = f"{noun}'s" if r.subjects == 1 else f"{noun}'"
        command = (
            f"scimhub attribute add --org {ev.org_id} --resource {kind} --schema {schema} "
            f"--name {name} --type string"
        )
        entra = [
            e for ie in ev.instances for e in ie.provisioning_failures if _mentions(e, r.attribute)
        ]
        shown = ", ".join(r.some_subjects)
        more = r.subjects - len(r.some_subjects)
        out.append(
            finding(
                "undefined_attribute",
                severity="warning",
                title=(
                    f"Entra maps {r.subjects} {whose} attribute {name}"
                    if r.subjects
                    else f"Entra sends attribute {name}"  # writes that named no one
                )
                + ", which this organisation has not defined",
                explanation=f"The hub refused {r.requests} of Entra's writes (400 "
                f"invalidValue) between {fmt.when(r.first)} and {fmt.when(r.last)} because "
                f"they set '{r.attribute}', which no {kind} attribute of this organisation "
                f"defines. Entra escrows these {kind.lower()}s and retries them; past enough "
                "failures it quarantines the job.",
                evidence=[
                    f"{r.subjects} {noun} refused for '{r.attribute}': {shown}"
                    + (f" and {more} more" if more > 0 else "")
                ]
                + [
                    fmt.request_line(e) + (f" for '{e.subject}'" if e.subject else "")
                    for e in r.latest
                ]
                + [fmt.provisioning_line(e) for e in entra[:5]],
                steps=[
                    f"Define {name} in Organization Settings > {kind} attributes (or "
                    f"`{command}`; choose the type of the values Entra sends), then restart "
                    "provisioning or let Entra retry the escrowed users in its next cycle.",
                ],
                instance_id=push[0] if len(push) == 1 else None,
                tracking_ids=[e.tracking_id for e in r.latest],
                details={
                    "attribute": r.attribute,
                    "schema": schema,
                    "name": name,
                    "resourceType": kind,
                    "subjects": r.subjects,
                    "someSubjects": r.some_subjects,
                    "requests": r.requests,
                    "first": r.first.isoformat(),
                    "last": r.last.isoformat(),
                    "command": command,
                },
            )
        )
    return out


def _merge(findings: list[Finding]) -> list[Finding]:
    """One finding per (mode, instance) (and per attribute, for undefined ones): later
    sources add evidence to the first."""
    merged: dict[tuple[str, str | None, Any], Finding] = {}
    for f in findings:
        key = (f.id, f.instance_id, f.details.get("attribute"))  # one per undefined attribute
        first = merged.get(key)
        if first is None:
            merged[key] = f
            continue
        merged[key] = replace(
            first,
            evidence=first.evidence + [e for e in f.evidence if e not in first.evidence],
            tracking_ids=list(dict.fromkeys(first.tracking_ids + f.tracking_ids)),
            fix=first.fix or f.fix,
            details={**f.details, **first.details},
            severity=min(first.severity, f.severity, key=SEVERITIES.index),
        )
    return sorted(merged.values(), key=lambda f: SEVERITIES.index(f.severity))


def _removals(ev: Evidence) -> list[Finding]:
    """The deletion brake's: removals a pull round held, and bursts Entra's job pushed."""
    out = []
    names = {ie.instance.id: ie.instance.name for ie in ev.instances}
    for ie in ev.instances:
        if not ie.removals_held:
            continue
        t = ie.threshold
        rule = (
            f"{t.count} per {t.window_minutes} minutes"
            + (f" or {t.percent}% of active users" if t.percent else "")
            if t is not None and t.enabled
            else "off"
        )
        out.append(
            finding(
                "removals_held",
                severity="warning",
                title=f"{ie.removals_held} removals from {ie.instance.name} are held",
                evidence=[
                    f"{ie.removals_held} removal(s) held for {ie.instance.name}; threshold {rule}"
                ],
                instance_id=ie.instance.id,
                links=[Link("Review them", f"/console/deletions?instance={ie.instance.id}")],
            )
        )
    for b in ev.removal_bursts:
        source = b.source.get("name") or "a SCIM client"
        instance = names.get(b.instance_id, "")
        out.append(
            finding(
                "removal_burst",
                title=f"{source} removed {b.removals} users between {fmt.when(b.started)} "
                f"and {fmt.when(b.ended)}",
                evidence=[
                    f"{b.removals} users deleted or disabled by {source}"
                    + (f" (instance {instance})" if instance else "")
                    + f", {fmt.when(b.started)} to {fmt.when(b.ended)}",
                    *(f"Request {t}" for t in b.tracking_ids[:5]),
                ],
                instance_id=b.instance_id,
                tracking_ids=list(b.tracking_ids),
                links=[Link("Restore or dismiss", f"/console/bursts#burst-{b.id}")],
                details={"burst_id": b.id},
            )
        )
    return out


# -- the organisation's AD / LDAP source ------------------------------------------------

_LDAP_MODES = frozenset(
    {
        "ldap_unreachable",
        "ldap_tls_failure",
        "ldap_invalid_credentials",
        "ldap_size_limit",
        "ldap_base_not_found",
        "ldap_mapping_matches_nothing",
    }
)


def _ldap(ev: Evidence, checks: list[Check]) -> list[Finding]:
    """The LDAP source tried now: its failure explained (AD's data code, the server's
    certificate), or what its mapping matches nothing of; failures its rounds recorded
    within the transient window when it cannot be tried."""
    le = ev.ldap
    if le is None:
        return []
    if not le.enabled:
        checks.append(Check(f"LDAP source {le.name}", True, "disabled"))
        return []
    probe = le.probe
    if probe is not None and probe.error is None:
        checks.append(Check(f"LDAP source {le.name}", True, f"{le.url}: bound as {le.bind_dn}"))
        if probe.unmatched:
            return [_unmatched(le, probe.unmatched, probe.users_sampled)]
        return []
    if probe is not None and probe.error is not None:
        checks.append(Check(f"LDAP source {le.name}", False, probe.error.key))
        return [_ldap_failure(le, probe.error)]
    recent = [f for f in le.failures if ev.now - f.time <= TRANSIENT_WINDOW]
    out = []
    for f in recent[:1]:
        cls = LDAP_CODES.get(f.code, LdapError)
        out.append(_ldap_failure(le, cls(f.upstream_message or "", upstream_code=f.upstream_code)))
    return out


def _ldap_failure(le: LdapEvidence, error: LdapError) -> Finding:
    mode = error.key if error.key in _LDAP_MODES else "ldap_unreachable"
    evidence = [f"{le.url} (bind DN {le.bind_dn}): {error.description}"]
    details: dict[str, Any] = {"sourceId": le.source_id, "code": error.code}
    title = None
    if error.certificate is not None:
        c = error.certificate
        evidence.append(
            f"The server's certificate: subject {c.subject}, issued by {c.issuer}, valid "
            f"{fmt.when(c.not_before)} to {fmt.when(c.not_after)}"
        )
        details["certificate"] = c.as_json()
    if error.upstream_code in AD_DATA_CODES:
        meaning = AD_DATA_CODES[error.upstream_code]
        evidence.append(f"Active Directory's data code {error.upstream_code}: {meaning}.")
        details["dataCode"] = error.upstream_code
        title = f"The LDAP server refuses the bind: {meaning} (AD data code {error.upstream_code})"
    related = [f for f in le.failures if f.code == error.code]
    evidence += [fmt.failure_line(f) for f in related[:5]]
    return finding(
        mode,
        title=title,
        instance_id=le.source_id,
        evidence=evidence,
        tracking_ids=[f.tracking_id for f in related[:5]],
        details=details,
    )


def _unmatched(le: LdapEvidence, unmatched: list[str], sampled: int) -> Finding:
    return finding(
        "ldap_mapping_matches_nothing",
        severity="warning",
        title=f"{len(unmatched)} mapped LDAP attribute(s) match nothing: {', '.join(unmatched)}",
        explanation=f"None of the {sampled} users sampled has a value for "
        f"{', '.join(unmatched)}: the SCIM attributes they feed stay empty.",
        instance_id=le.source_id,
        evidence=[
            f"Sampled {sampled} users under the user base; no value for {', '.join(unmatched)}"
        ],
        details={"sourceId": le.source_id, "unmatched": unmatched},
    )
