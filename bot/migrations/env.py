"""Alembic environment: runs migrations on the connection `bot.db.upgrade_schema` (or `downgrade_schema`) passes in."""

from alembic import context

from bot.models import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata)
with context.begin_transaction():
    context.run_migrations()
