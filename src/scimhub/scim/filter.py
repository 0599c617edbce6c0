"""The filter and PATCH-path grammar of RFC 7644 §3.4.2.2 and §3.5.2, parsed into `ast` trees.

A hand-written tokenizer and recursive-descent parser: the grammar is small, and owning it
lets every error name the position and what was expected. Parsing is schema-agnostic; `bind`
checks names and types against a resource type.

Hostile input is bounded before it can cost anything: text longer than `MAX_LENGTH` and
groupings nested deeper than `MAX_DEPTH` are refused, and chains of `and`/`or` are built as
balanced trees (both operators are associative), so no input drives the parser or any
recursive consumer of its trees (SQL translation, evaluation) near Python's recursion limit.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import NoReturn

from . import ast
from .errors import InvalidFilter, InvalidPath, ScimError
from .values import storable_text

MAX_LENGTH = 4096
MAX_DEPTH = 32

COMPARE_OPS = frozenset({"eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"})
_LITERALS: dict[str, ast.Scalar] = {"true": True, "false": False, "null": None}

# ATTRNAME = ALPHA *(nameChar) (RFC 7643 §2.1), plus `$ref`; a word may carry a URN prefix
# (`urn:...:2.0:User:manager.value`) and one `.sub`, split apart by `_attr_path`.
_NAME = r"\$?[A-Za-z][A-Za-z0-9_-]*"
_NAME_RE = re.compile(_NAME)
_STRING = r'"(?:[^"\\\x00-\x1f]|\\.)*"'
_WORD = r"[A-Za-z$][A-Za-z0-9_$:.-]*"
# Numbers are ASCII digits, as in JSON (`\d` would also take "٣", which json.loads refuses).
_TOKEN_RE = re.compile(
    rf"""\s*(?:
      (?P<punct>[()\[\]])
    | (?P<string>{_STRING})
    | (?P<number>-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)(?![A-Za-z0-9_.$:-])
    | (?P<subattr>\.{_NAME})
    | (?P<word>{_WORD})
    )""",
    re.VERBOSE,
)
# The commonest filter by far is a client's matching query, `userName eq "bjensen"`: a
# word, an operator, a string. One match of this builds the tree the parser would build
# (tests/scim/test_filter_fast_path.py checks that they agree); anything else is parsed.
_SIMPLE_RE = re.compile(rf"\s*(?P<path>{_WORD})\s+(?P<op>[A-Za-z]+)\s*(?P<value>{_STRING})\s*")


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # punct string number subattr word end
    text: str
    pos: int


def parse_filter(text: str) -> ast.Filter:
    """Parse a `filter` query parameter or SearchRequest member. Raises InvalidFilter."""
    simple = _SIMPLE_RE.fullmatch(text) if len(text) <= MAX_LENGTH else None
    if simple is not None and (op := simple["op"].lower()) in COMPARE_OPS:
        path = _attr_path(simple["path"], simple.start("path"), InvalidFilter)
        value = _Token("string", simple["value"], simple.start("value"))
        return ast.Compare(path, op, _string_value(value, InvalidFilter))
    return parse_any_filter(text)


def parse_any_filter(text: str) -> ast.Filter:
    """`parse_filter` without its shortcut for the simplest filters."""
    parser = _Parser(text, InvalidFilter)
    tree = parser.filter(depth=0, in_brackets=False)
    parser.expect_end()
    return tree


def parse_path(text: str) -> ast.PatchPath:
    """Parse a PATCH `path` (§3.5.2: `attrPath / valuePath [subAttr]`). Raises InvalidPath."""
    parser = _Parser(text, InvalidPath)
    path = parser.path()
    condition: ast.Filter | None = None
    sub: str | None = None
    if parser.accept_punct("["):
        condition = parser.filter(depth=1, in_brackets=True)
        parser.expect_punct("]")
        sub_token = parser.accept("subattr")
        sub = sub_token.text[1:] if sub_token else None
    parser.expect_end()
    return ast.PatchPath(path, condition, sub)


def parse_attr_path(text: str) -> ast.AttrPath:
    """Parse a bare `[urn:]attr[.sub]`, as used by `sortBy`, `attributes` and PATCH keys."""
    return _attr_path(text.strip(), 0, InvalidPath)


def _attr_path(word: str, pos: int, error: type[ScimError]) -> ast.AttrPath:
    """Split a word at its last colon (URNs contain dots, `2.0`) and then at its dot."""
    urn, colon, rest = word.rpartition(":")
    attr, dot, sub = rest.partition(".")
    if (colon and not urn) or not _NAME_RE.fullmatch(attr) or (dot and not _NAME_RE.fullmatch(sub)):
        raise error(f"invalid attribute path '{word}' at position {pos}")
    return ast.AttrPath(attr, sub if dot else None, urn if colon else None)


def _tokenize(text: str, error: type[ScimError]) -> list[_Token]:
    if len(text) > MAX_LENGTH:
        raise error(f"longer than {MAX_LENGTH} characters")
    tokens: list[_Token] = []
    pos = 0
    while True:
        match = _TOKEN_RE.match(text, pos)
        if match is None or match.lastgroup is None:
            rest = text[pos:].lstrip()
            if not rest:
                tokens.append(_Token("end", "", len(text)))
                return tokens
            where = len(text) - len(rest)
            raise error(f"unexpected character {rest[0]!r} at position {where}")
        tokens.append(
            _Token(match.lastgroup, match.group(match.lastgroup), match.start(match.lastgroup))
        )
        pos = match.end()


def _string_value(token: _Token, error: type[ScimError]) -> str:
    try:
        value = json.loads(token.text)
    except ValueError:
        raise error(f"invalid string escape at position {token.pos}") from None
    if not storable_text(value):
        raise error(f"string at position {token.pos} contains NUL or an unpaired surrogate")
    return str(value)


def _number_value(token: _Token, error: type[ScimError]) -> int | float:
    try:
        number = json.loads(token.text)
    except ValueError:  # the token's shape is looser than JSON's: leading zeros ("007")
        raise error(f"number at position {token.pos} is not a JSON number") from None
    if isinstance(number, float) and not math.isfinite(number):
        raise error(f"number at position {token.pos} is out of range")
    return number if isinstance(number, int) else float(number)


class _Parser:
    """Recursive descent over the token list; `depth` counts groupings, not chain length."""

    def __init__(self, text: str, error: type[ScimError]) -> None:
        self.error = error
        self.tokens = _tokenize(text, error)
        self.index = 0
        if self.peek().kind == "end":
            raise error("empty expression")

    # -- token access ------------------------------------------------------------------

    def peek(self, ahead: int = 0) -> _Token:
        return self.tokens[min(self.index + ahead, len(self.tokens) - 1)]

    def advance(self) -> _Token:
        token = self.peek()
        self.index += 1
        return token

    def accept(self, kind: str) -> _Token | None:
        return self.advance() if self.peek().kind == kind else None

    def accept_punct(self, char: str) -> bool:
        token = self.peek()
        if token.kind == "punct" and token.text == char:
            self.index += 1
            return True
        return False

    def accept_keyword(self, word: str) -> bool:
        token = self.peek()
        if token.kind == "word" and token.text.lower() == word:
            self.index += 1
            return True
        return False

    def expect_punct(self, char: str) -> None:
        if not self.accept_punct(char):
            self.fail(f"expected '{char}'")

    def expect_end(self) -> None:
        if self.peek().kind != "end":
            self.fail("expected end of expression")

    def fail(self, expected: str) -> NoReturn:
        token = self.peek()
        found = f"'{token.text}'" if token.kind != "end" else "end of expression"
        raise self.error(f"{expected} at position {token.pos}, found {found}")

    # -- grammar -----------------------------------------------------------------------

    def filter(self, *, depth: int, in_brackets: bool) -> ast.Filter:
        """`or` binds loosest, then `and`, then `not` and grouping (§3.4.2.2, Table 5)."""
        if depth > MAX_DEPTH:
            raise self.error(f"nested deeper than {MAX_DEPTH} levels")
        terms = [self.conjunction(depth, in_brackets)]
        while self.accept_keyword("or"):
            terms.append(self.conjunction(depth, in_brackets))
        return ast.any_of(terms)

    def conjunction(self, depth: int, in_brackets: bool) -> ast.Filter:
        factors = [self.factor(depth, in_brackets)]
        while self.accept_keyword("and"):
            factors.append(self.factor(depth, in_brackets))
        return ast.all_of(factors)

    def factor(self, depth: int, in_brackets: bool) -> ast.Filter:
        token = self.peek()
        if token.kind == "word" and token.text.lower() == "not" and self._next_is("("):
            self.index += 2
            inner = self.filter(depth=depth + 1, in_brackets=in_brackets)
            self.expect_punct(")")
            return ast.Not(inner)
        if self.accept_punct("("):
            inner = self.filter(depth=depth + 1, in_brackets=in_brackets)
            self.expect_punct(")")
            return inner
        return self.attribute_expression(depth, in_brackets)

    def _next_is(self, char: str) -> bool:
        token = self.peek(1)
        return token.kind == "punct" and token.text == char

    def attribute_expression(self, depth: int, in_brackets: bool) -> ast.Filter:
        path = self.path()
        if in_brackets and (path.urn or path.sub):
            raise self.error(f"inside [...] name a sub-attribute only, not '{path}'")
        if not self.accept_punct("["):
            return self.condition(path)
        if in_brackets:
            self.fail("nested value paths are not allowed; expected an operator")
        inner = self.filter(depth=depth + 1, in_brackets=True)
        self.expect_punct("]")
        sub = self.accept("subattr")
        if sub is None:
            return ast.ValuePath(path, inner)
        # Entra's `emails[type eq "work"].value eq "x"`: one element satisfies both.
        return ast.ValuePath(path, ast.And(inner, self.condition(ast.AttrPath(sub.text[1:]))))

    def path(self) -> ast.AttrPath:
        token = self.peek()
        if token.kind != "word":
            self.fail("expected an attribute path")
        self.index += 1
        return _attr_path(token.text, token.pos, self.error)

    def condition(self, path: ast.AttrPath) -> ast.Filter:
        token = self.peek()
        op = token.text.lower() if token.kind == "word" else ""
        if op == "pr":
            self.index += 1
            return ast.Present(path)
        if op not in COMPARE_OPS:
            self.fail(f"expected an operator (pr {' '.join(sorted(COMPARE_OPS))}) after '{path}'")
        self.index += 1
        return ast.Compare(path, op, self.value())

    def value(self) -> ast.Scalar:
        token = self.advance()
        if token.kind == "string":
            return _string_value(token, self.error)
        if token.kind == "number":
            return _number_value(token, self.error)
        if token.kind == "word" and token.text.lower() in _LITERALS:
            return _LITERALS[token.text.lower()]
        self.index -= 1
        self.fail("expected a value (string, number, true, false or null)")
