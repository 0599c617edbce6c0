"""An organisation's own attributes: defining them, and the organisation's resource types
(the built-in User and Group with its extensions added) that every SCIM path works with.

Resource types are cached per process for `cache_seconds`: a SCIM request then costs no
query for them. A definition added or removed here is seen at once in this process, and
within `cache_seconds` in the others (the CLI, other API processes, workers).
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Text, cast, delete, func, select
from sqlalchemy.exc import IntegrityError

from ..scim.custom import AttributeType, Definition, check, extension_schemas
from ..scim.errors import Conflict, InvalidValue, NotFound
from ..scim.schemas import GROUP, USER, Attribute, ResourceType, Schema
from ..scim.values import coerce
from ..store import custom_values
from ..store.custom_values import Indexed
from ..store.engine import Database, as_utc, utcnow
from ..store.errors import is_unique_violation
from ..store.filter_sql import AttributeIds
from ..store.tables import custom_attributes, groups, users
from ..store.tables import custom_values as values_table
from .actor import Actor
from .audit import Audit
from .orgs import Orgs

_BUILT_IN = {"User": USER, "Group": GROUP}


@dataclass(frozen=True, slots=True)
class Defined:
    """A definition as stored: its id and when it was made."""

    id: str
    definition: Definition
    created: datetime

    def as_json(self) -> dict[str, Any]:
        d = self.definition
        return {
            "id": self.id,
            "resource": d.resource_type,
            "schema": d.schema,
            "name": d.name,
            "path": d.path,
            "type": d.type.value,
            "multiValued": d.multi_valued,
            "caseExact": d.case_exact,
            "uniqueness": "server" if d.unique else "none",
            "required": d.required,
            "description": d.description,
            "created": self.created.isoformat().replace("+00:00", "Z"),
        }


@dataclass(frozen=True, slots=True)
class OrgTypes:
    """One organisation's resource types and the ids of its attributes."""

    user: ResourceType
    group: ResourceType
    attributes: tuple[Defined, ...] = ()
    _ids: dict[tuple[str, str, str], str] = field(default_factory=dict)

    def of(self, name: str) -> ResourceType:
        return self.user if name == "User" else self.group

    def indexed(self, resource_type: str) -> list[Indexed]:
        """The attributes of one resource type whose values the store indexes."""
        return [
            Indexed(d.id, d.definition)
            for d in self.attributes
            if d.definition.resource_type == resource_type
        ]

    def attribute_ids(self, resource_type: str) -> AttributeIds:
        def find(schema: Schema, attr: Attribute) -> str | None:
            return self._ids.get((resource_type, schema.id.lower(), attr.name.lower()))

        return find

    def keep_values(
        self,
        conn: Connection,
        resource_type: str,
        resource_id: str,
        doc: dict[str, Any],
        before: dict[str, Any] | None = None,
    ) -> None:
        """Index a written document's custom values, in its write's transaction (`before`:
        the document it replaced). Costs nothing when the organisation has no attributes
        of the type or a change left them alone. Raises Uniqueness, InvalidValue."""
        indexed = self.indexed(resource_type)
        if not indexed:
            return
        if before is not None and all(_value(before, i) == _value(doc, i) for i in indexed):
            return
        custom_values.write(conn, indexed, resource_id, doc, replace=before is not None)

    def drop_values(self, conn: Connection, resource_type: str, resource_id: str) -> None:
        if self.indexed(resource_type):
            custom_values.drop(conn, resource_id)


def _value(doc: dict[str, Any], indexed: Indexed) -> Any:
    return doc.get(indexed.definition.schema, {}).get(indexed.definition.name)


_PLAIN = OrgTypes(USER, GROUP)


class AttributeExists(Conflict):
    pass


class AttributeInUse(Conflict):
    """Removing an attribute that resources still hold would leave values no schema
    describes: they are cleared first, on request."""


class Audited(StrEnum):
    DEFINED = "Custom attribute defined"
    REMOVED = "Custom attribute removed"
    UNDECLARED = "Undeclared attributes setting changed"


