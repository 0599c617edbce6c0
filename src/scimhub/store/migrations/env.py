"""Alembic environment: migrations run on the connection `migrate.upgrade` hands over."""

from alembic import context

from scimhub.store.migrate import ours
from scimhub.store.tables import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection, target_metadata=metadata, render_as_batch=True, include_name=ours
)
with context.begin_transaction():
    context.run_migrations()
