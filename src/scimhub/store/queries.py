"""Statements on the request hot path, built once with bound parameters.

Building a SQLAlchemy statement costs more than running it on SQLite (measured in
bench/micro_hot_path.py: ~930 us per GET when built per call, ~180 us when built once), so
the reads every SCIM client repeats are prepared here, once per process.
"""

from __future__ import annotations

from sqlalchemy import bindparam, insert, select, update

from .tables import custom_values, groups, memberships, users

user_by_id = select(users).where(
    users.c.id == bindparam("id"), users.c.org_id == bindparam("org_id")
)
group_by_id = select(groups).where(
    groups.c.id == bindparam("id"), groups.c.org_id == bindparam("org_id")
)

# A user with its direct groups in one statement: one row per group (or one row with
# NULL group columns). By id: the GET hot path; by userName: Entra's matching query.
_user_and_groups = (
    select(users, groups.c.id.label("group_id"), groups.c.display_name.label("group_name"))
    .select_from(
        users.outerjoin(memberships, memberships.c.member_id == users.c.id).outerjoin(
            groups, groups.c.id == memberships.c.group_id
        )
    )
    .order_by(groups.c.display_name_ci, groups.c.id)
)
user_with_groups = _user_and_groups.where(
    users.c.id == bindparam("id"), users.c.org_id == bindparam("org_id")
)
user_by_name_with_groups = _user_and_groups.where(
    users.c.org_id == bindparam("org_id"), users.c.user_name_ci == bindparam("value")
)
# The user holding a unique custom attribute's value (at most one: the index is UNIQUE).
user_by_unique_value_with_groups = _user_and_groups.where(
    users.c.org_id == bindparam("org_id"),
    users.c.id
    == (
        select(custom_values.c.resource_id)
        .where(
            custom_values.c.attribute_id == bindparam("attribute_id"),
            custom_values.c.unique_key == bindparam("value"),
        )
        .scalar_subquery()
    ),
)

# A user's direct groups (the read-only `groups` attribute), for one or many users.
groups_of_user = (
    select(memberships.c.member_id, groups.c.id, groups.c.display_name)
    .join(groups, groups.c.id == memberships.c.group_id)
    .where(memberships.c.member_id == bindparam("user_id"))
    .order_by(groups.c.display_name_ci, groups.c.id)
)
groups_of_users = (
    select(memberships.c.member_id, groups.c.id, groups.c.display_name)
    .join(groups, groups.c.id == memberships.c.group_id)
    .where(memberships.c.member_id.in_(bindparam("user_ids", expanding=True)))
    .order_by(groups.c.display_name_ci, groups.c.id)
)

# Lookups by a unique attribute (Entra matches users by userName and groups by
# displayName before every create): at most one row, so no COUNT is needed.
user_by_name = select(users).where(
    users.c.org_id == bindparam("org_id"), users.c.user_name_ci == bindparam("value")
)
group_by_name = select(groups).where(
    groups.c.org_id == bindparam("org_id"), groups.c.display_name_ci == bindparam("value")
)

insert_user = insert(users)

# A user's new column values (the SET clause is the execute parameters' columns), if the
# row is still at the version the change was computed on: a PATCH then needs neither a
# second read under the lock nor one after the write.
update_user_at_version = (
    update(users)
    .where(
        users.c.id == bindparam("b_id"),
        users.c.org_id == bindparam("b_org_id"),
        users.c.version == bindparam("b_version"),
    )
    .values(version=users.c.version + 1)
)