class CustomAttributes:
    def __init__(
        self, db: Database, orgs: Orgs, audit: Audit, *, cache_seconds: float = 5.0
    ) -> None:
        self.db = db
        self.orgs = orgs
        self.audit = audit
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, OrgTypes]] = {}
        self._lock = threading.Lock()

    def types(self, org_id: str) -> OrgTypes:
        now = time.monotonic()
        cached = self._cache.get(org_id)
        if cached is not None and cached[0] > now:
            return cached[1]
        defined = self.definitions(org_id)
        keep = self.keeps_undeclared(org_id)
        types = _build(defined, keep)
        with self._lock:
            self._cache[org_id] = (now + self.cache_seconds, types)
        return types

    def resource_type(self, org_id: str, name: str) -> ResourceType:
        return self.types(org_id).of(name)

    def definitions(self, org_id: str, resource_type: str | None = None) -> list[Defined]:
        t = custom_attributes
        query = select(t).where(t.c.org_id == org_id).order_by(t.c.created, t.c.id)
        if resource_type is not None:
            query = query.where(t.c.resource_type == resource_type)
        with self.db.read() as conn:
            return [_defined(r) for r in conn.execute(query)]

    def keeps_undeclared(self, org_id: str) -> bool:
        """Whether the org keeps extension attributes it has not defined (else refuses them)."""
        return bool(self.orgs.get(org_id).setting("undeclared_attributes") == "keep")

    def keep_undeclared(self, org_id: str, keep: bool, *, actor: Actor | None = None) -> None:
        """Keep (or refuse again) undeclared extension attributes. Values kept before a
        refusal stay in their documents, returned, until a write replaces them."""
        value = "keep" if keep else "refuse"
        self.orgs.update_setting(org_id, "undeclared_attributes", value)
        self._forget(org_id)
        self._audit(org_id, actor, Audited.UNDECLARED, None, {"undeclared": value})

    def get(self, org_id: str, attribute_id: str) -> Defined:
        t = custom_attributes
        with self.db.read() as conn:
            row = conn.execute(
                select(t).where(t.c.org_id == org_id, t.c.id == attribute_id)
            ).first()
        if row is None:
            raise NotFound(f"attribute {attribute_id[:64]} not found")
        return _defined(row)

    def add(self, org_id: str, definition: Definition, *, actor: Actor | None = None) -> Defined:
        """Define an attribute. Raises InvalidValue (not usable), AttributeExists.

        A new attribute cannot be required: resources stored before it would break the
        rule at their next write, through no change of their own."""
        check(definition)
        if definition.required:
            raise InvalidValue(
                "a new attribute cannot be required: existing resources have no value for it"
            )
        defined = Defined(str(uuid.uuid4()), definition, utcnow())
        d = definition
        try:
            with self.db.write() as conn:
                conn.execute(
                    custom_attributes.insert().values(
                        id=defined.id,
                        org_id=org_id,
                        resource_type=d.resource_type,
                        schema_urn=d.schema,
                        name=d.name,
                        path_ci=d.path.lower(),
                        type=d.type.value,
                        multi_valued=d.multi_valued,
                        case_exact=d.case_exact,
                        is_unique=d.unique,
                        required=d.required,
                        description=d.description,
                        created=defined.created,
                    )
                )
                _index_kept(conn, org_id, defined)
        except IntegrityError as exc:
            if is_unique_violation(exc):
                raise AttributeExists(
                    f"'{d.path}' is already defined for this organisation's {d.resource_type}s"
                ) from None
            raise
        self._forget(org_id)
        self._audit(org_id, actor, Audited.DEFINED, d.path, defined.as_json())
        return defined

    def holders(self, org_id: str, attribute_id: str) -> list[str]:
        """The ids of the resources holding a value of the attribute."""
        self.get(org_id, attribute_id)  # NotFound for another organisation's attribute
        with self.db.read() as conn:
            return list(
                conn.execute(
                    select(values_table.c.resource_id)
                    .where(values_table.c.attribute_id == attribute_id)
                    .distinct()
                ).scalars()
            )

    def remove(self, org_id: str, attribute_id: str, *, actor: Actor | None = None) -> Defined:
        """Remove a definition no resource holds a value of. Raises NotFound, AttributeInUse."""
        defined = self.get(org_id, attribute_id)
        t = custom_attributes
        with self.db.write() as conn:
            held = conn.execute(
                select(func.count(func.distinct(values_table.c.resource_id))).where(
                    values_table.c.attribute_id == attribute_id
                )
            ).scalar_one()
            if held:
                raise AttributeInUse(
                    f"{held} {defined.definition.resource_type.lower()}(s) hold a value of "
                    f"'{defined.definition.path}': clear them first (remove with purge)"
                )
            conn.execute(delete(t).where(t.c.org_id == org_id, t.c.id == attribute_id))
        self._forget(org_id)
        self._audit(org_id, actor, Audited.REMOVED, defined.definition.path, {"id": defined.id})
        return defined

    def _audit(
        self,
        org_id: str,
        actor: Actor | None,
        action: Audited,
        target: str | None,
        detail: dict[str, Any],
    ) -> None:
        """An admin's change, in the audit trail (internal callers pass no actor)."""
        if actor is not None:
            self.audit.record(
                org_id,
                actor.name,
                action,
                target=target,
                detail=detail,
                tracking_id=actor.tracking_id,
            )

    def _forget(self, org_id: str) -> None:
        with self._lock:
            self._cache.pop(org_id, None)


