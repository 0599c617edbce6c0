"""What the integration writes to the hub's audit trail, defined once. The stored text is
each member's value: existing rows, the console's audit log and the troubleshooter (which
reads some of them as recoveries) depend on it, so a value is never reworded."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from ...directory.actor import Actor
from ...directory.audit import Audit


class AuditAction(StrEnum):
    CONSENT_DECLINED = "Azure AD admin consent declined"
    CONSENT_GRANTED = "Azure AD admin consent granted"
    TENANT_REFUSED = "Azure AD tenant refused: connected to another organization"
    INSTANCE_CONNECTED = "Azure AD instance connected"
    INSTANCE_DISCONNECTED = "Azure AD instance disconnected"
    AUTO_SYNC_ON = "Azure AD auto sync on"
    AUTO_SYNC_OFF = "Azure AD auto sync off"
    SYNC_NOW = "Azure AD sync now"
    PULL_SYNC = "Azure AD pull sync"
    PROVISION_ON_DEMAND = "Azure AD provision on demand"
    SCOPE_CHANGED = "Azure AD scope changed"
    MAPPINGS_CHANGED = "Azure AD attribute mappings changed"
    SCIM_TOKEN_RENEWED = "Azure AD SCIM token renewed"
    ALLOW_SYNC_ENABLED = "Allow Azure AD sync enabled"
    ALLOW_SYNC_DISABLED = "Allow Azure AD sync disabled"
    CONFIGURATION_RESTORED = "Azure AD configuration restored"
    APP_RECREATED = "Provisioning app recreated from saved configuration"
    JOB_RECREATED = "Provisioning job recreated from saved configuration"

    @classmethod
    def auto_sync(cls, enabled: bool) -> AuditAction:
        return cls.AUTO_SYNC_ON if enabled else cls.AUTO_SYNC_OFF

    @classmethod
    def allow_sync(cls, enabled: bool) -> AuditAction:
        return cls.ALLOW_SYNC_ENABLED if enabled else cls.ALLOW_SYNC_DISABLED


def record(
    audit: Audit,
    org_id: str,
    actor: Actor,
    action: AuditAction,
    *,
    target: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """One of the integration's audit events, with the actor's tracking id."""
    audit.record(
        org_id, actor.name, action, target=target, detail=detail, tracking_id=actor.tracking_id
    )
