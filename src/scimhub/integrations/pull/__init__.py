"""The pull engine every sync source shares (Entra's Graph delta, AD / LDAP): pages of a
source's objects, as SCIM documents, applied through links and digests, removals through
the deletion brake. A source only reads its own protocol and says what it saw."""
