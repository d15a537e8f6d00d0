"""Alembic environment: migrations run on the connection the caller passes in."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from syndicator.store.schema import Base

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("run migrations through `syndicator db upgrade` (Database.upgrade)")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
