"""Filling tenants with users and groups: from a YAML/JSON file, or from a generator
fast enough for benchmarks (bulk Core inserts, one transaction)."""

from __future__ import annotations

import json
import random
import uuid
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Connection, select

from .accounts import set_password
from .constants import DEFAULT_ADMIN_PASSWORD
from .db import next_versions, now_iso
from .directory import add_group, add_member, add_user, create_tenant, find_tenant, update_user
from .schema import groups, memberships, tenants, users

FIRST = (
    "Adele",
    "Alex",
    "Allan",
    "Ben",
    "Brian",
    "Carla",
    "Chen",
    "Chris",
    "Dana",
    "Debra",
    "Diego",
    "Elena",
    "Emily",
    "Enrico",
    "Eva",
    "Fatima",
    "Felix",
    "Grace",
    "Hana",
    "Henrik",
    "Irvin",
    "Isabel",
    "Ivan",
    "Jana",
    "Johanna",
    "Joni",
    "Jun",
    "Kai",
    "Karim",
    "Lara",
    "Lee",
    "Lidia",
    "Lynne",
    "Malik",
    "Maria",
    "Megan",
    "Miriam",
    "Nestor",
    "Nina",
    "Noah",
    "Olga",
    "Omar",
    "Patti",
    "Pedro",
    "Priya",
    "Quinn",
    "Rafael",
    "Raul",
    "Rosa",
    "Sara",
    "Sven",
    "Tariq",
    "Tomas",
    "Uma",
    "Victor",
    "Wei",
    "Xavier",
    "Yara",
    "Yusuf",
    "Zoe",
    "Ahmed",
    "Amara",
    "Bruno",
    "Camila",
    "Dmitri",
    "Erik",
    "Farah",
    "Gabriel",
    "Hiro",
    "Ines",
    "Jamal",
    "Kenji",
    "Leila",
    "Luca",
    "Mateo",
    "Mei",
    "Nadia",
    "Oscar",
    "Paula",
    "Ravi",
    "Sofia",
    "Theo",
    "Valentina",
    "Wanda",
    "Yuki",
    "Zara",
    "Anil",
    "Beatriz",
    "Cyrus",
    "Daria",
    "Emeka",
    "Freya",
    "Goran",
    "Helga",
    "Ingrid",
    "Joao",
    "Kofi",
    "Lena",
)
LAST = (
    "Vance",
    "Wilber",
    "Deyoung",
    "Johnson",
    "Smith",
    "Garcia",
    "Muller",
    "Rossi",
    "Tanaka",
    "Kim",
    "Nguyen",
    "Patel",
    "Silva",
    "Kowalski",
    "Novak",
    "Jensen",
    "Larsen",
    "Dubois",
    "Moreau",
    "Fischer",
    "Weber",
    "Schneider",
    "Romano",
    "Costa",
    "Santos",
    "Oliveira",
    "Pereira",
    "Haddad",
    "Khan",
    "Ali",
    "Chen",
    "Wang",
    "Li",
    "Zhang",
    "Liu",
    "Singh",
    "Kumar",
    "Sato",
    "Suzuki",
    "Park",
    "Choi",
    "Lopez",
    "Martinez",
    "Hernandez",
    "Gonzalez",
    "Perez",
    "Sanchez",
    "Ramirez",
    "Torres",
    "Flores",
    "Rivera",
    "Gomez",
    "Diaz",
    "Reyes",
    "Morales",
    "Cruz",
    "Ortiz",
    "Gutierrez",
    "Chavez",
    "Ramos",
    "Ruiz",
    "Alvarez",
    "Mendoza",
    "Castillo",
    "Jimenez",
    "Moreno",
    "Romero",
    "Herrera",
    "Medina",
    "Aguilar",
    "Vargas",
    "Castro",
    "Guzman",
    "Fernandez",
    "Nielsen",
    "Hansen",
    "Andersen",
    "Berg",
    "Lund",
    "Holm",
    "Eriksson",
    "Lindqvist",
    "Virtanen",
    "Korhonen",
    "Horvath",
    "Nagy",
    "Popescu",
    "Ionescu",
    "Petrov",
    "Ivanova",
    "Smirnov",
    "Kovalenko",
    "Bondarenko",
    "Murphy",
    "Kelly",
    "Byrne",
    "Walsh",
    "Brennan",
)
DEPARTMENTS = (
    "Sales",
    "Marketing",
    "Engineering",
    "Finance",
    "Legal",
    "Operations",
    "Support",
    "Research",
    "HumanResources",
    "Procurement",
)
TITLES = (
    "Engineer",
    "Senior Engineer",
    "Manager",
    "Director",
    "Analyst",
    "Consultant",
    "Account Executive",
    "Designer",
    "Accountant",
    "Counsel",
    "Specialist",
    "Architect",
)
GROUP_KINDS = ("Team", "Project", "Site", "Committee", "Guild", "Program")


