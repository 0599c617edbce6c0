"""Custom attributes over SCIM: once an organisation defines one it is real schema (in
/Schemas and /ResourceTypes, validated, returned, projected, filtered and sorted in SQL,
patched by every path form Entra sends, unique when asked); an undefined one is a 400
naming it and where to define it; nothing of one organisation's attributes reaches another.
"""

from __future__ import annotations

from typing import Any

import pytest

from scimhub.api.services import Hub
from scimhub.directory.actor import Actor
from scimhub.directory.custom_attributes import AttributeExists, AttributeInUse
from scimhub.directory.locator import Locator
from scimhub.scim.custom import AttributeType, Definition
from scimhub.scim.errors import InvalidValue
from scimhub.store import custom_values
from tests.conftest import OrgClient

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
EXT = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"
GROUP_EXT = "urn:example:acme:2.0:Group"
COST = f"{EXT}:costCenter"


def _define(hub: Hub, org: OrgClient, name: str, **options: Any) -> str:
    resource = options.pop("resource", "User")
    schema = options.pop("schema", EXT if resource == "User" else GROUP_EXT)
    return hub.attributes.add(org.org_id, Definition(resource, schema, name, **options)).id


def _user(org: OrgClient, name: str, **ext: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"schemas": [USER, EXT], "userName": name}
    if ext:
        body[EXT] = ext
    r = org.post("/Users", body)
    assert r.status_code == 201, r.text
    created: dict[str, Any] = r.json()
    return created


def _names(org: OrgClient, **params: str) -> list[str]:
    r = org.get("/Users", params=params)
    assert r.status_code == 200, r.text
    return [u["userName"] for u in r.json().get("Resources", [])]


def _patch(org: OrgClient, user_id: str, *ops: dict[str, Any]) -> Any:
    return org.patch(f"/Users/{user_id}", {"schemas": [PATCH_OP], "Operations": list(ops)})


def _error(r: Any, status: int, scim_type: str | None = None) -> str:
    assert r.status_code == status, r.text
    body = r.json()
    assert body.get("scimType") == scim_type
    assert "TrackingID: SCIMHUB_" in body["detail"]
    detail: str = body["detail"]
    return detail


@pytest.fixture
def defined(hub: Hub, org: OrgClient) -> OrgClient:
    """An org with costCenter (string), badge (integer, unique) and skills (multi-valued)."""
    _define(hub, org, "costCenter", description="Finance cost centre")
    _define(hub, org, "badge", type=AttributeType.INTEGER, unique=True)
    _define(hub, org, "skills", multi_valued=True)
    return org


def test_defined_attributes_are_advertised_to_this_org_only(
    hub: Hub, defined: OrgClient, other_org: OrgClient
) -> None:
    extensions = defined.get("/ResourceTypes/User").json()["schemaExtensions"]
    assert {"schema": EXT, "required": False} in extensions
    schema = defined.get(f"/Schemas/{EXT}").json()
    attrs = {a["name"]: a for a in schema["attributes"]}
    assert attrs["costCenter"]["type"] == "string"
    assert attrs["costCenter"]["description"] == "Finance cost centre"
    assert attrs["badge"]["type"] == "integer" and attrs["badge"]["uniqueness"] == "server"
    assert attrs["skills"]["multiValued"] is True
    listed = [s["id"] for s in defined.get("/Schemas").json()["Resources"]]
    assert EXT in listed

    assert other_org.get(f"/Schemas/{EXT}").status_code == 404
    assert EXT not in [s["id"] for s in other_org.get("/Schemas").json()["Resources"]]
    others = other_org.get("/ResourceTypes/User").json()["schemaExtensions"]
    assert EXT not in [e["schema"] for e in others]


