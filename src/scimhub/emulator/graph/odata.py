"""The OData query options Graph accepts: $filter (eq, ne, gt, ge, lt, le, startswith,
endswith, in, and, or, not, parentheses) turned into SQL, $select, $top and opaque
$skiptoken paging (keyset on the object id, so pages stay stable while data changes)."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import orjson
from sqlalchemy import ColumnElement, Select, and_, not_, or_, tuple_
from sqlalchemy.engine import Connection
from starlette.requests import Request

from .errors import GraphError, bad_request

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<punct>[(),])|"
    r"(?P<dt>\d{4}-\d{2}-\d{2}T[0-9:.]+(?:Z|[+-]\d{2}:\d{2})?)|"
    r"(?P<num>-?\d+(?:\.\d+)?)|(?P<word>[A-Za-z_@$][\w./@$:-]*))"
)
_COMPARE = {"eq", "ne", "gt", "ge", "lt", "le"}


def _tokenize(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise bad_request(f"Invalid filter clause: syntax error at position {pos} in '{text}'.")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


def _literal(kind: str, raw: str) -> Any:
    if kind == "str":
        return raw[1:-1].replace("''", "'")
    if kind == "num":
        return float(raw) if "." in raw else int(raw)
    if kind == "dt":
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        return parsed.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if kind == "word" and raw in ("true", "false"):
        return raw == "true"
    if kind == "word" and raw == "null":
        return None
    raise bad_request(f"Invalid filter clause: '{raw}' is not a literal.")


Columns = dict[str, ColumnElement[Any]]  # a Graph property's name -> its column


class _Parser:
    def __init__(self, text: str, columns: Columns):
        self.tokens = _tokenize(text)
        self.pos = 0
        self.columns = columns

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        if tok is None:
            raise bad_request("Invalid filter clause: unexpected end of expression.")
        self.pos += 1
        return tok

    def expect(self, value: str) -> None:
        if self.take()[1] != value:
            raise bad_request(f"Invalid filter clause: expected '{value}'.")

    def column(self, name: str) -> ColumnElement[Any]:
        if name not in self.columns:
            raise GraphError(
                400,
                "Request_UnsupportedQuery",
                f"Unsupported or invalid query filter clause specified for "
                f"property '{name}' of resource.",
            )
        return self.columns[name]

    def parse(self) -> ColumnElement[bool]:
        expr = self.disjunction()
        if (tok := self.peek()) is not None:
            raise bad_request(f"Invalid filter clause: unexpected '{tok[1]}'.")
        return expr

    def disjunction(self) -> ColumnElement[bool]:
        parts = [self.conjunction()]
        while (tok := self.peek()) and tok[1].lower() == "or":
            self.take()
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else or_(*parts)

    def conjunction(self) -> ColumnElement[bool]:
        parts = [self.unary()]
        while (tok := self.peek()) and tok[1].lower() == "and":
            self.take()
            parts.append(self.unary())
        return parts[0] if len(parts) == 1 else and_(*parts)

    def unary(self) -> ColumnElement[bool]:
        kind, value = self.take()
        if value.lower() == "not":
            return not_(self.unary())
        if value == "(":
            expr = self.disjunction()
            self.expect(")")
            return expr
        if kind != "word":
            raise bad_request(f"Invalid filter clause: unexpected '{value}'.")
        if value.lower() in ("startswith", "endswith"):
            self.expect("(")
            col = self.column(self.take()[1])
            self.expect(",")
            lit = _literal(*self.take())
            self.expect(")")
            if not isinstance(lit, str):
                raise bad_request(f"Invalid filter clause: {value} needs a string.")
            return (
                col.startswith(lit, autoescape=True)
                if value.lower() == "startswith"
                else col.endswith(lit, autoescape=True)
            )
        col = self.column(value)
        op = self.take()[1].lower()
        if op == "in":
            self.expect("(")
            values = [_literal(*self.take())]
            while (tok := self.peek()) and tok[1] == ",":
                self.take()
                values.append(_literal(*self.take()))
            self.expect(")")
            return col.in_(values)
        if op not in _COMPARE:
            raise bad_request(f"Invalid filter clause: unsupported operator '{op}'.")
        lit = _literal(*self.take())
        if lit is None:
            return col.is_(None) if op == "eq" else col.is_not(None)
        return {
            "eq": col.__eq__,
            "ne": col.__ne__,
            "gt": col.__gt__,
            "ge": col.__ge__,
            "lt": col.__lt__,
            "le": col.__le__,
        }[op](lit)


def parse_filter(text: str, columns: Columns) -> ColumnElement[bool]:
    return _Parser(text, columns).parse()


def parse_top(request: Request, default: int = 100, maximum: int = 999) -> int:
    raw = request.query_params.get("$top")
    if raw is None:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= maximum:
        raise bad_request(
            f"Invalid page size specified: '{raw}'. Must be between 1 and {maximum} inclusive.",
            "Request_UnsupportedQuery",
        )
    return int(raw)


def parse_select(request: Request, known: set[str]) -> list[str] | None:
    return parse_select_text(request.query_params.get("$select"), known)


def parse_select_text(raw: str | None, known: set[str]) -> list[str] | None:
    if not raw:
        return None
    fields = [f.strip() for f in raw.split(",") if f.strip()]
    for f in fields:
        if f not in known:
            raise bad_request(
                f"Could not find a property named '{f}' on type 'microsoft.graph.directoryObject'.",
                "Request_BadRequest",
            )
    return fields


def project(
    obj: dict[str, Any], fields: list[str] | None, default: list[str] | None = None
) -> dict[str, Any]:
    keep = fields or default
    if keep is None:
        return obj
    return {"id": obj["id"], **{f: obj.get(f) for f in keep if f != "id"}}


def encode_token(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(data)).rstrip(b"=").decode()


def decode_token(token: str, name: str) -> dict[str, Any]:
    try:
        data = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if not isinstance(data, dict):
            raise ValueError(name)
        return data
    except (ValueError, orjson.JSONDecodeError) as exc:
        raise bad_request(f"Invalid {name} value.", "Request_BadRequest") from exc


def link(request: Request, **replace: str) -> str:
    """The request's own URL with some query options replaced (for next/delta links)."""
    params = {
        k: v for k, v in request.query_params.items() if k not in ("$skiptoken", "$deltatoken")
    }
    params.update(replace)
    return f"{str(request.base_url).rstrip('/')}{request.url.path}?{urlencode(params)}"


def page(
    conn: Connection,
    request: Request,
    stmt: Select[Any],
    keys: list[Any],
    to_graph: Callable[[Any], dict[str, Any]],
    context: str,
    top: int,
    *,
    descending: bool = False,
) -> dict[str, Any]:
    """One page of a keyset-paged list: rows after the $skiptoken's key, so pages stay
    stable while data changes (no offsets)."""
    key = tuple_(*keys)
    token = request.query_params.get("$skiptoken")
    if token:
        after = decode_token(token, "$skiptoken").get("after")
        if not isinstance(after, list) or len(after) != len(keys):
            raise bad_request("Invalid $skiptoken value.", "Request_BadRequest")
        stmt = stmt.where(key < tuple_(*after) if descending else key > tuple_(*after))
    order = [k.desc() for k in keys] if descending else keys
    rows = conn.execute(stmt.order_by(*order).limit(top + 1)).all()
    body: dict[str, Any] = {"@odata.context": context, "value": [to_graph(r) for r in rows[:top]]}
    if len(rows) > top:
        last = rows[top - 1]._mapping
        body["@odata.nextLink"] = link(
            request, **{"$skiptoken": encode_token({"after": [last[k] for k in keys]})}
        )
    return body
