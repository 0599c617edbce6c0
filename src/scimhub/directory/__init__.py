"""The directory: organisations, users, groups, memberships, tokens and the hub's audit
trail, with their rules (uniqueness, ETags, lifecycle) applied inside transactions."""
