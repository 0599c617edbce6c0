"""Rendering pages: one Jinja2 environment (autoescaped), the filters the templates share,
and the headers every console page carries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from .. import __version__


# No inline script or style anywhere, so the policy can forbid both: injected markup that
# slipped past autoescaping still could not run.
def content_security_policy(form_targets: tuple[str, ...] = ()) -> str:
    """The pages' policy; `form_targets`: other origins a form may end up at. Chromium
    applies form-action to the redirects that follow a submission too, so a form whose
    answer redirects to Entra's sign-in page must name Entra's origin."""
    form_action = " ".join(["'self'", *form_targets])
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src 'self'; form-action {form_action}; frame-ancestors 'none'; "
        "base-uri 'none'"
    )


SECURITY_HEADERS = {
    "Content-Security-Policy": content_security_policy(),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",  # pages show directory data; never keep them in a cache
}


def utc(value: datetime | str | None) -> str:
    """Times as the console shows them: UTC, to the second."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value.strftime("%Y-%m-%d %H:%M:%S UTC")


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("scimhub.console", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["utc"] = utc
    env.globals["build"] = __version__
    return env


templates = Jinja2Templates(env=_environment())


def page(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    return templates.TemplateResponse(
        request,
        template,
        context,
        status_code=status,
        headers={**SECURITY_HEADERS, **(headers or {})},
    )
