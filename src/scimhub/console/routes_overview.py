"""The Overview: counts and the latest events. Every number is a COUNT in SQL (a search with
`count=0`) over an index, so the page stays fast with a hundred thousand users. (An
active-user count would read every user row on SQLite: ~300 ms at 100,000, so it is left
to the Users page.)"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..directory.search import Query
from .auth import ConsoleContext, console_page
from .render import page

RECENT = 5


@console_page()
async def overview(request: Request, ctx: ConsoleContext) -> Response:
    hub, org = ctx.hub, ctx.org_id
    _, users = hub.users.search(org, Query(count=0), ctx.loc, with_groups=False)
    _, groups = hub.groups.search(org, Query(count=0), ctx.loc, with_members=False)
    failures, failed = hub.requests.entries(org, status_class="failure", limit=RECENT)
    _, requests = hub.requests.entries(org, limit=0)
    events, _ = hub.audit.events(org, limit=RECENT)
    return page(
        request,
        "overview.html",
        ctx.page_context(
            "overview",
            users=users,
            groups=groups,
            requests=requests,
            failed=failed,
            failures=failures,
            events=events,
        ),
    )


routes = [Route("/overview", overview, methods=["GET"])]
