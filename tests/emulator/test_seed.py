"""Seeding from a document and from the generator."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from scimhub.emulator import seed
from scimhub.emulator.context import open_data_dir
from scimhub.emulator.directory import find_tenant, find_user
from scimhub.emulator.schema import memberships, users


def test_yaml_document_with_forward_manager_reference(tmp_path: Path) -> None:
    doc = tmp_path / "seed.yaml"
    doc.write_text("""
tenants:
  - displayName: Fabrikam
    domain: fabrikam.onmicrosoft.com
    adminPassword: S3cret!
    users:
      - {userPrincipalName: ann@fabrikam.onmicrosoft.com, manager: bob@fabrikam.onmicrosoft.com}
      - {userPrincipalName: bob@fabrikam.onmicrosoft.com, givenName: Bob, surname: Boss}
    groups:
      - {displayName: Everyone, members: [ann@fabrikam.onmicrosoft.com]}
    generate: {users: 20, groups: 2}
""")
    engine = open_data_dir(tmp_path / "data")
    with engine.begin() as conn:
        [tid] = seed.seed_document(conn, seed.load_document(doc))
        ann = find_user(conn, tid, "ann@fabrikam.onmicrosoft.com")
        bob = find_user(conn, tid, "bob@fabrikam.onmicrosoft.com")
        assert ann is not None and bob is not None and ann.manager_id == bob.id
        assert bob.display_name == "Bob Boss"
        assert (
            conn.execute(
                select(func.count()).select_from(users).where(users.c.tenant_id == tid)
            ).scalar_one()
            == 22
        )
        tenant = find_tenant(conn, "fabrikam.onmicrosoft.com")
        assert tenant is not None and tenant.id == tid


def test_generator_is_realistic_and_unique(tmp_path: Path) -> None:
    engine = open_data_dir(tmp_path)
    with engine.begin() as conn:
        seed.ensure_default_tenant(conn)
        tenant = find_tenant(conn, "contoso.onmicrosoft.com")
        assert tenant is not None
        seed.generate(conn, tenant.id, users_count=12000, groups_count=100)
        upns = (
            conn.execute(select(users.c.user_principal_name).where(users.c.tenant_id == tenant.id))
            .scalars()
            .all()
        )
        assert len(upns) == len({u.lower() for u in upns}) == 12003
        links = conn.execute(
            select(func.count())
            .select_from(memberships)
            .where(memberships.c.tenant_id == tenant.id)
        ).scalar_one()
        assert 1.8 * 12000 < links < 2.2 * 12000 + 10
