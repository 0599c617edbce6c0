"""Jinja2 rendering for the emulator's few HTML pages (autoescaped)."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.responses import HTMLResponse

_env = Environment(loader=PackageLoader("scimhub.emulator", "templates"),
                   autoescape=select_autoescape(["html"]))


def render(template: str, status: int = 200, headers: dict[str, str] | None = None,
           **context: Any) -> HTMLResponse:
    html = _env.get_template(template).render(**context)
    return HTMLResponse(html, status_code=status, headers=headers)
