"""The troubleshooter: gather evidence (`evidence`), classify it into the failure modes of
the catalogue (`catalogue`, `classify`), explain tracking ids (`explain`), repair
(`remedies`), and report (`report`, `render`).

Entry points for the CLI, the API and the console: `diagnose`, `explain_tracking_id`,
`repair`."""

from __future__ import annotations

from ..directory.actor import Actor
from .catalogue import FIXES
from .classify import classify
from .evidence import Evidence, Services, gather
from .explain import explain
from .remedies import FixResult, apply_all, apply_fix
from .report import Report

__all__ = [
    "FIXES",
    "FixResult",
    "Report",
    "Services",
    "apply_fix",
    "diagnose",
    "explain",
    "explain_tracking_id",
    "repair",
    "report_from",
]


def report_from(evidence: Evidence) -> Report:
    findings, checks = classify(evidence)
    return Report(evidence.org_id, evidence.now, findings, checks)


def diagnose(services: Services, org_id: str, *, with_scope: bool = True) -> Report:
    """The organisation's integration health now (reads only; changes nothing)."""
    return report_from(gather(services, org_id, with_scope=with_scope))


def explain_tracking_id(services: Services, org_id: str, tracking_id: str) -> Report:
    """What the request with this tracking id was and why it failed, with today's
    diagnosis (is it still happening, and what fixes it)."""
    report = diagnose(services, org_id)
    report.explanation = explain(services, org_id, tracking_id)
    return report


def repair(
    services: Services,
    org_id: str,
    *,
    actor_name: str,
    hub_url: str,
    tracking_id: str | None = None,
) -> Report:
    """Apply every automatic fix the diagnosis offers, then diagnose again."""
    results = apply_all(
        services, diagnose(services, org_id), actor=Actor(actor_name, tracking_id), hub_url=hub_url
    )
    report = diagnose(services, org_id)
    report.fixes_applied = [
        f"{'applied' if r.ok else 'failed'}: {r.fix}"
        + (f" ({r.instance_id})" if r.instance_id else "")
        + f" — {r.message}"
        for r in results
    ]
    return report