def test_values_are_written_returned_and_projected(defined: OrgClient) -> None:
    created = _user(defined, "ann", costCenter="CC-1", badge=7, skills=["go", "sql"])
    assert created["schemas"] == [USER, EXT]
    assert created[EXT] == {"costCenter": "CC-1", "badge": 7, "skills": ["go", "sql"]}
    # The URN-prefixed top-level key form reaches the same place.
    r = defined.post("/Users", {"schemas": [USER], "userName": "bob", COST: "CC-2"})
    assert r.status_code == 201, r.text
    assert r.json()[EXT] == {"costCenter": "CC-2"}

    got = defined.get(f"/Users/{created['id']}", params={"attributes": COST}).json()
    assert got[EXT] == {"costCenter": "CC-1"} and "userName" not in got
    got = defined.get(f"/Users/{created['id']}", params={"excludedAttributes": EXT}).json()
    assert EXT not in got and got["userName"] == "ann"


@pytest.mark.parametrize(
    ("ext", "fragment"),
    [
        ({"badge": "seven"}, "badge"),
        ({"badge": 1.5}, "badge"),
        ({"costCenter": 5}, "costCenter"),
        ({"costCenter": ["a", "b"]}, "costCenter"),
        ({"skills": [1]}, "skills"),
    ],
)
def test_values_are_validated_as_their_type(
    defined: OrgClient, ext: dict[str, Any], fragment: str
) -> None:
    r = defined.post("/Users", {"schemas": [USER, EXT], "userName": "x", EXT: ext})
    assert fragment in _error(r, 400, "invalidValue")
    assert _names(defined, filter='userName eq "x"') == []


def test_filters_and_sorting_on_custom_attributes(defined: OrgClient) -> None:
    _user(defined, "ann", costCenter="Sales-North", badge=30, skills=["go"])
    _user(defined, "bob", costCenter="sales-south", badge=10, skills=["sql", "go"])
    _user(defined, "cid", costCenter="Support", badge=20)
    _user(defined, "dee")

    assert _names(defined, filter=f'{COST} eq "SALES-NORTH"') == ["ann"]  # caseExact false
    assert sorted(_names(defined, filter=f'{COST} sw "sales"')) == ["ann", "bob"]
    assert sorted(_names(defined, filter=f'{COST} co "port"')) == ["cid"]
    assert sorted(_names(defined, filter=f"{EXT}:badge ge 20")) == ["ann", "cid"]
    assert sorted(_names(defined, filter=f'{EXT}:skills eq "go"')) == ["ann", "bob"]
    assert sorted(_names(defined, filter=f"{COST} pr")) == ["ann", "bob", "cid"]
    assert _names(defined, filter=f"not ({COST} pr)") == ["dee"]
    assert _names(defined, filter=f'{COST} eq "Support" and userName eq "cid"') == ["cid"]
    assert sorted(_names(defined, filter=f'{EXT}:badge lt 15 or {COST} eq "support"')) == [
        "bob",
        "cid",
    ]
    # Sorted in SQL, pages included; a resource without a value sorts last (RFC 7644 §3.4.2.3).
    by_badge = {"sortBy": f"{EXT}:badge", "filter": "userName pr"}
    assert _names(defined, **by_badge) == ["bob", "cid", "ann", "dee"]
    assert _names(defined, **by_badge, sortOrder="descending") == ["ann", "cid", "bob", "dee"]
    assert _names(defined, **by_badge, startIndex="2", count="2") == ["cid", "ann"]
    search = defined.post(
        "/Users/.search",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "filter": f"{EXT}:badge gt 15",
            "sortBy": f"{EXT}:badge",
        },
    )
    assert search.status_code == 200, search.text
    assert [u["userName"] for u in search.json()["Resources"]] == ["cid", "ann"]


def test_case_exact_attributes_compare_exactly(hub: Hub, org: OrgClient) -> None:
    _define(hub, org, "employeeCode", case_exact=True)
    _user(org, "ann", employeeCode="AbC")
    assert _names(org, filter=f'{EXT}:employeeCode eq "AbC"') == ["ann"]
    assert _names(org, filter=f'{EXT}:employeeCode eq "abc"') == []


