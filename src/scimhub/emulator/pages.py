"""Jinja2 rendering for the emulator's few HTML pages (autoescaped). Every page is sent
with a Content-Security-Policy that allows its own stylesheet and forms and nothing else:
no scripts, no framing."""

from __future__ import annotations

from collections.abc import Iterable
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

_env = Environment(
    loader=PackageLoader("scimhub.emulator", "templates"), autoescape=select_autoescape(["html"])
)
_STYLESHEET = resources.files("scimhub.emulator").joinpath("static/emulator.css").read_bytes()


def origin(uri: str) -> str | None:
    """`scheme://host[:port]` of an absolute http(s) URI, as a CSP source expression."""
    parts = urlsplit(uri)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")


def _security_headers(form_targets: Iterable[str]) -> dict[str, str]:
    # Chromium applies form-action to every redirect that follows a form submission, so a
    # page whose form ends in a redirect to the app must allow the app's origin too.
    sources = " ".join(["'self'", *sorted(set(form_targets))])
    policy = "; ".join(
        [
            "default-src 'none'",
            "style-src 'self'",
            f"form-action {sources}",
            "frame-ancestors 'none'",
            "base-uri 'none'",
        ]
    )
    return {
        "Content-Security-Policy": policy,
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",
    }


def render(
    template: str,
    status: int = 200,
    headers: dict[str, str] | None = None,
    form_targets: Iterable[str] = (),
    **context: Any,
) -> HTMLResponse:
    """`form_targets`: origins the page's forms may end up at after redirects."""
    html = _env.get_template(template).render(**context)
    return HTMLResponse(
        html, status_code=status, headers={**_security_headers(form_targets), **(headers or {})}
    )


def routes() -> list[Route]:
    async def stylesheet(request: Request) -> Response:
        return Response(
            _STYLESHEET,
            media_type="text/css",
            headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"},
        )

    return [Route("/_emulator/static/emulator.css", stylesheet)]
