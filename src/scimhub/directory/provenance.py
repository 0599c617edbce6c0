"""Which client provisions a user or group, as an administrator reads it: Entra's
provisioning job of an instance (the job writes with the instance's SCIM token), a pull
sync or directory source, or another SCIM client by its token's name (Okta, a script)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import select

from ..store.engine import Database
from ..store.tables import entra_instances, groups, users
from .events import SourceKind


@dataclass(frozen=True, slots=True)
class Provenance:
    kind: str  # SourceKind's value: "scim", "entra", or a directory source's
    label: str  # "Entra provisioning job of Contoso"


class Provenances:
    def __init__(self, db: Database) -> None:
        self.db = db

    def of(
        self, org_id: str, resource_type: Literal["User", "Group"], resource_id: str
    ) -> Provenance | None:
        """None when no client provisioned it (only administrators wrote it, or it
        predates the record)."""
        table = users if resource_type == "User" else groups
        with self.db.read() as conn:
            by: dict[str, Any] | None = conn.execute(
                select(table.c.provisioned_by).where(
                    table.c.org_id == org_id, table.c.id == resource_id
                )
            ).scalar_one_or_none()
            if not by:
                return None
            kind, name, source_id = str(by.get("kind")), str(by.get("name", "")), by.get("id")
            i = entra_instances.c
            column = i.scim_token_id if kind == SourceKind.SCIM else i.id
            instance = (
                conn.execute(
                    select(i.name, i.mode).where(i.org_id == org_id, column == source_id)
                ).first()
                if source_id and kind in (SourceKind.SCIM, SourceKind.ENTRA)
                else None
            )
        if instance is not None and kind == SourceKind.SCIM:
            return Provenance(kind, f"Entra provisioning job of {instance.name}")
        if instance is not None:
            return Provenance(kind, f"Pull sync from Entra instance {instance.name}")
        if kind == SourceKind.SCIM:
            return Provenance(kind, f"SCIM client with the token “{name}”")
        if kind == SourceKind.LDAP:
            return Provenance(kind, f"Directory sync from the LDAP source {name}")
        return Provenance(kind, f"{kind} source {name}")