def test_dates_booleans_and_decimals_filter_by_value(hub: Hub, org: OrgClient) -> None:
    _define(hub, org, "hired", type=AttributeType.DATETIME)
    _define(hub, org, "contractor", type=AttributeType.BOOLEAN)
    _define(hub, org, "fte", type=AttributeType.DECIMAL)
    _user(org, "ann", hired="2024-03-01T09:00:00+02:00", contractor=True, fte=0.5)
    _user(org, "bob", hired="2024-03-01T08:00:00Z", contractor=False, fte=1)
    # 07:00Z and 08:00Z: compared as instants, not as text.
    assert _names(org, filter=f'{EXT}:hired lt "2024-03-01T07:30:00Z"') == ["ann"]
    assert _names(org, filter=f"{EXT}:contractor eq true") == ["ann"]
    assert _names(org, filter=f"{EXT}:fte gt 0.75") == ["bob"]


def test_every_patch_form_entra_sends(defined: OrgClient) -> None:
    ann = _user(defined, "ann", costCenter="CC-1")
    # Entra: an Add/Replace whose path is the attribute's full URN path.
    r = _patch(defined, ann["id"], {"op": "Replace", "path": COST, "value": "CC-2"})
    assert r.status_code == 200, r.text
    assert r.json()[EXT]["costCenter"] == "CC-2"
    r = _patch(defined, ann["id"], {"op": "Add", "path": f"{EXT}:badge", "value": 12})
    assert r.status_code == 200, r.text
    # No path: the value names the attribute, by URN key or by extension object.
    r = _patch(defined, ann["id"], {"op": "replace", "value": {COST: "CC-3"}})
    assert r.json()[EXT]["costCenter"] == "CC-3"
    r = _patch(defined, ann["id"], {"op": "add", "value": {EXT: {"skills": ["go"]}}})
    assert r.json()[EXT]["skills"] == ["go"]
    assert _names(defined, filter=f'{COST} eq "CC-3"') == ["ann"]
    assert _names(defined, filter=f'{COST} eq "CC-1"') == []
    assert _names(defined, filter=f"{EXT}:badge eq 12") == ["ann"]

    r = _patch(defined, ann["id"], {"op": "Remove", "path": COST})
    assert r.status_code == 200 and "costCenter" not in r.json()[EXT]
    assert _names(defined, filter=f"{COST} pr") == []

    # PUT replaces the whole resource: what it leaves out is gone from the index too.
    put = defined.put(f"/Users/{ann['id']}", {"schemas": [USER], "userName": "ann"})
    assert put.status_code == 200 and EXT not in put.json()
    assert _names(defined, filter=f"{EXT}:skills pr") == []


def test_unique_attributes_refuse_a_second_holder(defined: OrgClient) -> None:
    ann = _user(defined, "ann", badge=1)
    r = defined.post("/Users", {"schemas": [USER, EXT], "userName": "bob", EXT: {"badge": 1}})
    assert "badge" in _error(r, 409, "uniqueness")
    bob = _user(defined, "bob", badge=2)
    r = _patch(defined, bob["id"], {"op": "replace", "path": f"{EXT}:badge", "value": 1})
    _error(r, 409, "uniqueness")
    assert defined.get(f"/Users/{bob['id']}").json()[EXT] == {"badge": 2}  # nothing applied
    # Deleted, the value is free (the recycle bin keeps the user, not its claim).
    assert defined.delete(f"/Users/{ann['id']}").status_code == 204
    r = _patch(defined, bob["id"], {"op": "replace", "path": f"{EXT}:badge", "value": 1})
    assert r.status_code == 200, r.text


def test_unique_strings_compare_without_case_unless_case_exact(hub: Hub, org: OrgClient) -> None:
    _define(hub, org, "login", unique=True)
    _user(org, "ann", login="Ann.B")
    r = org.post("/Users", {"schemas": [USER, EXT], "userName": "b", EXT: {"login": "ann.b"}})
    _error(r, 409, "uniqueness")


