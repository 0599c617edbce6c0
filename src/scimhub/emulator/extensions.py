"""Directory extension attributes: properties an application registers
(`POST /applications/{id}/extensionProperties`), which then exist on the tenant's users as
`extension_<appId without dashes>_<name>`, set by `PATCH /users/{id}` and read with
`$select`. Values are checked against the property's dataType as Graph checks them."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, delete, or_, select

from .db import new_id, now_iso
from .directory import DirectoryError, require_user, update_user
from .schema import extension_properties, service_principals, user_extensions

DATA_TYPES = ("Binary", "Boolean", "DateTime", "Integer", "LargeInteger", "String")
TARGET_OBJECTS = ("User", "Group", "AdministrativeUnit", "Application", "Device", "Organization")
PREFIX = "extension_"
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
MAX_NAME = 120  # Graph's limit on the full name, prefix and app id included
MAX_STRING = 256
_INT32 = (-(2**31), 2**31 - 1)


def full_name(app_id: str, name: str) -> str:
    return f"{PREFIX}{app_id.replace('-', '')}_{name}"


def is_extension(prop: str) -> bool:
    return prop.startswith(PREFIX)


def _bad(message: str) -> DirectoryError:
    return DirectoryError(message, "Request_BadRequest")


def add_property(conn: Connection, app: Row[Any], body: dict[str, Any]) -> Row[Any]:
    """Register a property on `app` (the application row) in the app's own tenant."""
    name, data_type = body.get("name"), body.get("dataType")
    multi, targets = body.get("isMultiValued", False), body.get("targetObjects")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise _bad("Invalid value specified for property 'name' of resource 'ExtensionProperty'.")
    if data_type not in DATA_TYPES:
        raise _bad(
            "Invalid value specified for property 'dataType' of resource 'ExtensionProperty'."
        )
    if not isinstance(multi, bool):
        raise _bad(
            "Invalid value specified for property 'isMultiValued' of resource 'ExtensionProperty'."
        )
    if (
        not isinstance(targets, list)
        or not targets
        or any(t not in TARGET_OBJECTS for t in targets)
    ):
        raise _bad(
            "Invalid value specified for property 'targetObjects' of resource 'ExtensionProperty'."
        )
    full = full_name(app.app_id, name)
    if len(full) > MAX_NAME:
        raise _bad(f"The extension property name may be at most {MAX_NAME} characters long.")
    if find_property(conn, app.tenant_id, full) is not None:
        raise _bad(f"An extension property exists with the name {full}.")
    pid = new_id()
    conn.execute(
        extension_properties.insert().values(
            id=pid,
            tenant_id=app.tenant_id,
            app_id=app.app_id,
            name=full,
            data_type=data_type,
            is_multi_valued=multi,
            target_objects=list(dict.fromkeys(targets)),
            created_at=now_iso(),
        )
    )
    return conn.execute(select(extension_properties).where(extension_properties.c.id == pid)).one()


def app_properties(conn: Connection, app_id: str) -> list[Row[Any]]:
    c = extension_properties.c
    return list(
        conn.execute(select(extension_properties).where(c.app_id == app_id).order_by(c.name))
    )


def find_property(conn: Connection, tenant_id: str, name: str) -> Row[Any] | None:
    c = extension_properties.c
    return conn.execute(
        select(extension_properties).where(c.tenant_id == tenant_id, c.name == name)
    ).first()


def delete_property(conn: Connection, app_id: str, property_id: str) -> None:
    """The property and every value of it: Graph no longer returns them once it is gone."""
    c = extension_properties.c
    row = conn.execute(
        select(extension_properties).where(c.app_id == app_id, c.id == property_id)
    ).first()
    if row is None:
        raise DirectoryError(
            f"Resource '{property_id}' does not exist or one of its queried reference-property "
            "objects are not present.",
            "Request_ResourceNotFound",
            404,
        )
    # the name carries the app id: the same values in every tenant that used them
    conn.execute(delete(user_extensions).where(user_extensions.c.name == row.name))
    conn.execute(delete(extension_properties).where(c.id == row.id))


