#!/usr/bin/env python
"""Where a GET-by-id and a `userName eq` search spend their time, in-process (no HTTP).

    .venv/bin/python bench/micro_hot_path.py [--users 10000]

Builds a hub in a temporary directory (same data shape as bench/scim_throughput.py: users
with name/emails, each in 2 groups), then times, in microseconds per call on one core:

- the whole ASGI app (scimhub's Starlette app called directly, no socket, no uvicorn) and a
  hello-world Starlette app, for the framework share;
- the directory call (`hub.users.get`, `hub.users.search`);
- the same reads through SQLAlchemy Core on a connection already open (no pool checkout,
  no BEGIN/COMMIT), statements built per call as the directory does;
- the same reads through SQLAlchemy with the statements built once (bound parameters);
- the same reads through the raw sqlite3 driver on a persistent connection, plus
  orjson.loads and the same rendering: the floor the driver allows.

The gaps between the lines say what each layer costs, and so what each change would save.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import bindparam, select

from scimhub.api.services import Hub
from scimhub.app import create_app
from scimhub.config import Settings
from scimhub.directory.locator import Locator
from scimhub.directory.render import document, groups_of
from scimhub.directory.search import Query
from scimhub.scim.filter import parse_filter
from scimhub.scim.render import format_datetime
from scimhub.store.tables import groups, memberships, users


def timeit(fn: Callable[[], Any], *, seconds: float = 1.0) -> float:
    """Microseconds per call (best of 3 rounds)."""
    n = 1
    while True:  # calibrate
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        dt = time.perf_counter() - t0
        if dt > 0.05:
            break
        n *= 2
    per = dt / n
    rounds = max(1, int(seconds / 3 / per))
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(rounds):
            fn()
        best = min(best, (time.perf_counter() - t0) / rounds)
    return best * 1e6


class AsgiDriver:
    """Call an ASGI app for one GET request, without a server."""

    def __init__(self, app: Any, host: str = "127.0.0.1:8000") -> None:
        self.app = app
        self.host = host.encode()
        self.loop = asyncio.new_event_loop()

    def get(
        self, path: str, query: bytes = b"", headers: list[tuple[bytes, bytes]] = ()
    ) -> tuple[int, bytes]:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query,
            "root_path": "",
            "headers": [(b"host", self.host), *headers],
            "client": ("127.0.0.1", 5000),
            "server": ("127.0.0.1", 8000),
            "state": {},
        }
        out: dict[str, Any] = {}

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                out["status"] = message["status"]
            elif message["type"] == "http.response.body":
                out["body"] = out.get("body", b"") + message.get("body", b"")

        self.loop.run_until_complete(self.app(scope, receive, send))
        return out["status"], out["body"]


def build(tmp: Path, n_users: int) -> tuple[Hub, str, str, list[str], list[str]]:
    hub = Hub.open(Settings(data_dir=tmp))
    org = hub.orgs.create("micro")
    secret, _ = hub.tokens.create(org.id)
    loc = Locator("http://127.0.0.1:8000", org.id)
    ids, names = [], []
    for i in range(n_users):
        name = f"user{i:06d}@bench.example"
        doc = hub.users.create(
            org.id,
            {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": name,
                "externalId": f"ext-{name}",
                "name": {"givenName": f"G{i}", "familyName": f"F{i}"},
                "displayName": f"G{i} F{i}",
                "emails": [{"value": name, "type": "work", "primary": True}],
                "active": True,
            },
            loc,
        )
        ids.append(doc["id"])
        names.append(name)
    # Every user in two groups: a big one and one of 100 small ones.
    big = hub.groups.create(
        org.id,
        {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "big",
            "members": [{"value": u} for u in ids],
        },
        loc,
    )
    assert big["id"]
    for g in range(100):
        hub.groups.create(
            org.id,
            {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "displayName": f"g{g}",
                "members": [{"value": u} for u in ids[g::100]],
            },
            loc,
        )
    return hub, org.id, secret, ids, names


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--users", type=int, default=10_000)
    p.add_argument("--cpu", type=int, default=0, help="pin to this CPU (default 0)")
    args = p.parse_args()
    if args.cpu in os.sched_getaffinity(0):
        os.sched_setaffinity(0, {args.cpu})
    tmp = Path(tempfile.mkdtemp(prefix="scimhub-micro-"))
    try:
        print(f"building {args.users} users ...", flush=True)
        hub, org_id, secret, ids, names = build(tmp, args.users)
        run(hub, org_id, secret, ids, names, tmp)
        hub.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def run(hub: Hub, org_id: str, secret: str, ids: list[str], names: list[str], tmp: Path) -> None:
    loc = Locator("http://127.0.0.1:8000", org_id)
    k = 0

    def next_id() -> str:
        nonlocal k
        k = (k * 7919 + 1) % len(ids)
        return ids[k]

    def next_name() -> str:
        nonlocal k
        k = (k * 7919 + 1) % len(names)
        return names[k]

    rows: list[tuple[str, float]] = []

    def line(label: str, us: float) -> None:
        rows.append((label, us))
        print(f"  {us:8.1f} us  {1e6 / us:9,.0f}/s  {label}", flush=True)

    # 1. Whole apps over ASGI, no server.
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def hello(request: Any) -> Any:
        return JSONResponse({"hello": "world"})

    hello_app = AsgiDriver(Starlette(routes=[Route("/hello", hello)]))
    app = AsgiDriver(create_app(Settings(data_dir=tmp), hub=hub))
    auth = [(b"authorization", f"Bearer {secret}".encode())]
    base = f"/identity/scim/{org_id}/v2"
    status, body = app.get(f"{base}/Users/{ids[0]}", headers=auth)
    assert status == 200, body
    status, body = app.get(
        f"{base}/Users", ("filter=" + f'userName eq "{names[0]}"').encode(), headers=auth
    )
    assert status == 200 and orjson.loads(body)["totalResults"] == 1, body

    print("\nGET /Users/{id}  (us per request, one core, in-process)")
    line("hello-world Starlette app over ASGI (no server)", timeit(lambda: hello_app.get("/hello")))
    line(
        "scimhub app over ASGI: GET /Users/{id}",
        timeit(lambda: app.get(f"{base}/Users/{next_id()}", headers=auth)),
    )
    line(
        "hub.users.get (the directory call: pool checkout, SQL, render)",
        timeit(lambda: hub.users.get(org_id, next_id(), loc)),
    )
    line(
        "hub.users.get(with_groups=False)",
        timeit(lambda: hub.users.get(org_id, next_id(), loc, with_groups=False)),
    )
    line("hub.tokens.authenticate (cached)", timeit(lambda: hub.tokens.authenticate(secret)))

    engine = hub.db.engine
    with engine.connect() as conn:

        def sa_built_each_time() -> Any:
            uid = next_id()
            row = conn.execute(
                select(users).where(users.c.id == uid, users.c.org_id == org_id)
            ).first()
            return document(row, "User", loc, {"groups": groups_of(conn, [row.id], loc)[row.id]})

        line(
            "SQLAlchemy Core, open connection, statements built per call (= directory "
            "minus pool/transaction)",
            timeit(sa_built_each_time),
        )

        user_stmt = select(users).where(
            users.c.id == bindparam("uid"), users.c.org_id == bindparam("org")
        )
        groups_stmt = (
            select(groups.c.id, groups.c.display_name)
            .join(memberships, groups.c.id == memberships.c.group_id)
            .where(memberships.c.member_id == bindparam("uid"))
            .order_by(groups.c.display_name_ci, groups.c.id)
        )

        def sa_prebuilt() -> Any:
            uid = next_id()
            row = conn.execute(user_stmt, {"uid": uid, "org": org_id}).first()
            gs = [
                {"value": g, "$ref": loc.location("Group", g), "display": n, "type": "direct"}
                for g, n in conn.execute(groups_stmt, {"uid": uid})
            ]
            return document(row, "User", loc, {"groups": gs})

        line(
            "SQLAlchemy Core, open connection, statements built once (bindparam)",
            timeit(sa_prebuilt),
        )

    db_path = str((tmp / "scimhub.db").resolve())
    raw = sqlite3.connect(db_path, check_same_thread=False, isolation_level=None)
    raw.execute("PRAGMA journal_mode=WAL")
    user_sql = (
        "SELECT id, data, created, last_modified, version FROM users WHERE id = ? AND org_id = ?"
    )
    groups_sql = (
        "SELECT g.id, g.display_name FROM memberships m JOIN groups g ON "
        "g.id = m.group_id WHERE m.member_id = ? ORDER BY g.display_name_ci, g.id"
    )
    scim_base = loc.scim_base

    def fmt(ts: str) -> str:  # SQLite keeps 'YYYY-MM-DD HH:MM:SS.ffffff' text
        return ts[:10] + "T" + ts[11:19] + ".000Z"

    def raw_get() -> bytes:
        uid = next_id()
        rid, data, created, modified, version = raw.execute(user_sql, (uid, org_id)).fetchone()
        doc = orjson.loads(data)
        res = {"schemas": doc["schemas"], "id": rid}
        res.update((k2, v) for k2, v in doc.items() if k2 != "schemas")
        gs = [
            {"value": g, "$ref": f"{scim_base}/Groups/{g}", "display": n, "type": "direct"}
            for g, n in raw.execute(groups_sql, (uid,))
        ]
        if gs:
            res["groups"] = gs
        res["meta"] = {
            "resourceType": "User",
            "created": fmt(created),
            "lastModified": fmt(modified),
            "location": f"{scim_base}/Users/{rid}",
            "version": f'W/"{version}"',
        }
        return orjson.dumps(res)

    line("raw sqlite3, persistent connection, autocommit reads, + orjson render", timeit(raw_get))
    row = raw.execute(user_sql, (ids[0], org_id)).fetchone()
    line(
        "  of which: the user SELECT alone",
        timeit(lambda: raw.execute(user_sql, (next_id(), org_id)).fetchone()),
    )
    line(
        "  of which: the groups SELECT alone",
        timeit(lambda: raw.execute(groups_sql, (next_id(),)).fetchall()),
    )
    line(
        "  of which: orjson.loads(data) + orjson.dumps(resource)",
        timeit(lambda: orjson.dumps(orjson.loads(row[1]))),
    )
    dt = datetime(2024, 1, 1, 12, 0, 0, tzinfo=UTC)
    line(
        "  format_datetime (scimhub.scim.render), x2 per resource",
        timeit(lambda: format_datetime(dt)),
    )
    line("  uuid.uuid4() (tracking id)", timeit(lambda: str(uuid.uuid4())))

    print('\nGET /Users?filter=userName eq "..."')
    line(
        "scimhub app over ASGI: filtered search",
        timeit(
            lambda: app.get(
                f"{base}/Users", ("filter=" + f'userName eq "{next_name()}"').encode(), headers=auth
            )
        ),
    )
    line(
        "parse_filter('userName eq \"...\"')",
        timeit(lambda: parse_filter(f'userName eq "{next_name()}"')),
    )
    line(
        "hub.users.search (the directory call)",
        timeit(
            lambda: hub.users.search(
                org_id, Query(filter=parse_filter(f'userName eq "{next_name()}"')), loc
            )
        ),
    )
    count_sql = "SELECT count(*) FROM users WHERE org_id = ? AND user_name_ci = ?"
    page_sql = (
        "SELECT id, data, created, last_modified, version FROM users WHERE org_id = ? "
        "AND user_name_ci = ? ORDER BY id LIMIT ? OFFSET ?"
    )

    def raw_search() -> bytes:
        name = next_name().lower()
        total = raw.execute(count_sql, (org_id, name)).fetchone()[0]
        found = raw.execute(page_sql, (org_id, name, 100, 0)).fetchall()
        out = []
        for rid, data, created, modified, version in found:
            doc = orjson.loads(data)
            gs = [
                {"value": g, "$ref": f"{scim_base}/Groups/{g}", "display": n, "type": "direct"}
                for g, n in raw.execute(groups_sql, (rid,))
            ]
            out.append(
                {
                    **doc,
                    "id": rid,
                    "groups": gs,
                    "meta": {
                        "resourceType": "User",
                        "created": fmt(created),
                        "lastModified": fmt(modified),
                        "location": f"{scim_base}/Users/{rid}",
                        "version": f'W/"{version}"',
                    },
                }
            )
        return orjson.dumps(
            {
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
                "totalResults": total,
                "Resources": out,
            }
        )

    line("raw sqlite3: COUNT + page SELECT + groups SELECT + render", timeit(raw_search))
    raw.close()


if __name__ == "__main__":
    sys.exit(main())
