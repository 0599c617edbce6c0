"""The Overview: counts and the latest events. Every number is a COUNT in SQL (a search with
`count=0`), so the page costs the same with ten users or a hundred thousand."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..directory.search import Query
from ..scim.filter import parse_filter
from .auth import ConsoleContext, console_page
from .render import page

_ACTIVE = parse_filter("active eq true")
RECENT = 5


@console_page()
async def overview(request: Request, ctx: ConsoleContext) -> Response:
    hub, org = ctx.hub, ctx.org_id
    _, users = hub.users.search(org, Query(count=0), ctx.loc, with_groups=False)
    _, active = hub.users.search(org, Query(filter=_ACTIVE, count=0), ctx.loc,
                                 with_groups=False)
    _, groups = hub.groups.search(org, Query(count=0), ctx.loc, with_members=False)
    failures, failed = hub.requests.entries(org, status_class="failure", limit=RECENT)
    _, requests = hub.requests.entries(org, limit=0)
    events, _ = hub.audit.events(org, limit=RECENT)
    return page(request, "overview.html", ctx.page_context(
        "overview", users=users, active_users=active, groups=groups, requests=requests,
        failed=failed, failures=failures, events=events))


routes = [Route("/overview", overview, methods=["GET"])]
