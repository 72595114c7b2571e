"""Alembic environment for seuil's packaged migrations.

:func:`seuil.adapters.storage.migrate.upgrade` passes an open connection in
``config.attributes["connection"]``. Run by the ``alembic`` command instead (for
``revision --autogenerate`` during development), it connects to
``sqlalchemy.url`` or to the default database (``SEUIL_DATABASE_URL``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from seuil.adapters.storage.engine import create_storage_engine, default_database_url
from seuil.adapters.storage.tables import metadata

config = context.config


def _run(connection: sa.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER much
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _main() -> None:
    url = config.get_main_option("sqlalchemy.url") or default_database_url()
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_storage_engine(url)
    try:
        with engine.begin() as new_connection:
            _run(new_connection)
    finally:
        engine.dispose()


_main()
