"""What Active Directory and OpenLDAP (inetOrgPerson) call things: the stable id, the
attribute that says an entry changed, the classes of users and groups, and a mapping to
SCIM an admin starts from and may edit.

A mapping is applied as Entra's pull mappings are: each `{"source", "target"}` is a SCIM
PATCH `add` of the entry's value at the target path. Sources are LDAP attribute names
(case-insensitive, as LDAP's are); `objectGUID`/`entryUUID` read as the id's text. A
target must be a SCIM path; exactly one mapping targets `userName`. `active` is not
mapped: AD's `userAccountControl` bit 2 (ACCOUNTDISABLE) makes a user inactive, and an
OpenLDAP user is active (add a `source` → `active` mapping of a boolean attribute to
change that).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Preset(StrEnum):
    AD = "ad"
    OPENLDAP = "openldap"


@dataclass(frozen=True, slots=True)
class Dialect:
    """A directory kind's names for what a round reads."""

    id_attribute: str  # the stable id: survives renames and moves
    change_attribute: str  # what an incremental round asks for changes by
    user_filter: str
    group_filter: str
    member_attribute: str
    group_name_attribute: str
    disabled_flag: bool  # userAccountControl bit 2 makes a user inactive (AD)
    tombstones: bool  # deleted objects can be asked for (AD's Show Deleted control)
    mapping: tuple[tuple[str, str], ...]

    def default_mapping(self) -> list[dict[str, str]]:
        return [{"source": s, "target": t} for s, t in self.mapping]


DIALECTS: dict[Preset, Dialect] = {
    Preset.AD: Dialect(
        id_attribute="objectGUID",
        change_attribute="uSNChanged",
        # Users, not computers (which are users too in AD) or contacts.
        user_filter="(&(objectClass=user)(objectCategory=person))",
        group_filter="(objectClass=group)",
        member_attribute="member",
        group_name_attribute="cn",
        disabled_flag=True,
        tombstones=True,
        mapping=(
            ("userPrincipalName", "userName"),
            ("objectGUID", "externalId"),
            ("displayName", "displayName"),
            ("givenName", "name.givenName"),
            ("sn", "name.familyName"),
            ("mail", 'emails[type eq "work"].value'),
            ("title", "title"),
            ("department", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"),
            (
                "employeeID",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
            ),
        ),
    ),
    Preset.OPENLDAP: Dialect(
        id_attribute="entryUUID",
        # entryCSN: a change sequence number slapd keeps on every entry, finer than
        # modifyTimestamp's one second.
        change_attribute="entryCSN",
        user_filter="(objectClass=inetOrgPerson)",
        group_filter="(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames))",
        member_attribute="member",
        group_name_attribute="cn",
        disabled_flag=False,
        tombstones=False,
        mapping=(
            ("uid", "userName"),
            ("entryUUID", "externalId"),
            ("displayName", "displayName"),
            ("givenName", "name.givenName"),
            ("sn", "name.familyName"),
            ("mail", 'emails[type eq "work"].value'),
            ("title", "title"),
            (
                "employeeNumber",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
            ),
        ),
    ),
}

CHANGE_ATTRIBUTES = ("uSNChanged", "entryCSN", "modifyTimestamp")


def preset_json() -> dict[str, Any]:
    """The presets as the console's editor offers them."""
    return {
        p.value: {
            "idAttribute": d.id_attribute,
            "changeAttribute": d.change_attribute,
            "userFilter": d.user_filter,
            "groupFilter": d.group_filter,
            "memberAttribute": d.member_attribute,
            "groupNameAttribute": d.group_name_attribute,
            "mapping": d.default_mapping(),
        }
        for p, d in DIALECTS.items()
    }
