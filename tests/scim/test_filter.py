"""The filter and PATCH-path grammar (RFC 7644 §3.4.2.2, §3.5.2)."""

from __future__ import annotations

import pytest

from scimhub.scim import ast
from scimhub.scim.ast import And, AttrPath, Compare, Not, Or, PatchPath, Present, ValuePath
from scimhub.scim.errors import InvalidFilter, InvalidPath
from scimhub.scim.filter import MAX_DEPTH, MAX_LENGTH, parse_attr_path, parse_filter, parse_path

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def eq(attr: str, value: ast.Scalar, sub: str | None = None) -> Compare:
    return Compare(AttrPath(attr, sub), "eq", value)


@pytest.mark.parametrize("op", ["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"])
def test_every_comparison_operator_case_insensitively(op: str) -> None:
    expected = Compare(AttrPath("userName"), op, "x")
    assert parse_filter(f'userName {op} "x"') == expected
    assert parse_filter(f'userName {op.upper()} "x"') == expected


def test_present() -> None:
    assert parse_filter("title pr") == Present(AttrPath("title"))
    assert parse_filter("title PR") == Present(AttrPath("title"))


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("true", True),
        ("False", False),
        ("NULL", None),
        ("42", 42),
        ("-7", -7),
        ("3.25", 3.25),
        ("1e3", 1000.0),
        ('"plain"', "plain"),
        (r'"quote \" backslash \\ slash \/ tab \t"', 'quote " backslash \\ slash / tab \t'),
        (r'"\u00e9t\u00e9"', "été"),
    ],
)
def test_literals(text: str, value: ast.Scalar) -> None:
    parsed = parse_filter(f"x eq {text}")
    assert isinstance(parsed, Compare)
    assert parsed.value == value
    assert type(parsed.value) is type(value)


def test_precedence_not_over_and_over_or() -> None:
    a, b, c = eq("a", 1), eq("b", 2), eq("c", 3)
    assert parse_filter("a eq 1 or b eq 2 and c eq 3") == Or(a, And(b, c))
    assert parse_filter("a eq 1 and b eq 2 or c eq 3") == Or(And(a, b), c)
    assert parse_filter("(a eq 1 or b eq 2) and c eq 3") == And(Or(a, b), c)
    assert parse_filter("not (a eq 1) and b eq 2") == And(Not(a), b)
    assert parse_filter("a eq 1 AND NOT(b eq 2)") == And(a, Not(b))


def test_rfc_example_with_grouping_and_value_paths() -> None:
    text = 'userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")'
    assert parse_filter(text) == And(
        eq("userType", "Employee"),
        Or(
            Compare(AttrPath("emails"), "co", "example.com"),
            Compare(AttrPath("emails", "value"), "co", "example.org"),
        ),
    )


def test_value_path_with_logical_filter() -> None:
    assert parse_filter('emails[type eq "work" and value co "@x"]') == ValuePath(
        AttrPath("emails"), And(eq("type", "work"), Compare(AttrPath("value"), "co", "@x"))
    )


def test_entra_value_path_with_sub_attribute_comparison() -> None:
    assert parse_filter('emails[type eq "work"].value eq "x"') == ValuePath(
        AttrPath("emails"), And(eq("type", "work"), eq("value", "x"))
    )


def test_value_path_with_sub_attribute_presence() -> None:
    assert parse_filter('emails[type eq "work"].value pr') == ValuePath(
        AttrPath("emails"), And(eq("type", "work"), Present(AttrPath("value")))
    )


def test_urn_qualified_paths_keep_dots_inside_the_urn() -> None:
    parsed = parse_filter(f'{ENTERPRISE}:manager.value eq "boss"')
    assert parsed == Compare(AttrPath("manager", "value", ENTERPRISE), "eq", "boss")
    core = "urn:ietf:params:scim:schemas:core:2.0:User"
    assert parse_filter(f'{core}:userName sw "a"') == Compare(
        AttrPath("userName", None, core), "sw", "a"
    )


def test_ref_and_hyphenated_names() -> None:
    assert parse_filter("members.$ref pr") == Present(AttrPath("members", "$ref"))
    assert parse_filter("x-custom_1 pr") == Present(AttrPath("x-custom_1"))


def test_long_chains_are_balanced_not_deep() -> None:
    text = " or ".join(f'id eq "{n}"' for n in range(250))
    tree = parse_filter(text)

    def depth(node: ast.Filter) -> int:
        if isinstance(node, Or | And):
            return 1 + max(depth(node.left), depth(node.right))
        return 1

    assert depth(tree) <= 10
    leaves: list[ast.Filter] = []

    def collect(node: ast.Filter) -> None:
        if isinstance(node, Or):
            collect(node.left)
            collect(node.right)
        else:
            leaves.append(node)

    collect(tree)
    assert leaves == [eq("id", str(n)) for n in range(250)]


