"""`/api/docs`: the OpenAPI document as one server-rendered page, operations grouped by tag
with their parameters, bodies, responses and error codes. Plain string building from the
document (so the page shows exactly what the document says), hand-written CSS, no script.
"""

from __future__ import annotations

from html import escape
from typing import Any

Schema = dict[str, Any]

_CSS = """
body{font:15px/1.5 system-ui,sans-serif;margin:0 auto;max-width:980px;padding:1rem 1.5rem;
color:#1b1f24}
h1{margin-bottom:.2rem}h2{border-bottom:2px solid #d0d7de;margin-top:2.5rem}
nav a{margin-right:1rem}
details{border:1px solid #d0d7de;border-radius:6px;margin:.5rem 0;padding:.3rem .8rem}
summary{cursor:pointer}summary code{font-size:14px}
.m{display:inline-block;min-width:4.2rem;font:600 12px monospace;text-align:center;
border-radius:4px;padding:2px 4px;margin-right:.5rem;color:#fff}
.get{background:#0969da}.post{background:#1a7f37}.put{background:#9a6700}
.patch{background:#8250df}.delete{background:#cf222e}
table{border-collapse:collapse;width:100%;margin:.4rem 0}
td,th{border-top:1px solid #eaeef2;padding:3px 6px;text-align:left;vertical-align:top}
th{font-weight:600;background:#f6f8fa}code{font:13px monospace}
.muted{color:#57606a}
"""


def render(doc: Schema) -> str:
    """The whole page."""
    by_tag: dict[str, list[tuple[str, str, Schema]]] = {t["name"]: [] for t in doc["tags"]}
    for path, item in doc["paths"].items():
        for method, op in item.items():
            by_tag.setdefault(op["tags"][0], []).append((method, path, op))
    info = doc["info"]
    parts = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        f"<title>{escape(info['title'])} API</title><style>{_CSS}</style></head><body>",
        f"<h1>{escape(info['title'])} API <span class=muted>{escape(info['version'])}</span></h1>",
        f"<p>{escape(info['description'])}</p>",
        '<p>Machine-readable: <a href="/api/openapi.json">/api/openapi.json</a> '
        f"(OpenAPI {escape(doc['openapi'])}).</p>",
        "<nav>",
        *(f'<a href="#{_anchor(tag)}">{escape(tag)}</a>' for tag in by_tag),
        "</nav>",
        _security(doc["components"]["securitySchemes"]),
    ]
    for tag, ops in by_tag.items():
        parts.append(f'<h2 id="{_anchor(tag)}">{escape(tag)}</h2>')
        parts.extend(_operation(method, path, op) for method, path, op in ops)
    parts.append("</body></html>")
    return "".join(parts)


def _anchor(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower())


def _security(schemes: Schema) -> str:
    rows = "".join(
        f"<tr><td><code>{escape(name)}</code></td><td>{escape(_scheme(s))}</td>"
        f"<td>{escape(s.get('description', ''))}</td></tr>"
        for name, s in schemes.items()
    )
    return f"<h2>Credentials</h2><table><tr><th>name<th>how<th>what</tr>{rows}</table>"


def _scheme(s: Schema) -> str:
    if s["type"] == "http":
        return "Authorization: Bearer <token>"
    return f"{s['in']} {s['name']}"


def _operation(method: str, path: str, op: Schema) -> str:
    security = " or ".join(" + ".join(alt) for alt in op["security"]) or "none"
    parts = [
        f'<details id="{escape(op["operationId"])}"><summary>'
        f'<span class="m {method}">{method.upper()}</span><code>{escape(path)}</code> '
        f"— {escape(op['summary'])}</summary>",
        f"<p>{escape(op['description'])}</p>" if "description" in op else "",
        f"<p class=muted>Credential: {escape(security)}</p>",
    ]
    if op.get("parameters"):
        rows = "".join(
            f"<tr><td><code>{escape(p['name'])}</code></td><td>{escape(p['in'])}</td>"
            f"<td>{escape(_type(p['schema']))}</td><td>{escape(p.get('description', ''))}</td>"
            "</tr>"
            for p in op["parameters"]
        )
        parts.append(f"<table><tr><th>parameter<th>in<th>type<th>notes</tr>{rows}</table>")
    body = op.get("requestBody")
    if body:
        schema = body["content"]["application/json"]["schema"]
        optional = "" if body["required"] else " (optional)"
        parts.append(f"<p><b>Body</b>{optional}: {escape(schema.get('description', ''))}</p>")
        parts.append(_members(schema))
    rows = "".join(
        f"<tr><td><code>{escape(status)}</code></td><td>{escape(answer['description'])}</td>"
        f"<td>{escape(_returned(answer))}</td></tr>"
        for status, answer in op["responses"].items()
    )
    parts.append(f"<table><tr><th>status<th>meaning<th>body</tr>{rows}</table></details>")
    return "".join(parts)


def _members(schema: Schema) -> str:
    required = set(schema.get("required", []))
    rows = "".join(
        f"<tr><td><code>{escape(name)}</code></td><td>{escape(_type(prop))}</td>"
        f"<td>{'required' if name in required else ''}</td>"
        f"<td>{escape(prop.get('description', ''))}</td></tr>"
        for name, prop in schema.get("properties", {}).items()
    )
    more = "others ignored" if schema.get("additionalProperties") else "no others"
    return (
        f"<table><tr><th>member<th>type<th><th>notes</tr>{rows}</table>"
        f"<p class=muted>Members not listed: {more}.</p>"
    )


def _type(schema: Schema) -> str:
    """A schema in a few words: its type and bounds."""
    kind = schema.get("type", "any")
    words = [" | ".join(kind) if isinstance(kind, list) else str(kind)]
    if "enum" in schema:
        words = [" | ".join(map(str, schema["enum"]))]
    for key, label in (
        ("minimum", "≥"),
        ("maximum", "≤"),
        ("minLength", "length ≥"),
        ("maxLength", "length ≤"),
        ("default", "default"),
    ):
        if key in schema:
            words.append(f"{label} {schema[key]}")
    return ", ".join(words)


def _returned(answer: Schema) -> str:
    content = answer.get("content")
    if not content:
        return "none"
    media, shown = next(iter(content.items()))
    schema = shown["schema"]
    if "$ref" in schema:
        return f"{media}: {schema['$ref'].rsplit('/', 1)[-1]} envelope"
    members = ", ".join(schema.get("properties", {}))
    return f"{media}: {schema.get('type', 'any')}" + (f" ({members})" if members else "")
