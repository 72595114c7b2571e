"""Alembic environment for the hub's own migrations (version table ``hub_alembic_version``).

:func:`seuil.hub.db.upgrade_hub` passes an open connection in
``config.attributes["connection"]``; run by the ``alembic`` command (``revision
--autogenerate`` during development) it connects to ``sqlalchemy.url``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from seuil.adapters.storage.engine import create_storage_engine
from seuil.hub.tables import metadata

VERSION_TABLE = "hub_alembic_version"
config = context.config


def _run(connection: sa.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=VERSION_TABLE,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _main() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_storage_engine(config.get_main_option("sqlalchemy.url") or "")
    try:
        with engine.begin() as new_connection:
            _run(new_connection)
    finally:
        engine.dispose()


_main()