def test_attribute_named_like_a_keyword() -> None:
    assert parse_filter('not eq "x"') == eq("not", "x")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("userName", "expected an operator"),
        ("userName eq", "expected a value"),
        ('userName xx "a"', "expected an operator"),
        ('userName eq "a" and', "expected an attribute path"),
        ('(userName eq "a"', "expected ')'"),
        ('userName eq "a")', "expected end"),
        ('emails[type eq "work"', "expected ']'"),
        ('emails[type[value eq "x"] eq "y"]', "nested value paths"),
        ('emails[name.givenName eq "x"]', "sub-attribute only"),
        ('userName eq "unterminated', "unexpected character"),
        (r'userName eq "bad \q escape"', "invalid string escape"),
        ('userName eq "\\u0000"', "NUL"),
        ('userName eq "\\ud800"', "unpaired surrogate"),
        ("userName eq bare", "expected a value"),
        ('userName eq "a" # "b"', "unexpected character '#'"),
        ('1abc eq "x"', "unexpected character"),
        ("x gt 1e999", "out of range"),
        ('name.given.Name eq "x"', "invalid attribute path"),
        (':userName eq "x"', "unexpected character ':'"),
        ('urn:x: eq "x"', "invalid attribute path"),
    ],
)
def test_invalid_filters_say_what_is_wrong(text: str, fragment: str) -> None:
    with pytest.raises(InvalidFilter) as caught:
        parse_filter(text)
    assert fragment in caught.value.detail
    assert caught.value.status == 400
    assert caught.value.scim_type == "invalidFilter"


def test_error_names_the_position() -> None:
    with pytest.raises(InvalidFilter, match="position 12"):
        parse_filter("userName eq ?")


def test_length_limit() -> None:
    text = 'userName eq "' + "a" * MAX_LENGTH + '"'
    with pytest.raises(InvalidFilter, match=f"longer than {MAX_LENGTH}"):
        parse_filter(text)


@pytest.mark.parametrize("shape", ["({})", "not ({})", "a[{}]"])
def test_depth_limit_instead_of_recursion_error(shape: str) -> None:
    deep = "x eq 1"
    for _ in range(MAX_DEPTH + 1):
        deep = shape.format(deep) if shape != "a[{}]" else f"({deep})"
    with pytest.raises(InvalidFilter, match="nested deeper"):
        parse_filter(deep)
    with pytest.raises(InvalidFilter):
        parse_filter("(" * 2000 + "x pr" + ")" * 2000)


def test_depth_within_limit_parses() -> None:
    text = "(" * (MAX_DEPTH - 1) + "x pr" + ")" * (MAX_DEPTH - 1)
    assert parse_filter(text) == Present(AttrPath("x"))


# -- PATCH paths ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("userName", PatchPath(AttrPath("userName"))),
        ("name.givenName", PatchPath(AttrPath("name", "givenName"))),
        (f"{ENTERPRISE}:department", PatchPath(AttrPath("department", None, ENTERPRISE))),
        (f"{ENTERPRISE}:manager.value", PatchPath(AttrPath("manager", "value", ENTERPRISE))),
        ('emails[type eq "work"]', PatchPath(AttrPath("emails"), eq("type", "work"))),
        (
            'emails[type eq "work"].value',
            PatchPath(AttrPath("emails"), eq("type", "work"), "value"),
        ),
        (
            'addresses[type eq "work"].streetAddress',
            PatchPath(AttrPath("addresses"), eq("type", "work"), "streetAddress"),
        ),
        ('members[value eq "2819c223"]', PatchPath(AttrPath("members"), eq("value", "2819c223"))),
        (
            'emails[type eq "work" or primary eq true]',
            PatchPath(AttrPath("emails"), Or(eq("type", "work"), eq("primary", True))),
        ),
    ],
)
def test_patch_paths(text: str, expected: PatchPath) -> None:
    assert parse_path(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "emails[",
        'emails[type eq "work"',
        'emails[type eq "work"]]',
        "emails.",
        'userName eq "x"',
        'emails[type eq "work"].value.x',
        "a b",
        "(userName)",
    ],
)
def test_invalid_patch_paths(text: str) -> None:
    with pytest.raises(InvalidPath):
        parse_path(text)


def test_attr_path() -> None:
    assert parse_attr_path(" name.familyName ") == AttrPath("name", "familyName")
    assert parse_attr_path(f"{ENTERPRISE}:manager") == AttrPath("manager", None, ENTERPRISE)
    with pytest.raises(InvalidPath):
        parse_attr_path("name[")


def test_attr_path_renders_back() -> None:
    assert str(AttrPath("manager", "value", ENTERPRISE)) == f"{ENTERPRISE}:manager.value"
    assert str(AttrPath("userName")) == "userName"
