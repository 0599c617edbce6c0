"""The console's `page` parameter: whatever a URL says, a list page renders the page it
means, or page 1 when it means none."""

from __future__ import annotations

import pytest

from scimhub.console.paging import MAX_PAGE

from .conftest import Admins, Console
from .test_pages import add_group, add_user

LISTS = [
    "/console/users",
    "/console/groups",
    "/console/groups/{gid}",
    "/console/audit",
    "/console/provisioning",
]


@pytest.mark.parametrize(
    ("page", "shown"),
    [
        ("\u00b2", 1),  # SUPERSCRIPT TWO: isdigit() says yes, int() says no
        ("\u0663", 1),  # ARABIC-INDIC DIGIT THREE: int() reads it, but it is no page number
        ("9" * 5000, MAX_PAGE),  # more digits than int() reads
        ("0" * 5000 + "2", 2),
        ("0", 1),
        ("-3", 1),
        ("", 1),
        ("2x", 1),
    ],
)
def test_any_page_parameter_renders_a_page(
    signed_in: Console, admins: Admins, page: str, shown: int
) -> None:
    gid = add_group(admins.org, "paged", [add_user(admins.org, "paged@example.com")])
    for path in LISTS:
        r = signed_in.http.get(path.format(gid=gid), params={"page": page})
        assert r.status_code == 200, (path, r.status_code)
        assert f"Page {shown} of" in r.text, path