def test_an_undefined_attribute_is_refused_with_where_to_define_it(
    defined: OrgClient,
) -> None:
    undefined = f"{EXT}:employeeType"
    for r in (
        defined.post(
            "/Users", {"schemas": [USER, EXT], "userName": "x", EXT: {"employeeType": "F"}}
        ),
        defined.post("/Users", {"schemas": [USER], "userName": "x", undefined: "F"}),
        defined.post(
            "/Users",
            {"schemas": [USER], "userName": "x", "urn:example:other:2.0:User": {"a": 1}},
        ),
    ):
        detail = _error(r, 400, "invalidValue")
        assert "is not defined for this organisation's Users" in detail
        assert "Organization Settings > User attributes" in detail
        assert "scimhub attribute add" in detail
    ann = _user(defined, "ann")
    r = _patch(defined, ann["id"], {"op": "Add", "path": undefined, "value": "F"})
    assert f"'{undefined}'" in _error(r, 400, "invalidValue")
    r = defined.get("/Users", params={"filter": f'{undefined} eq "F"'})
    assert "is not defined" in _error(r, 400, "invalidFilter")


def test_other_orgs_neither_see_nor_use_the_definitions(
    hub: Hub, defined: OrgClient, other_org: OrgClient
) -> None:
    _user(defined, "ann", costCenter="CC-1", badge=1)
    # The same URN and name in another org is that org's own attribute, of its own type.
    _define(hub, other_org, "badge", type=AttributeType.STRING)
    r = other_org.post("/Users", {"schemas": [USER, EXT], "userName": "zed", EXT: {"badge": "1"}})
    assert r.status_code == 201, r.text  # no uniqueness clash with the first org's badge 1
    assert [
        u["userName"]
        for u in other_org.get("/Users", params={"filter": f'{EXT}:badge eq "1"'}).json()[
            "Resources"
        ]
    ] == ["zed"]
    r = other_org.post("/Users", {"schemas": [USER], "userName": "y", COST: "CC-1"})
    _error(r, 400, "invalidValue")
    r = other_org.get("/Users", params={"filter": f'{COST} eq "CC-1"'})
    _error(r, 400, "invalidFilter")


def test_group_attributes(hub: Hub, org: OrgClient) -> None:
    _define(hub, org, "region", resource="Group")
    r = org.post(
        "/Groups", {"schemas": [GROUP, GROUP_EXT], "displayName": "EU", GROUP_EXT: {"region": "eu"}}
    )
    assert r.status_code == 201, r.text
    assert {"schema": GROUP_EXT, "required": False} in org.get("/ResourceTypes/Group").json()[
        "schemaExtensions"
    ]
    found = org.get("/Groups", params={"filter": f'{GROUP_EXT}:region eq "EU"'}).json()
    assert [g["displayName"] for g in found["Resources"]] == ["EU"]
    # A Group's attribute is not a User's.
    r = org.post("/Users", {"schemas": [USER], "userName": "x", f"{GROUP_EXT}:region": "eu"})
    _error(r, 400, "invalidValue")


def test_bulk_writes_index_their_values(defined: OrgClient) -> None:
    ops = [
        {
            "method": "POST",
            "path": "/Users",
            "bulkId": f"u{i}",
            "data": {"schemas": [USER, EXT], "userName": f"bulk{i}", EXT: {"costCenter": "B"}},
        }
        for i in range(3)
    ]
    r = defined.post(
        "/Bulk",
        {"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": ops},
    )
    assert r.status_code == 200, r.text
    assert sorted(_names(defined, filter=f'{COST} eq "b"')) == ["bulk0", "bulk1", "bulk2"]


def test_a_restored_user_is_found_by_its_values_again(hub: Hub, defined: OrgClient) -> None:
    ann = _user(defined, "ann", costCenter="CC-9", badge=9)
    assert defined.delete(f"/Users/{ann['id']}").status_code == 204
    assert _names(defined, filter=f'{COST} eq "CC-9"') == []
    loc = Locator("https://hub.test", defined.org_id)
    hub.recycle_bin.restore_user(defined.org_id, ann["id"], loc, actor=Actor("Ada", "T_1"))
    assert _names(defined, filter=f'{COST} eq "CC-9"') == ["ann"]
    r = defined.post("/Users", {"schemas": [USER, EXT], "userName": "b", EXT: {"badge": 9}})
    _error(r, 409, "uniqueness")  # its unique value is claimed again


