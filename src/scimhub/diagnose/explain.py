"""What one tracking id was: an integration call the console made (recorded with Entra's
answer) or a SCIM request a client sent, and what its failure means."""

from __future__ import annotations

from . import _format as fmt
from .catalogue import BY_ID, mode_for_failure, mode_for_scim_answer
from .evidence import Services
from .report import Finding


def explain(services: Services, org_id: str, tracking_id: str) -> Finding:
    failures, _ = services.instances.failures(org_id, tracking_id=tracking_id, limit=5)
    if failures:
        f = failures[0]
        mode = mode_for_failure(f.status, f.upstream_code)
        upstream = (
            f" Entra answered {fmt.said(f.upstream_code, f.upstream_message)}"
            if f.upstream_code
            else ""
        )
        return _about(
            mode,
            tracking_id,
            f"The integration call '{f.operation}' at "
            f"{fmt.when(f.time)} failed with {f.status}/{f.code}.{upstream}",
            [fmt.failure_line(x) for x in failures],
        )
    entries, _ = services.requests.entries(org_id, tracking_id=tracking_id, limit=5)
    if entries:
        e = entries[0]
        if e.status < 400:
            return Finding(
                "request_succeeded",
                "info",
                f"TrackingID {tracking_id} succeeded",
                f"{e.method} {e.path} at {fmt.when(e.time)} answered {e.status}.",
                [fmt.request_line(e)],
                tracking_ids=[tracking_id],
            )
        undefined = e.undefined_attribute
        return _about(
            "undefined_attribute" if undefined else mode_for_scim_answer(e.status, e.scim_type),
            tracking_id,
            f"The SCIM request {e.method} {e.path} at {fmt.when(e.time)}"
            + (f" from {e.client}" if e.client else "")
            + f" was answered {e.status}"
            + (f" ({e.scim_type})." if e.scim_type else ".")
            + (
                f" It sets '{undefined}'"
                + (f" for '{e.subject}'" if e.subject else "")
                + ", which this organisation has not defined."
                if undefined
                else ""
            ),
            [fmt.request_line(x) for x in entries],
        )
    return Finding(
        "tracking_id_not_found",
        "info",
        f"TrackingID {tracking_id} not found",
        "No integration failure or SCIM request of this organisation carries this "
        "tracking id. Check the organisation, and that it is copied whole "
        "(PREFIX_uuid_n).",
        tracking_ids=[tracking_id],
    )


def _about(mode_id: str | None, tracking_id: str, what: str, evidence: list[str]) -> Finding:
    if mode_id is None:
        return Finding(
            "unclassified",
            "warning",
            f"TrackingID {tracking_id}",
            what,
            evidence,
            tracking_ids=[tracking_id],
        )
    mode = BY_ID[mode_id]
    return Finding(
        mode.id,
        "error",
        f"TrackingID {tracking_id}: {mode.title}",
        f"{what} This means: {mode.title.lower()}. {mode.detection}",
        evidence,
        list(mode.remediation),
        tracking_ids=[tracking_id],
    )