def user_property_names(conn: Connection, tenant_id: str) -> dict[str, Row[Any]]:
    """The properties users of the tenant may carry, by lower-cased name: those of the
    tenant's own applications, and those of a multi-tenant application wherever it has
    a service principal (as Entra makes them available once the app is consented)."""
    c, sp = extension_properties.c, service_principals.c
    consented = select(sp.app_id).where(sp.tenant_id == tenant_id, sp.deleted_at.is_(None))
    rows = conn.execute(
        select(extension_properties).where(or_(c.tenant_id == tenant_id, c.app_id.in_(consented)))
    )
    return {r.name.lower(): r for r in rows if "User" in r.target_objects}


def property_to_graph(row: Row[Any], app_display_name: str) -> dict[str, Any]:
    return {
        "id": row.id,
        "deletedDateTime": None,
        "appDisplayName": app_display_name,
        "dataType": row.data_type,
        "isMultiValued": row.is_multi_valued,
        "isSyncedFromOnPremises": False,
        "name": row.name,
        "targetObjects": row.target_objects,
    }


def _scalar(prop: Row[Any], value: Any) -> bool:
    kind = prop.data_type
    if kind == "Boolean":
        return isinstance(value, bool)
    if kind in ("Integer", "LargeInteger"):
        if isinstance(value, bool) or not isinstance(value, int):
            return False
        return kind == "LargeInteger" or _INT32[0] <= value <= _INT32[1]
    if not isinstance(value, str):
        return False
    if kind == "DateTime":
        try:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return False
    return kind != "String" or len(value) <= MAX_STRING


def check_value(prop: Row[Any], value: Any) -> None:
    """Raise Graph's 400 for a value the property's dataType does not hold."""
    values = value if prop.is_multi_valued and isinstance(value, list) else [value]
    if (isinstance(value, list) and not prop.is_multi_valued) or not all(
        _scalar(prop, v) for v in values
    ):
        raise _bad(f"Invalid value specified for property '{prop.name}' of resource 'User'.")


def parse_text(prop: Row[Any], raw: str) -> Any:
    """A value typed at the admin CLI, read as the property's dataType."""
    if prop.data_type == "Boolean" and raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    if prop.data_type in ("Integer", "LargeInteger") and re.fullmatch(r"-?\d+", raw):
        return int(raw)
    return raw


def update_user_with_extensions(
    conn: Connection, tenant_id: str, ref: str, attrs: dict[str, Any]
) -> str:
    """`update_user` that also takes extension properties (null clears one). Any change
    bumps the user's version, so delta and the provisioning service pick it up."""
    standard = {k: v for k, v in attrs.items() if not is_extension(k)}
    extended = {k: v for k, v in attrs.items() if is_extension(k)}
    if not extended:
        return update_user(conn, tenant_id, ref, standard)
    user = require_user(conn, tenant_id, ref)
    known = user_property_names(conn, tenant_id)
    for name, value in extended.items():
        prop = known.get(name.lower())
        if prop is None:
            raise _bad(f"Property '{name}' does not exist or cannot be set.")
        if value is not None:
            check_value(prop, value)
    for name, value in extended.items():
        prop = known[name.lower()]
        key = (user_extensions.c.user_id == user.id, user_extensions.c.name == prop.name)
        conn.execute(delete(user_extensions).where(*key))
        if value is not None and value != []:
            conn.execute(
                user_extensions.insert().values(
                    user_id=user.id, name=prop.name, tenant_id=tenant_id, value={"v": value}
                )
            )
    return update_user(conn, tenant_id, user.id, standard)


def user_values(conn: Connection, user_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Each user's extension values by property name (users without any are left out)."""
    out: dict[str, dict[str, Any]] = {}
    for start in range(0, len(user_ids), 500):
        chunk = user_ids[start : start + 500]
        for r in conn.execute(select(user_extensions).where(user_extensions.c.user_id.in_(chunk))):
            out.setdefault(r.user_id, {})[r.name] = r.value["v"]
    return out