def _index_kept(conn: Connection, org_id: str, defined: Defined) -> None:
    """Index the values documents already hold under a new attribute's path: kept as sent
    while the organisation kept undeclared attributes. Raises InvalidValue when one is not
    of the attribute's type (defining it must not leave values it cannot describe),
    Uniqueness when a unique attribute's values collide."""
    d = defined.definition
    table = users if d.resource_type == "User" else groups
    urn = d.schema.lower()
    needle = "%" + urn.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    candidates = conn.execute(
        select(table.c.id, table.c.data).where(
            table.c.org_id == org_id,
            func.lower(cast(table.c.data, Text)).like(needle, escape="\\"),
        )
    )
    attribute, indexed, refused = d.attribute(), [Indexed(defined.id, d)], []
    for resource_id, data in candidates:
        value = _kept_value(data, urn, d.name.lower())
        if value is None:
            continue
        try:
            coerced = coerce(attribute, value, d.path)
        except InvalidValue:
            refused.append(resource_id)
            continue
        custom_values.write(
            conn, indexed, resource_id, {d.schema: {d.name: coerced}}, replace=False
        )
    if refused:
        raise InvalidValue(
            f"{len(refused)} {d.resource_type.lower()}(s) hold values of '{d.path}' that are "
            f"not of type {d.type.value} (for example {refused[0]}): correct or clear them, "
            "or define the attribute with another type"
        )


def _kept_value(data: dict[str, Any], urn: str, name: str) -> Any:
    for key, block in data.items():
        if key.lower() == urn and isinstance(block, dict):
            return next((v for k, v in block.items() if k.lower() == name), None)
    return None


def _defined(r: Any) -> Defined:
    return Defined(
        r.id,
        Definition(
            resource_type=r.resource_type,
            schema=r.schema_urn,
            name=r.name,
            type=AttributeType(r.type),
            multi_valued=r.multi_valued,
            case_exact=r.case_exact,
            unique=r.is_unique,
            required=r.required,
            description=r.description,
        ),
        as_utc(r.created),
    )


def _build(defined: list[Defined], keep: bool) -> OrgTypes:
    if not defined and not keep:
        return _PLAIN
    types = {
        name: base.with_extensions(
            extension_schemas(d.definition for d in defined if d.definition.resource_type == name),
            keep=keep,
        )
        for name, base in _BUILT_IN.items()
    }
    ids = {
        (d.definition.resource_type, d.definition.schema.lower(), d.definition.name.lower()): d.id
        for d in defined
    }
    return OrgTypes(types["User"], types["Group"], tuple(defined), ids)
