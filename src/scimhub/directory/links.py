"""Links between a sync source's objects and hub resources (pull sync), with the digest of
the document last applied."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select

from ..store.arrays import among
from ..store.engine import Database
from ..store.tables import entra_links
from ..store.upsert import insert_ignoring_duplicates


@dataclass(frozen=True, slots=True)
class Link:
    object_id: str
    kind: str
    resource_id: str
    digest: str


class Links:
    def __init__(self, db: Database) -> None:
        self.db = db

    def get_many(self, instance_id: str, object_ids: list[str]) -> dict[str, Link]:
        t = entra_links
        found: dict[str, Link] = {}
        with self.db.read() as conn:
            for i in range(0, len(object_ids), 500):
                for r in conn.execute(
                    select(t).where(
                        t.c.instance_id == instance_id,
                        among(t.c.object_id, object_ids[i : i + 500], conn.dialect.name),
                    )
                ):
                    found[r.object_id] = Link(r.object_id, r.kind, r.resource_id, r.digest)
        return found

    def save(self, instance_id: str, links: list[Link]) -> None:
        """Create or replace links (a relinked object gets its new resource and digest)."""
        if not links:
            return
        t = entra_links
        ids = [link.object_id for link in links]
        with self.db.write() as conn:
            for i in range(0, len(ids), 500):
                conn.execute(
                    delete(t).where(
                        t.c.instance_id == instance_id,
                        among(t.c.object_id, ids[i : i + 500], conn.dialect.name),
                    )
                )
            insert_ignoring_duplicates(
                conn,
                t,
                [
                    {
                        "instance_id": instance_id,
                        "object_id": link.object_id,
                        "kind": link.kind,
                        "resource_id": link.resource_id,
                        "digest": link.digest,
                    }
                    for link in links
                ],
            )

    def forget(self, instance_id: str, object_ids: list[str]) -> None:
        t = entra_links
        with self.db.write() as conn:
            for i in range(0, len(object_ids), 500):
                conn.execute(
                    delete(t).where(
                        t.c.instance_id == instance_id, t.c.object_id.in_(object_ids[i : i + 500])
                    )
                )
