"""`parse_filter` answers `attr op "string"` from one regex match: whatever the text, it must
give what the full parser gives, the same tree or the same error."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from scimhub.scim import ast
from scimhub.scim.errors import ScimError
from scimhub.scim.filter import parse_any_filter, parse_filter

WORDS = [
    "userName",
    "USERNAME",
    "emails.value",
    "name.givenName",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
    "urn:ietf:params:scim:schemas:core:2.0:User:name.familyName",
    "$ref",
    "not",
    "and",
    "a.b.c",
    ":x",
    "x.",
    "1abc",
    "emails[type",
    "user-Name_2",
]
OPS = ["eq", "EQ", "Ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "pr", "and", "or", "eqq", "e"]
STRINGS = [
    '"bjensen"',
    '""',
    '"with \\"quotes\\" and \\\\ slash"',
    '"\\u00e9t\\u00e9"',
    '"\\ud800"',  # an unpaired surrogate: refused
    '"\\u0000"',  # NUL: refused
    '"bad \\x escape"',
    '"unterminated',
    '"tab\there"',  # a raw control character: not a string token
    "12",
    "true",
    "null",
    '"a" and x eq "b"',
]
SPACE = st.sampled_from(["", " ", "  ", "\t", "\n", "\u00a0"])


def outcome(parse: object, text: str) -> object:
    assert callable(parse)
    try:
        return parse(text)
    except ScimError as exc:
        return (type(exc), str(exc))


@given(
    st.tuples(
        SPACE,
        st.sampled_from(WORDS) | st.from_regex(r"[A-Za-z$][A-Za-z0-9_$:.-]{0,12}", fullmatch=True),
        SPACE,
        st.sampled_from(OPS),
        SPACE,
        st.sampled_from(STRINGS) | st.text(max_size=12).map(lambda t: '"' + t + '"'),
        SPACE,
    )
)
@settings(max_examples=1500, deadline=None)
def test_the_shortcut_agrees_with_the_parser(parts: tuple[str, ...]) -> None:
    text = "".join(parts)
    assert outcome(parse_filter, text) == outcome(parse_any_filter, text)


def test_the_matching_query_is_a_comparison() -> None:
    tree = parse_filter('userName EQ "b\\"jensen"')
    assert tree == ast.Compare(ast.AttrPath("userName"), "eq", 'b"jensen')
    assert parse_filter('userName eq "x" and active eq true') == parse_any_filter(
        'userName eq "x" and active eq true'
    )
