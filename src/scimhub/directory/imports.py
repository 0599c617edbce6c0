"""Applying a page of documents from a sync source (Entra pull sync) in one transaction:
creates and updates by the hundred instead of one transaction per object.

Each document is validated like a SCIM request; one that fails is reported and skipped, the
rest of the page is still applied. A new document whose userName (or group displayName)
already exists in the org adopts that resource instead of failing, so a pull that starts
after a push, or after a crash, never duplicates anyone.

The page's events are recorded in its transaction, in the page's order: `user.created` /
`group.created` for a new resource, and for an update what changed against the stored
document (read once for the page's updates), as a SCIM write would record it. The
documents are located by the caller's `Locator`: the hub's public URL when it is
configured, otherwise `meta.location` is the hub-relative path (`/identity/scim/...`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Connection, Table, and_, bindparam, select, update

from ..scim.errors import ScimError, Uniqueness
from ..scim.resource import normalize
from ..scim.schemas import ResourceType
from ..store.arrays import among
from ..store.engine import Database, utcnow
from ..store.tables import groups, users
from ..store.upsert import insert_rows
from .changes import group_updated, user_updated
from .custom_attributes import CustomAttributes, OrgTypes
from .events import EventType, NewEvent, provisioner, record
from .locator import Locator
from .render import document


@dataclass(frozen=True, slots=True)
class ImportItem:
    key: str  # the source's id for the object (Entra object id)
    resource_id: str | None  # the hub resource it is linked to, if any
    body: dict[str, Any]


@dataclass
class ImportResult:
    ids: dict[str, str] = field(default_factory=dict)  # key -> hub resource id
    created: int = 0
    updated: int = 0
    errors: dict[str, str] = field(default_factory=dict)  # key -> why it was skipped


def _columns(rt: ResourceType, doc: dict[str, Any]) -> dict[str, Any]:
    if rt.is_user:
        return {
            "user_name": doc["userName"],
            "user_name_ci": doc["userName"].lower(),
            "external_id": doc.get("externalId"),
            "display_name": doc.get("displayName"),
            "active": doc.get("active", True),
            "data": doc,
        }
    return {
        "display_name": doc["displayName"],
        "display_name_ci": doc["displayName"].lower(),
        "external_id": doc.get("externalId"),
        "data": doc,
    }


class Imports:
    def __init__(self, db: Database, attributes: CustomAttributes) -> None:
        self.db = db
        self.attributes = attributes

    def users(
        self, org_id: str, items: list[ImportItem], loc: Locator | None = None
    ) -> ImportResult:
        types = self.attributes.types(org_id)
        return _import_page(self.db, types, "User", org_id, items, loc or Locator("", org_id))

    def groups(
        self, org_id: str, items: list[ImportItem], loc: Locator | None = None
    ) -> ImportResult:
        types = self.attributes.types(org_id)
        return _import_page(self.db, types, "Group", org_id, items, loc or Locator("", org_id))


def _import_page(
    db: Database,
    types: OrgTypes,
    kind: str,
    org_id: str,
    items: list[ImportItem],
    loc: Locator,
) -> ImportResult:
    rt = types.of(kind)
    table: Table = users if rt.is_user else groups
    key_column = table.c.user_name_ci if rt.is_user else table.c.display_name_ci
    result = ImportResult()
    prepared: list[tuple[ImportItem, dict[str, Any]]] = []
    seen: set[str] = set()
    for item in items:
        try:
            doc = dict(normalize(rt, item.body).doc)
            if rt.is_user:
                doc.setdefault("active", True)
            values = _columns(rt, doc)
            unique = values["user_name_ci" if rt.is_user else "display_name_ci"]
            if unique in seen:
                raise Uniqueness(f"'{unique}' appears twice in one page")
            seen.add(unique)
            prepared.append((item, values))
        except ScimError as exc:
            result.errors[item.key] = f"{exc.scim_type or exc.status}: {exc.detail}"
    now = utcnow()
    by = provisioner()
    with db.write() as conn:
        names = [v["user_name_ci" if rt.is_user else "display_name_ci"] for _, v in prepared]
        existing = {}
        for i in range(0, len(names), 500):
            existing.update(
                {
                    row[0]: row[1]
                    for row in conn.execute(
                        select(key_column, table.c.id).where(
                            table.c.org_id == org_id,
                            among(key_column, names[i : i + 500], conn.dialect.name),
                        )
                    )
                }
            )
        inserts, updates = [], []
        order: list[tuple[bool, dict[str, Any]]] = []  # (created?, row), for the events
        for item, values in prepared:
            unique = values["user_name_ci" if rt.is_user else "display_name_ci"]
            owner = existing.get(unique)
            rid = item.resource_id
            if rid is not None and owner is not None and owner != rid:
                result.errors[item.key] = f"uniqueness: '{unique}' belongs to another resource"
                continue
            rid = rid or owner
            if rid is None:
                rid = str(uuid.uuid4())
                inserts.append(
                    {
                        "id": rid,
                        "org_id": org_id,
                        **values,
                        "provisioned_by": by,
                        "created": now,
                        "last_modified": now,
                        "version": 1,
                    }
                )
                order.append((True, inserts[-1]))
            else:
                # None (an administrator's import) keeps who provisioned it before.
                updates.append({"b_id": rid, **values, **({"provisioned_by": by} if by else {})})
                order.append((False, updates[-1]))
            result.ids[item.key] = rid
        stored = _stored(conn, table, org_id, [u["b_id"] for u in updates])
        insert_rows(conn, table, inserts)
        if updates:
            stmt = (
                update(table)
                .where(and_(table.c.id == bindparam("b_id"), table.c.org_id == org_id))
                .values(
                    version=table.c.version + 1,
                    last_modified=now,
                    **{k: bindparam(k) for k in updates[0] if k != "b_id"},
                )
            )
            conn.execute(stmt, updates)
        for row in inserts:
            types.keep_values(conn, kind, row["id"], row["data"])
        for row in updates:
            if row["b_id"] in stored:
                types.keep_values(conn, kind, row["b_id"], row["data"], stored[row["b_id"]].data)
        record(conn, org_id, _events(rt, loc, order, stored, now))
    result.created, result.updated = len(inserts), len(updates)
    return result


def _stored(conn: Connection, table: Table, org_id: str, ids: list[str]) -> dict[str, Any]:
    """The rows a page is about to update, as they are: what their events compare with."""
    found: dict[str, Any] = {}
    for i in range(0, len(ids), 500):
        found.update(
            (r.id, r)
            for r in conn.execute(
                select(table.c.id, table.c.data, table.c.created, table.c.version).where(
                    table.c.org_id == org_id, among(table.c.id, ids[i : i + 500], conn.dialect.name)
                )
            )
        )
    return found


def _events(
    rt: ResourceType,
    loc: Locator,
    order: list[tuple[bool, dict[str, Any]]],
    stored: dict[str, Any],
    now: datetime,
) -> list[NewEvent]:
    created = EventType.USER_CREATED if rt.is_user else EventType.GROUP_CREATED
    out: list[NewEvent] = []
    for is_new, row in order:
        if is_new:
            out.append(NewEvent(created, document(SimpleNamespace(**row), rt.name, loc)))
            continue
        old = stored.get(row["b_id"])
        if old is None:  # a link to a resource deleted meanwhile: the UPDATE found nothing
            continue
        new = SimpleNamespace(
            id=old.id,
            data=row["data"],
            created=old.created,
            last_modified=now,
            version=old.version + 1,
        )
        data = document(new, rt.name, loc)
        if rt.is_user:
            out += user_updated(old.data, row["data"], data)
        else:
            out += group_updated(old.data, row["data"], data)
    return out
