"""The troubleshooter's answer as plain data: what was checked, what is wrong, the evidence
and what to do. The console, the API and `scimhub doctor --json` all serialise the same
`Report`, so nothing here is Rich- or HTML-specific, and nothing here may hold a secret
(tokens, client secrets, cookies): a report gets pasted into support tickets."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

SEVERITIES = ("error", "warning", "info")  # info never makes a report unhealthy


@dataclass(frozen=True, slots=True)
class Link:
    label: str
    url: str


@dataclass(frozen=True, slots=True)
class Finding:
    """One failure mode found (an entry of the catalogue) with its evidence."""

    id: str  # the catalogue entry, e.g. "integration_app_deleted"
    severity: str
    title: str
    explanation: str
    evidence: list[str] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)
    fix: str | None = None  # id of an automatic fix (catalogue.FIXES), if one applies now
    instance_id: str | None = None
    tracking_ids: list[str] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    # Structured details for the console (e.g. the audit record: who, when, target).
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Check:
    """Something verified on the way, shown so an admin sees what is known to work."""

    name: str
    ok: bool
    detail: str = ""


@dataclass(slots=True)
class Report:
    org_id: str
    generated: datetime
    findings: list[Finding] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    # Set when the admin asked about one tracking id: what that request was and why it failed.
    explanation: Finding | None = None
    fixes_applied: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return not any(f.severity != "info" for f in self.findings)

    def as_json(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["generated"] = self.generated.isoformat()
        doc["healthy"] = self.healthy
        return doc