def test_definitions_are_checked(hub: Hub, org: OrgClient) -> None:
    _define(hub, org, "costCenter")
    with pytest.raises(AttributeExists):
        _define(hub, org, "COSTCENTER")
    bad: list[dict[str, Any]] = [
        {"name": "9lives"},
        {"name": "a b"},
        {"name": "ok", "schema": "not a urn"},
        {"name": "ok", "schema": USER},
        {"name": "ok", "resource": "Device"},
        {"name": "ok", "type": AttributeType.BOOLEAN, "unique": True},
        {"name": "ok", "required": True},
    ]
    for options in bad:
        name = options.pop("name")
        with pytest.raises(InvalidValue):
            _define(hub, org, name, **options)


def test_an_attribute_held_by_users_is_not_removed(hub: Hub, org: OrgClient) -> None:
    attribute = _define(hub, org, "costCenter")
    ann = _user(org, "ann", costCenter="CC-1")
    assert hub.attributes.holders(org.org_id, attribute) == [ann["id"]]
    with pytest.raises(AttributeInUse):
        hub.attributes.remove(org.org_id, attribute)
    assert _patch(org, ann["id"], {"op": "remove", "path": COST}).status_code == 200
    hub.attributes.remove(org.org_id, attribute)
    r = org.post("/Users", {"schemas": [USER], "userName": "b", COST: "x"})
    _error(r, 400, "invalidValue")  # gone at once in this process
    assert EXT not in [
        e["schema"] for e in org.get("/ResourceTypes/User").json()["schemaExtensions"]
    ]


def test_a_multi_valued_unique_attribute_claims_each_value_once(hub: Hub, org: OrgClient) -> None:
    _define(hub, org, "aliases", multi_valued=True, unique=True)
    ann = _user(org, "ann", aliases=["A.B", "a.b", "ab"])  # "A.B" and "a.b" are one value
    assert ann[EXT]["aliases"] == ["A.B", "a.b", "ab"]
    r = org.post("/Users", {"schemas": [USER, EXT], "userName": "b", EXT: {"aliases": ["AB"]}})
    _error(r, 409, "uniqueness")


