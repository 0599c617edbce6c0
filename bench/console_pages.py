#!/usr/bin/env python
"""Console page render times with 100,000 users in one organisation (issue 5: < 300 ms).

Run (from the repository root):

    .venv/bin/python bench/console_pages.py [--users 100000] [--runs 20]
                                           [--database-url postgresql://...]

Seeds a fresh database (temporary SQLite by default) with Core bulk inserts into the
directory's tables - users, one group with 5,000 members, 100,000 provisioning-log rows
and 1,000 audit events - then signs an admin in and times each console page in process
(starlette TestClient: routing, session lookup, queries, template rendering; no network).
Prints median, p95 and max per page; exits 1 if any page's p95 exceeds the budget.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from scimhub.api.services import Hub
from scimhub.app import create_app
from scimhub.config import Settings
from scimhub.store.tables import audit_events, groups, memberships, scim_requests, users

BUDGET_MS = 300.0
CHUNK = 5_000
PASSWORD = "benchmark password 1"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
FAMILIES = [
    "Smith",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Lopez",
    "Wilson",
    "Moore",
    "Taylor",
    "Thomas",
    "Martin",
    "Lee",
    "Walker",
    "Hall",
    "Young",
    "King",
]


def _user_row(org_id: str, i: int, now: datetime) -> dict[str, Any]:
    family = FAMILIES[i % len(FAMILIES)]
    user_name = f"user{i:06d}@contoso.example"
    doc = {
        "schemas": [USER_SCHEMA],
        "userName": user_name,
        "externalId": f"ext-{i:06d}",
        "displayName": f"Person {i} {family}",
        "active": i % 10 != 0,
        "name": {"givenName": f"Person{i}", "familyName": family},
        "emails": [{"value": user_name, "type": "work", "primary": True}],
    }
    return {
        "id": str(uuid.uuid4()),
        "org_id": org_id,
        "user_name": user_name,
        "user_name_ci": user_name,
        "external_id": doc["externalId"],
        "display_name": doc["displayName"],
        "active": doc["active"],
        "data": doc,
        "password_hash": None,
        "created": now,
        "last_modified": now,
        "version": 1,
    }


def seed(hub: Hub, org_id: str, n_users: int) -> dict[str, str]:
    now = datetime.now(UTC).replace(microsecond=0)
    ids: list[str] = []
    for start in range(0, n_users, CHUNK):
        rows = [_user_row(org_id, i, now) for i in range(start, min(n_users, start + CHUNK))]
        ids.extend(r["id"] for r in rows)
        with hub.db.write() as conn:
            conn.execute(users.insert(), rows)
    group_id = str(uuid.uuid4())
    with hub.db.write() as conn:
        conn.execute(
            groups.insert().values(
                id=group_id,
                org_id=org_id,
                display_name="All staff",
                display_name_ci="all staff",
                external_id=None,
                data={"schemas": [GROUP_SCHEMA], "displayName": "All staff"},
                created=now,
                last_modified=now,
                version=1,
            )
        )
        conn.execute(
            memberships.insert(),
            [
                {"group_id": group_id, "member_id": uid, "org_id": org_id, "member_type": "User"}
                for uid in ids[:5_000]
            ],
        )
    for start in range(0, n_users, CHUNK):
        with hub.db.write() as conn:
            conn.execute(
                scim_requests.insert(),
                [
                    {
                        "org_id": org_id,
                        "time": now - timedelta(seconds=n_users - i),
                        "method": "PATCH" if i % 3 else "POST",
                        "path": f"/identity/scim/{org_id}/v2/Users",
                        "resource_type": "User",
                        "status": 409 if i % 50 == 0 else 200,
                        "scim_type": "uniqueness" if i % 50 == 0 else None,
                        "duration_ms": 3,
                        "tracking_id": f"SCIMHUB_{uuid.uuid4()}_0",
                        "client": "Azure AD",
                        "token_id": None,
                    }
                    for i in range(start, min(n_users, start + CHUNK))
                ],
            )
    with hub.db.write() as conn:
        conn.execute(
            audit_events.insert(),
            [
                {
                    "org_id": org_id,
                    "time": now,
                    "actor": "bench",
                    "action": "bench.event",
                    "target": None,
                    "detail": {},
                    "tracking_id": None,
                }
                for _ in range(1_000)
            ],
        )
    return {"user": ids[n_users // 2], "group": group_id}


def time_pages(client: TestClient, pages: dict[str, str], runs: int) -> dict[str, list[float]]:
    timings: dict[str, list[float]] = {}
    for label, path in pages.items():
        client.get(path)  # warm caches and the template once
        samples = []
        for _ in range(runs):
            started = time.perf_counter()
            r = client.get(path)
            samples.append((time.perf_counter() - started) * 1000)
            if r.status_code != 200:
                raise SystemExit(f"{path} answered {r.status_code}")
        timings[label] = samples
    return timings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), database_url=args.database_url)
        hub = Hub.open(settings)
        org = hub.orgs.create("Bench")
        started = time.perf_counter()
        ids = seed(hub, org.id, args.users)
        print(
            f"seeded {args.users:,} users, 5,000 members, {args.users:,} log rows in "
            f"{time.perf_counter() - started:.1f} s ({hub.db.engine.dialect.name})"
        )
        hub.admins.create(org.id, "bench@example.com", PASSWORD, "admin")
        last_page = -(-args.users // 50)
        pages = {
            "overview": "/console/overview",
            "users, page 1": "/console/users",
            f"users, page {last_page:,}": f"/console/users?page={last_page}",
            "users, search 'user099'": "/console/users?q=user099",
            "users, search 'ext-0500'": "/console/users?q=ext-0500&by=external",
            "users, display-name search": "/console/users?q=Walker&by=name",
            "user detail": f"/console/users/{ids['user']}",
            "groups": "/console/groups",
            "group (5,000 members), page 1": f"/console/groups/{ids['group']}",
            "group, page 100": f"/console/groups/{ids['group']}?page=100",
            "provisioning log": "/console/provisioning",
            "provisioning log, failures": "/console/provisioning?outcome=failure",
            "provisioning log, last page": f"/console/provisioning?page={last_page}",
            "audit log": "/console/audit",
            "settings": "/console/settings",
            "status": "/console/status",
        }
        with TestClient(create_app(settings, hub=hub), base_url="https://hub.test") as client:
            form = client.get("/console/login").text
            token = re.search(r'name="csrf_token" value="([^"]+)"', form)
            assert token
            client.post(
                "/console/login",
                data={
                    "email": "bench@example.com",
                    "password": PASSWORD,
                    "csrf_token": token.group(1),
                },
            )
            timings = time_pages(client, pages, args.runs)
        hub.close()

    width = max(map(len, timings))
    print(f"\n{'page':<{width}}  {'median':>8}  {'p95':>8}  {'max':>8}   (ms, {args.runs} runs)")
    worst = 0.0
    for label, samples in timings.items():
        p95 = statistics.quantiles(samples, n=20)[-1]
        worst = max(worst, p95)
        print(
            f"{label:<{width}}  {statistics.median(samples):8.1f}  {p95:8.1f}  {max(samples):8.1f}"
        )
    print(
        f"\nworst p95 {worst:.1f} ms; budget {BUDGET_MS:.0f} ms: "
        f"{'OK' if worst <= BUDGET_MS else 'OVER'}"
    )
    return 0 if worst <= BUDGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
