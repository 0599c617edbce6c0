"""The SCIM 2.0 protocol core (RFC 7643/7644): pure, no I/O, no database."""
