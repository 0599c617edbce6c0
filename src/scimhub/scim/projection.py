"""`attributes` and `excludedAttributes` (RFC 7644 §3.4.2.5, §3.9) with `returned` (RFC 7643 §7).

A projection is compiled once per request and applied to each rendered resource (which,
unlike a stored document, includes `id`, `meta` and user `groups` / group `members`).
`needs` lets the store skip loading what will not be returned:
`excludedAttributes=members` must not load a group's members.

Rules: `returned=never` (password) is never returned; `returned=always` (`id`) always is,
whatever the parameters say; `returned=request` only when named in `attributes`. `schemas`
is always returned and lists only the schemas still present. Names are matched
case-insensitively and may be sub-attribute paths (`name.givenName`, `emails.value`),
urn-qualified, or a whole extension URN.

Unknown but well-formed names are ignored, as RFC 7644 leaves room for and clients expect
(asking for an attribute a resource type lacks returns nothing extra); malformed names
raise InvalidPath so typos in the syntax are not silently swallowed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .errors import InvalidPath
from .filter import parse_attr_path
from .schemas import COMMON, RESOURCE_TYPES, Attribute, ResourceType, resolve

# (scope, attribute) -> the sub-attributes named, or None for the whole attribute; the
# scope is "" for core and common attributes and the schema URN for extension ones.
_Selection = dict[tuple[str, str], frozenset[str] | None]
_DROP = object()


def parse_attribute_list(text: str | None) -> list[str] | None:
    """Split a comma-separated `attributes` / `excludedAttributes` query parameter; None when
    absent or blank. Raises InvalidPath for a malformed name."""
    if text is None:
        return None
    return checked_names(text.split(","))


def checked_names(names: Sequence[str]) -> list[str] | None:
    """Names stripped, blanks dropped, syntax checked (InvalidPath); None when none remain."""
    kept = [name.strip() for name in names if name.strip()]
    for name in kept:
        parse_attr_path(name)
    return kept or None


class Projection:
    """A compiled `attributes` / `excludedAttributes` pair for one resource type."""

    def __init__(
        self, rt: ResourceType, attributes: Sequence[str] | None, excluded: Sequence[str] | None
    ) -> None:
        self.rt = rt
        self.include = _selection(rt, attributes) if attributes else None
        self.exclude = _selection(rt, excluded or ())

    def apply(self, resource: Mapping[str, Any]) -> dict[str, Any]:
        """The resource as the client asked to see it."""
        result: dict[str, Any] = {}
        for key, value in resource.items():
            extension = self.rt.extension(key)
            if extension is not None and isinstance(value, Mapping):
                inner = {
                    name: kept
                    for name, item in value.items()
                    if (kept := self._value(extension.id, extension.attribute(name), item))
                    is not _DROP
                }
                if inner:
                    result[key] = inner
            elif key != "schemas":
                kept = self._value("", _core_attribute(self.rt, key), value)
                if kept is not _DROP:
                    result[key] = kept
        present = [
            urn
            for urn in resource.get("schemas", ())
            if self.rt.extension(urn) is None or urn in result
        ]
        return {"schemas": present, **result}

    def needs(self, name: str) -> bool:
        """Whether core attribute `name` (e.g. "members", "groups") will be returned."""
        attr = _core_attribute(self.rt, name)
        if attr is None or attr.returned == "never":
            return False
        if attr.returned == "always":
            return True
        key = ("", attr.name)
        if key in self.exclude and self.exclude[key] is None:
            return False
        if self.include is not None:
            return key in self.include
        return attr.returned != "request"

    def _value(self, scope: str, attr: Attribute | None, value: Any) -> Any:
        if attr is None:
            return value  # not ours to judge: something the renderer added
        if attr.returned == "never":
            return _DROP
        if attr.returned == "always":
            return value
        key = (scope, attr.name)
        if self.include is not None:
            if key not in self.include:
                return _DROP
            value = _only(value, self.include[key])
        elif attr.returned == "request":
            return _DROP
        excluded = self.exclude.get(key, frozenset())
        if excluded is None:
            return _DROP
        if excluded:
            value = _without(value, excluded)
        return _DROP if value in ([], {}) else value


def project(
    rt: ResourceType,
    resource: Mapping[str, Any],
    attributes: Sequence[str] | None,
    excluded: Sequence[str] | None,
) -> dict[str, Any]:
    """One-off `Projection(rt, attributes, excluded).apply(resource)`.

    Most requests ask for no projection: then only attributes that are never returned by
    default (`returned` never or request) must go, and a glance at the top-level keys says
    whether there are any, which spares walking the whole document on the hot path."""
    if not attributes and not excluded and _HIDDEN[rt.name].isdisjoint(resource):
        return dict(resource)
    return Projection(rt, attributes, excluded).apply(resource)


def needs(
    rt: ResourceType, attributes: Sequence[str] | None, excluded: Sequence[str] | None, name: str
) -> bool:
    """One-off `Projection(rt, attributes, excluded).needs(name)`."""
    if not attributes and not excluded:
        attr = _core_attribute(rt, name)
        return attr is not None and attr.returned in ("default", "always")
    return Projection(rt, attributes, excluded).needs(name)


def _hidden_by_default(rt: ResourceType) -> frozenset[str]:
    """Top-level keys a default response must not show (core attributes only: extension
    attributes sit under their URN key, and their own `returned` is checked by `apply`)."""
    hidden = {a.name for a in rt.schema.attributes if a.returned in ("never", "request")}
    # An extension with such attributes of its own needs the full walk.
    hidden |= {
        ext.id
        for ext in rt.extensions
        if any(a.returned in ("never", "request") for a in ext.attributes)
    }
    return frozenset(hidden)


def _core_attribute(rt: ResourceType, name: str) -> Attribute | None:
    return rt.schema.attribute(name) or next(
        (a for a in COMMON if a.name.lower() == name.lower()), None
    )


def _selection(rt: ResourceType, names: Sequence[str]) -> _Selection:
    selection: _Selection = {}
    for name in names:
        extension = rt.extension(name)
        if extension is not None:
            selection.update({(extension.id, a.name): None for a in extension.attributes})
            continue
        path = parse_attr_path(name)  # malformed: InvalidPath
        try:
            found = resolve(rt, path)
        except InvalidPath:
            continue  # unknown: ignored

        schema = found.schema
        kept = schema is not None and schema.kept
        scope = schema.id if schema is not None and (schema in rt.extensions or kept) else ""
        key = (scope, found.attribute.name)
        if found.sub is None or (key in selection and selection[key] is None):
            selection[key] = None
        else:
            selection[key] = (selection.get(key) or frozenset()) | {found.sub.name}
    return selection


def _only(value: Any, subs: frozenset[str] | None) -> Any:
    if subs is None:
        return value
    if isinstance(value, list):
        return [kept for item in value if (kept := _only(item, subs))]
    if isinstance(value, Mapping):
        return {k: v for k, v in value.items() if k in subs}
    return value


def _without(value: Any, subs: frozenset[str]) -> Any:
    if isinstance(value, list):
        return [kept for item in value if (kept := _without(item, subs))]
    if isinstance(value, Mapping):
        return {k: v for k, v in value.items() if k not in subs}
    return value


_HIDDEN = {rt.name: _hidden_by_default(rt) for rt in RESOURCE_TYPES}
