"""The automatic fixes findings offer, each a thin call into the integration service so
the doctor repairs exactly as the console's own buttons do (same audit trail)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..directory.actor import Actor
from ..integrations.entra.errors import IntegrationError
from ..integrations.entra.lookup import saved_instance
from .catalogue import FIXES
from .evidence import Services
from .report import Report


@dataclass(frozen=True, slots=True)
class FixResult:
    fix: str
    instance_id: str | None
    ok: bool
    message: str


def apply_fix(
    services: Services,
    org_id: str,
    fix: str,
    *,
    actor: Actor,
    hub_url: str,
    instance_id: str | None = None,
) -> FixResult:
    """Run one fix; a refusal from Entra is a result to show, not an exception."""
    if fix not in FIXES:
        return FixResult(fix, instance_id, False, f"Unknown fix '{fix}'.")
    if fix != "allow_sync" and instance_id is None:
        return FixResult(fix, None, False, "This fix needs the instance it applies to.")
    run: dict[str, Callable[[], object]] = {
        "allow_sync": lambda: services.entra.control.allow_sync(
            org_id, True, actor, hub_url=hub_url
        ),
        "restore": lambda: services.entra.provisioning.restore(
            saved_instance(services.instances, org_id, str(instance_id)), actor, hub_url=hub_url
        ),
        "rotate_scim_token": lambda: services.entra.provisioning.renew_scim_token(
            org_id, str(instance_id), actor, hub_url=hub_url
        ),
        "restart_job": lambda: services.entra.control.sync_now(org_id, str(instance_id), actor),
    }
    try:
        run[fix]()
    except IntegrationError as err:
        upstream = f" ({err.upstream.code})" if err.upstream.code else ""
        return FixResult(fix, instance_id, False, f"{err.description}{upstream}")
    return FixResult(fix, instance_id, True, FIXES[fix])


def apply_all(services: Services, report: Report, *, actor: Actor, hub_url: str) -> list[FixResult]:
    """Every automatic fix the report offers, once per (fix, instance)."""
    wanted = dict.fromkeys((f.fix, f.instance_id) for f in report.findings if f.fix)
    return [
        apply_fix(services, report.org_id, fix, actor=actor, hub_url=hub_url, instance_id=iid)
        for fix, iid in wanted
    ]
