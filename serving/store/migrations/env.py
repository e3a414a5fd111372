"""Alembic environment of the feedback store.

There is no alembic.ini: ``serving.store.migrate`` builds the configuration in
code and hands over an open connection in ``config.attributes``, so the URL
(and its password) never passes through a config file.
"""

from __future__ import annotations

from alembic import context

from serving.store.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "expected an open connection in config.attributes['connection'], got "
        "none; run the migrations through serving.store.migrate (or "
        "`pingjia store upgrade --db URL`), not the alembic command"
    )

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    # SQLite cannot ALTER most things; batch mode copies the table instead.
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