def ensure_default_tenant(conn: Connection) -> None:
    """A fresh data directory gets one customer tenant with a few users and groups."""
    has_customer = conn.execute(select(tenants.c.id).where(tenants.c.is_publisher.is_(False)))
    if has_customer.first() is not None:
        return
    seed_document(
        conn,
        {
            "tenants": [
                {
                    "displayName": "Contoso",
                    "domain": "contoso.onmicrosoft.com",
                    "users": [
                        {
                            "userPrincipalName": "adele.vance@contoso.onmicrosoft.com",
                            "givenName": "Adele",
                            "surname": "Vance",
                            "department": "Sales",
                            "jobTitle": "Account Executive",
                        },
                        {
                            "userPrincipalName": "alex.wilber@contoso.onmicrosoft.com",
                            "givenName": "Alex",
                            "surname": "Wilber",
                            "department": "Marketing",
                            "jobTitle": "Designer",
                            "manager": "adele.vance@contoso.onmicrosoft.com",
                        },
                        {
                            "userPrincipalName": "megan.bowen@contoso.onmicrosoft.com",
                            "givenName": "Megan",
                            "surname": "Bowen",
                            "department": "Sales",
                            "jobTitle": "Manager",
                        },
                    ],
                    "groups": [
                        {
                            "displayName": "Sales Team",
                            "members": [
                                "adele.vance@contoso.onmicrosoft.com",
                                "megan.bowen@contoso.onmicrosoft.com",
                            ],
                        }
                    ],
                }
            ]
        },
    )


def load_document(path: Path) -> dict[str, Any]:
    text = path.read_text()
    data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    if not isinstance(data, dict) or not isinstance(data.get("tenants"), list):
        raise ValueError(f"{path}: expected a mapping with a 'tenants' list")
    return data


def seed_document(conn: Connection, data: dict[str, Any]) -> list[str]:
    """Create (or extend) the tenants of a seed document; returns their ids.

    tenants: [{displayName, domain, id?, adminLogin?, adminPassword?,
               users: [{userPrincipalName, givenName, ..., manager: upn, password?}],
               groups: [{displayName, members: [upn | group name]}],
               generate: {users: N, groups: M}}]"""
    ids = []
    for spec in data["tenants"]:
        tenant = find_tenant(conn, spec.get("id") or spec["domain"])
        tid = (
            tenant.id
            if tenant
            else create_tenant(
                conn,
                spec.get("displayName", spec["domain"]),
                spec["domain"],
                tenant_id=spec.get("id"),
                admin_login=spec.get("adminLogin"),
                admin_password=spec.get("adminPassword", DEFAULT_ADMIN_PASSWORD),
            )
        )
        people = spec.get("users") or []
        for user in people:  # managers may come later in the list: link them afterwards
            user = dict(user)
            user.setdefault(
                "displayName",
                " ".join(p for p in (user.get("givenName"), user.get("surname")) if p) or None,
            )
            user.setdefault("mail", user["userPrincipalName"])
            password = user.pop("password", None)
            add_user(conn, tid, {k: v for k, v in user.items() if k != "manager" and v})
            if password:
                set_password(conn, tid, user["userPrincipalName"], str(password))
        for user in people:
            if user.get("manager"):
                update_user(conn, tid, user["userPrincipalName"], {"manager": user["manager"]})
        for group in spec.get("groups") or []:
            add_group(conn, tid, {k: v for k, v in group.items() if k != "members"})
            for member in group.get("members") or []:
                add_member(conn, tid, group["displayName"], member)
        if gen := spec.get("generate"):
            generate(
                conn,
                tid,
                users_count=int(gen.get("users", 0)),
                groups_count=int(gen.get("groups", 0)),
            )
        ids.append(tid)
    return ids


