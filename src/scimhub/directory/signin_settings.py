"""An organisation's "Sign in with Microsoft": whether it is on, the one Entra tenant its
administrators sign in from, where their console role comes from (app role values in the
ID token's `roles` claim, or group object ids in its `groups` claim), and whether local
passwords still work. Kept as the org's `entra_signin` setting (JSON), checked here.

Passwords can be switched off only while sign-in with Microsoft is on, so an organisation
is never left without a way in; the operator's CLI can always switch them back on (the
break-glass path), and switching them off ends the org's password sessions.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, replace
from enum import StrEnum
from typing import Any

from .actor import Actor
from .audit import Audit
from .orgs import Orgs
from .roles import Role

SETTING = "entra_signin"
DEFAULT_ADMIN_ROLE = "scimhub.Admin"
DEFAULT_READONLY_ROLE = "scimhub.ReadOnly"
_MAX_VALUES = 20  # role values or groups per console role
_MAX_VALUE_LENGTH = 120  # Entra's app role values are at most 120 characters


class RolesFrom(StrEnum):
    APP_ROLES = "app-roles"  # the `roles` claim: app roles assigned to the user
    GROUPS = "groups"  # the `groups` claim: object ids of the user's groups


class SignInSettingsError(ValueError):
    """The settings cannot be saved as asked; the message says why."""


def _guid(value: str, what: str) -> str:
    try:
        return str(uuid.UUID(value.strip()))
    except (ValueError, AttributeError):
        raise SignInSettingsError(f"{what} must be a GUID, got '{value}'") from None


def _values(raw: Any, what: str, *, guids: bool) -> tuple[str, ...]:
    items = [raw] if isinstance(raw, str) else list(raw or ())
    if len(items) > _MAX_VALUES:
        raise SignInSettingsError(f"at most {_MAX_VALUES} {what}")
    out = []
    for item in items:
        if not isinstance(item, str) or not item.strip():
            raise SignInSettingsError(f"{what} must be non-empty strings")
        text = item.strip()
        if guids:
            text = _guid(text, what)
        elif len(text) > _MAX_VALUE_LENGTH:
            raise SignInSettingsError(f"{what} are at most {_MAX_VALUE_LENGTH} characters")
        out.append(text)
    return tuple(dict.fromkeys(out))


@dataclass(frozen=True, slots=True)
class EntraSignIn:
    enabled: bool = False
    tenant_id: str | None = None
    roles_from: RolesFrom = RolesFrom.APP_ROLES
    admin_roles: tuple[str, ...] = (DEFAULT_ADMIN_ROLE,)
    readonly_roles: tuple[str, ...] = (DEFAULT_READONLY_ROLE,)
    admin_groups: tuple[str, ...] = ()
    readonly_groups: tuple[str, ...] = ()
    local_passwords: bool = True

    def role_for(self, roles: Iterable[str], groups: Iterable[str]) -> Role | None:
        """The console role the ID token's claims map to (full admin wins over read-only),
        or None: the user may not sign in to this organisation."""
        if self.roles_from is RolesFrom.APP_ROLES:
            held = set(roles)  # app role values are compared exactly, as Entra issues them
            admin, readonly = set(self.admin_roles), set(self.readonly_roles)
        else:
            held = {g.lower() for g in groups}
            admin, readonly = set(self.admin_groups), set(self.readonly_groups)
        if held & admin:
            return Role.ADMIN
        if held & readonly:
            return Role.READONLY
        return None

    def as_json(self) -> dict[str, Any]:
        doc = asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in doc.items()}

    @classmethod
    def from_json(cls, raw: Mapping[str, Any] | None) -> EntraSignIn:
        """The stored setting (None: never configured), checked as if it were new."""
        return cls().changed(**dict(raw or {}))

    def changed(self, **changes: Any) -> EntraSignIn:
        """These settings with `changes` applied, or SignInSettingsError."""
        unknown = set(changes) - set(self.as_json())
        if unknown:
            raise SignInSettingsError(f"unknown sign-in setting '{sorted(unknown)[0]}'")
        values: dict[str, Any] = {}
        for key, raw in changes.items():
            if key in ("enabled", "local_passwords"):
                if not isinstance(raw, bool):
                    raise SignInSettingsError(f"'{key}' must be true or false")
                values[key] = raw
            elif key == "tenant_id":
                values[key] = _guid(raw, "the tenant id") if raw else None
            elif key == "roles_from":
                try:
                    values[key] = RolesFrom(raw)
                except ValueError:
                    raise SignInSettingsError("roles come from app-roles or groups") from None
            elif key in ("admin_roles", "readonly_roles"):
                values[key] = _values(raw, "app role values", guids=False)
            else:
                values[key] = tuple(g.lower() for g in _values(raw, "group ids", guids=True))
        result = replace(self, **values)
        result._check()
        return result

    def _check(self) -> None:
        if self.enabled and not self.tenant_id:
            raise SignInSettingsError("sign-in with Microsoft needs the organization's tenant id")
        groups = self.admin_groups or self.readonly_groups
        if self.enabled and self.roles_from is RolesFrom.GROUPS and not groups:
            raise SignInSettingsError("roles from groups need an admin group or a read-only group")
        values = self.admin_roles or self.readonly_roles
        if self.enabled and self.roles_from is RolesFrom.APP_ROLES and not values:
            raise SignInSettingsError("roles from app roles need an admin or a read-only value")
        if not self.local_passwords and not self.enabled:
            raise SignInSettingsError(
                "local passwords can be switched off only while sign-in with Microsoft is "
                "on: otherwise nobody could sign in"
            )


def of_org_settings(settings: Mapping[str, Any]) -> EntraSignIn:
    """The sign-in settings held in an org's settings document. A stored value that no
    longer passes the checks (hand-edited) counts as unset: passwords on, Entra off."""
    try:
        return EntraSignIn.from_json(settings.get(SETTING))
    except SignInSettingsError:
        return EntraSignIn()


class SignInSettings:
    def __init__(
        self, orgs: Orgs, audit: Audit, *, end_password_sessions: Callable[[str], int]
    ) -> None:
        """`end_password_sessions`: `Sessions.end_password_sessions` (passed in, since the
        sessions module reads the accounts, which read these settings)."""
        self.orgs = orgs
        self.audit = audit
        self.end_password_sessions = end_password_sessions

    def get(self, org_id: str) -> EntraSignIn:
        """Raises OrgNotFound for an unknown org."""
        return of_org_settings(self.orgs.get(org_id).settings)

    def configure(self, org_id: str, actor: Actor, **changes: Any) -> EntraSignIn:
        """Apply and store the changes (SignInSettingsError when they do not hold), audited
        with what changed; switching passwords off ends the org's password sessions."""
        before = self.get(org_id)
        after = before.changed(**changes)
        self.orgs.update_setting(org_id, SETTING, after.as_json())
        old, new = before.as_json(), after.as_json()
        detail: dict[str, Any] = {k: new[k] for k in new if new[k] != old[k]}
        if before.local_passwords and not after.local_passwords:
            detail["password_sessions_ended"] = self.end_password_sessions(org_id)
        self.audit.record(
            org_id, actor.name, "signin.configured", detail=detail, tracking_id=actor.tracking_id
        )
        return after
