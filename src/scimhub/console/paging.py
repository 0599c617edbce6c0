"""Page numbers in the query string, turned into SQL offsets, and the pager's links."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

PAGE_SIZE = 50
MAX_PAGE = 1_000_000  # bounds the OFFSET a crafted URL can ask for
_MAX_DIGITS = len(str(MAX_PAGE))


def page_number(request: Request) -> int:
    """`page`, clamped to 1..MAX_PAGE; anything but ASCII digits means page 1 (`isdigit()`
    accepts "²", which `int()` refuses)."""
    raw = request.query_params.get("page", "1")
    if not (raw.isascii() and raw.isdigit()):
        return 1
    digits = raw.lstrip("0")
    if len(digits) > _MAX_DIGITS:  # clamped anyway, and `int()` refuses 4,300+ digits
        return MAX_PAGE
    return min(max(1, int(digits or "0")), MAX_PAGE)


@dataclass(frozen=True, slots=True)
class Pager:
    number: int
    size: int
    total: int
    base_href: str  # the current URL without `page`

    @classmethod
    def of(cls, request: Request, total: int, size: int = PAGE_SIZE) -> Pager:
        base = request.url.remove_query_params("page")
        return cls(
            page_number(request),
            size,
            total,
            base.path + (f"?{base.query}&" if base.query else "?"),
        )

    @staticmethod
    def offset_for(request: Request, size: int = PAGE_SIZE) -> int:
        return (page_number(request) - 1) * size

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def first_item(self) -> int:
        return min(self.total, (self.number - 1) * self.size + 1)

    @property
    def last_item(self) -> int:
        return min(self.total, self.number * self.size)

    def href(self, number: int) -> str:
        return f"{self.base_href}page={number}"