def generate(
    conn: Connection,
    tenant_id: str,
    *,
    users_count: int,
    groups_count: int,
    memberships_per_user: float = 2.0,
    seed: int = 7,
) -> None:
    """Realistic-looking users (names, departments, titles, a manager for nine in ten)
    and groups with on average `memberships_per_user` direct memberships per user."""
    tenant = conn.execute(select(tenants).where(tenants.c.id == tenant_id)).one()
    rng = random.Random(seed)
    taken = {
        u.lower()
        for u in conn.execute(
            select(users.c.user_principal_name).where(users.c.tenant_id == tenant_id)
        ).scalars()
    }
    offset = len(taken)
    last = next_versions(conn, tenant_id, users_count + groups_count)
    version = last - users_count - groups_count
    stamp = now_iso()
    user_ids = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(users_count)]
    rows = []
    for i, uid in enumerate(user_ids):
        n = i + offset
        first, surname = FIRST[n % len(FIRST)], LAST[(n // len(FIRST)) % len(LAST)]
        suffix = n // (len(FIRST) * len(LAST))
        nick = f"{first}.{surname}{suffix or ''}".lower()
        while f"{nick}@{tenant.domain}".lower() in taken:  # e.g. hand-seeded users
            suffix += 1
            nick = f"{first}.{surname}{suffix}".lower()
        upn = f"{nick}@{tenant.domain}"
        taken.add(upn.lower())
        version += 1
        rows.append(
            {
                "id": uid,
                "tenant_id": tenant_id,
                "user_principal_name": upn,
                "mail": upn,
                "mail_nickname": nick,
                "given_name": first,
                "surname": surname,
                "display_name": f"{first} {surname}",
                "account_enabled": rng.random() > 0.02,
                "department": DEPARTMENTS[rng.randrange(len(DEPARTMENTS))],
                "job_title": TITLES[rng.randrange(len(TITLES))],
                "employee_id": f"E{100000 + n}",
                "office_location": None,
                "manager_id": user_ids[i - i % 10] if i % 10 else None,
                "created_at": stamp,
                "version": version,
                "deleted_at": None,
                "purged": False,
            }
        )
    if rows:
        conn.execute(users.insert(), rows)
    group_rows = []
    for j in range(groups_count):
        version += 1
        name = f"{DEPARTMENTS[j % len(DEPARTMENTS)]} {GROUP_KINDS[(j // 10) % 6]} {j + 1}"
        group_rows.append(
            {
                "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "tenant_id": tenant_id,
                "display_name": name,
                "description": f"Generated group {j + 1}",
                "mail_nickname": name.replace(" ", "").lower(),
                "mail": None,
                "mail_enabled": False,
                "security_enabled": True,
                "created_at": stamp,
                "version": version,
                "deleted_at": None,
                "purged": False,
            }
        )
    if group_rows:
        conn.execute(groups.insert(), group_rows)
        links = []
        for uid in user_ids:
            k = rng.choice((1, 2, 3)) if memberships_per_user >= 2 else 1
            for g in rng.sample(group_rows, min(k, len(group_rows))):
                links.append(
                    {
                        "group_id": g["id"],
                        "member_id": uid,
                        "member_type": "user",
                        "tenant_id": tenant_id,
                    }
                )
        if links:
            conn.execute(memberships.insert(), links)
