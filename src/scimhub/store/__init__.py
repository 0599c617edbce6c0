"""Persistence: SQLAlchemy tables, engine and sessions, migrations, SCIM filter to SQL."""