def test_a_value_claimed_between_check_and_insert_is_a_409(
    hub: Hub, defined: OrgClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two writers on PostgreSQL can both pass the check; the index's UNIQUE constraint
    then refuses the second, which must read as the attribute's conflict, not a 500 or
    a userName clash."""
    _user(defined, "ann", badge=5)
    monkeypatch.setattr(custom_values, "_holder", lambda conn, row: None)
    r = defined.post("/Users", {"schemas": [USER, EXT], "userName": "bob", EXT: {"badge": 5}})
    assert f"'{EXT}:badge' must be unique" in _error(r, 409, "uniqueness")
    assert _names(defined, filter='userName eq "bob"') == []


HR = "urn:example:hr:2.0:User"


def test_an_org_may_keep_undeclared_attributes_as_sent(
    hub: Hub, org: OrgClient, other_org: OrgClient
) -> None:
    _define(hub, org, "costCenter")
    hub.attributes.keep_undeclared(org.org_id, True)
    body = {
        "schemas": [USER, EXT],
        "userName": "ann",
        EXT: {"costCenter": "CC-1", "employeeType": "F", "badges": [{"id": 1}]},
        f"{HR}:level": 3,
    }
    r = org.post("/Users", body)
    assert r.status_code == 201, r.text
    ann = r.json()
    assert ann["schemas"] == [USER, EXT, HR]
    assert ann[EXT] == {"costCenter": "CC-1", "employeeType": "F", "badges": [{"id": 1}]}
    assert ann[HR] == {"level": 3}
    assert org.get(f"/Users/{ann['id']}").json() == ann
    got = org.get(f"/Users/{ann['id']}", params={"attributes": f"{HR}:level"}).json()
    assert got[HR] == {"level": 3} and "userName" not in got
    # Defined attributes are still checked; a URN that is not an extension's is not kept.
    r = org.post("/Users", {"schemas": [USER], "userName": "b", EXT: {"costCenter": 5}})
    _error(r, 400, "invalidValue")
    r = org.post("/Users", {"schemas": [USER], "userName": "b", "urn:acme:hr:level": 1})
    _error(r, 400, "invalidValue")

    # Entra's PATCH forms reach kept attributes too.
    r = _patch(org, ann["id"], {"op": "Replace", "path": f"{EXT}:employeeType", "value": "P"})
    assert r.status_code == 200 and r.json()[EXT]["employeeType"] == "P", r.text
    r = _patch(org, ann["id"], {"op": "add", "value": {HR: {"grade": "B"}}})
    assert r.json()[HR] == {"level": 3, "grade": "B"}
    r = _patch(org, ann["id"], {"op": "remove", "path": HR})
    assert HR not in r.json() and r.json()["schemas"] == [USER, EXT]

    # Kept, not filterable: there is no type to compare by.
    for params in ({"filter": f'{EXT}:employeeType eq "P"'}, {"sortBy": f"{EXT}:employeeType"}):
        detail = _error(org.get("/Users", params=params), 400, "invalidFilter")
        assert "kept as sent but not defined" in detail and "scimhub attribute add" in detail

    # Defining it indexes what is kept, so filters find it at once.
    _define(hub, org, "employeeType")
    assert _names(org, filter=f'{EXT}:employeeType eq "p"') == ["ann"]
    # A definition the kept values do not fit is refused, naming how many.
    with pytest.raises(InvalidValue, match=r"1 user\(s\) hold values .* not of type integer"):
        _define(hub, org, "badges", type=AttributeType.INTEGER, multi_valued=True)

    # Another org still refuses; refusing again keeps what is stored.
    r = other_org.post("/Users", {"schemas": [USER], "userName": "z", f"{EXT}:employeeType": "F"})
    _error(r, 400, "invalidValue")
    hub.attributes.keep_undeclared(org.org_id, False)
    r = org.post("/Users", {"schemas": [USER], "userName": "c", f"{HR}:level": 1})
    _error(r, 400, "invalidValue")
    assert org.get(f"/Users/{ann['id']}").json()[EXT]["badges"] == [{"id": 1}]


def test_a_unique_attributes_lookup_answers_as_the_general_search(
    hub: Hub, defined: OrgClient
) -> None:
    """`badge eq 7` names at most one user: it is answered by one statement on the value
    index (as Entra's `userName eq` is), with the same document as any other search."""
    _define(hub, defined, "login", unique=True)
    ann = _user(defined, "ann", badge=7, login="Ann.B")
    team = defined.post(
        "/Groups", {"schemas": [GROUP], "displayName": "Team", "members": [{"value": ann["id"]}]}
    )
    assert team.status_code == 201, team.text
    for fast, general in (
        (f"{EXT}:badge eq 7", f"{EXT}:badge eq 7 and userName pr"),
        (f'{EXT}:login eq "ann.b"', f'{EXT}:login eq "ann.b" and userName pr'),
    ):
        quick = defined.get("/Users", params={"filter": fast}).json()
        slow = defined.get("/Users", params={"filter": general}).json()
        assert quick == slow and quick["totalResults"] == 1
        assert quick["Resources"][0]["groups"][0]["display"] == "Team"
        later = defined.get("/Users", params={"filter": fast, "startIndex": "2"}).json()
        assert later["totalResults"] == 1 and later.get("Resources", []) == []
    assert _names(defined, filter=f"{EXT}:badge eq 8") == []
    assert _names(defined, filter=f"{EXT}:badge eq 7.0") == ["ann"]
    r = defined.get("/Users", params={"filter": f'{EXT}:badge eq "7"'})
    _error(r, 400, "invalidFilter")
