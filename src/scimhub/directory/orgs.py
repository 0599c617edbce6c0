"""Organisations (tenants of the hub) and their settings.

Creating and renaming one is audited, when the caller says who asks (`actor`), in the
platform's trail (`audit_events` rows with no `org_id`): the organisation's own trail is
its data, removed with it, while the platform's outlives it (`org_removal.py`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from ..store.engine import Database, as_utc, utcnow
from ..store.tables import orgs
from .actor import Actor
from .audit import Audit
from .errors import OrgNotFound

MAX_NAME_LENGTH = 256  # the column's

# Settings an admin may change, with their defaults and allowed values (or a check of
# their shape, for a setting its own module validates and parses).
SETTINGS: dict[str, tuple[Any, tuple[Any, ...] | Callable[[Any], bool]]] = {
    # RFC 7644 §3.5.2 lets a service answer PATCH with 200 and the resource or 204;
    # Entra's gallery apps are expected to answer group PATCH with 204.
    "group_patch_status": (200, (200, 204)),
    # "Allow Azure AD sync": off pauses every Entra instance's job, on restores them.
    "allow_azure_sync": (True, (True, False)),
    # Extension attributes the organisation has not defined: refused (400 naming them and
    # where to define them) or kept as sent (returned, not filterable). docs/scim.md.
    "undeclared_attributes": ("refuse", ("refuse", "keep")),
    # The brake on mass removal by pull sync (deletion_brake.Threshold as JSON); None: the
    # default threshold.
    "deletion_threshold": (None, lambda value: value is None or isinstance(value, dict)),
    # Sign in with Microsoft and local passwords (signin_settings.EntraSignIn as JSON);
    # None: never configured (passwords only).
    "entra_signin": (None, lambda value: value is None or isinstance(value, dict)),
}


@dataclass(frozen=True, slots=True)
class Org:
    id: str
    name: str
    settings: dict[str, Any]
    created: datetime

    def setting(self, key: str) -> Any:
        return self.settings.get(key, SETTINGS[key][0])


def _org(row: Any) -> Org:
    return Org(row.id, row.name, dict(row.settings), as_utc(row.created))


class Orgs:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, name: str, *, actor: Actor | None = None) -> Org:
        """A new organisation (raises ValueError for a blank or too long name)."""
        org = Org(str(uuid.uuid4()), _name(name), {}, utcnow())
        with self.db.write() as conn:
            conn.execute(
                orgs.insert().values(id=org.id, name=org.name, settings={}, created=org.created)
            )
            if actor is not None:
                _platform_audit(self.db, conn, actor, "org.created", org, {"name": org.name})
        return org

    def rename(self, org_id: str, name: str, *, actor: Actor | None = None) -> Org:
        """Raises OrgNotFound, ValueError for a blank or too long name."""
        new_name = _name(name)
        with self.db.write() as conn:
            row = conn.execute(select(orgs).where(orgs.c.id == org_id)).first()
            if row is None:
                raise OrgNotFound(org_id)
            conn.execute(orgs.update().where(orgs.c.id == org_id).values(name=new_name))
            renamed = Org(row.id, new_name, dict(row.settings), as_utc(row.created))
            if actor is not None and row.name != new_name:
                detail = {"from": row.name, "to": new_name}
                _platform_audit(self.db, conn, actor, "org.renamed", renamed, detail)
        return renamed

    def get(self, org_id: str) -> Org:
        with self.db.read() as conn:
            row = conn.execute(select(orgs).where(orgs.c.id == org_id)).first()
        if row is None:
            raise OrgNotFound(org_id)
        return _org(row)

    def exists(self, org_id: str) -> bool:
        with self.db.read() as conn:
            return conn.execute(select(orgs.c.id).where(orgs.c.id == org_id)).first() is not None

    def page(self, *, limit: int, offset: int) -> tuple[list[Org], int]:
        """Oldest first, and how many there are."""
        with self.db.read() as conn:
            total = conn.execute(select(func.count()).select_from(orgs)).scalar_one()
            rows = conn.execute(
                select(orgs).order_by(orgs.c.created, orgs.c.id).offset(offset).limit(limit)
            ).all()
        return [_org(r) for r in rows], int(total)

    def list(self) -> list[Org]:
        with self.db.read() as conn:
            rows = conn.execute(select(orgs).order_by(orgs.c.created, orgs.c.id)).all()
        return [_org(r) for r in rows]

    def update_setting(self, org_id: str, key: str, value: Any) -> Org:
        if key not in SETTINGS:
            raise ValueError(f"unknown setting '{key}'")
        allowed = SETTINGS[key][1]
        if callable(allowed):
            if not allowed(value):
                raise ValueError(f"'{key}' has not the shape it needs")
        elif value not in allowed:
            raise ValueError(f"'{key}' must be one of {', '.join(map(str, allowed))}")
        with self.db.write() as conn:
            row = conn.execute(select(orgs).where(orgs.c.id == org_id)).first()
            if row is None:
                raise OrgNotFound(org_id)
            settings = {**row.settings, key: value}
            conn.execute(orgs.update().where(orgs.c.id == org_id).values(settings=settings))
        return self.get(org_id)


def _name(name: str) -> str:
    name = name.strip()
    if not name:
        raise ValueError("an organisation needs a name")
    if len(name) > MAX_NAME_LENGTH:
        raise ValueError(f"an organisation's name has at most {MAX_NAME_LENGTH} characters")
    return name


def _platform_audit(
    db: Database, conn: Any, actor: Actor, action: str, org: Org, detail: dict[str, Any]
) -> None:
    Audit(db).record(
        None,
        actor.name,
        action,
        target=org.id,
        detail=detail,
        tracking_id=actor.tracking_id,
        conn=conn,
    )
