"""Apply the packaged Alembic migrations programmatically (no alembic.ini needed).

The migration scripts ship inside the package (``migrations/``), so an installed seuil
can upgrade its own database: ``seuil db upgrade`` or :func:`upgrade` from bootstrap.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa

from seuil.adapters.storage.engine import create_storage_engine
from seuil.adapters.storage.errors import storage_errors

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def alembic_config(connection: sa.Connection | None = None) -> Config:
    """An Alembic configuration for the packaged scripts, bound to ``connection``."""
    from alembic.config import Config

    config = Config()
    # ConfigParser interpolates "%": escape it in the path.
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    config.attributes["connection"] = connection
    return config


def upgrade_engine(engine: sa.Engine, revision: str = "head") -> None:
    """Upgrade the database behind ``engine`` to ``revision``, in one transaction."""
    from alembic import command

    with storage_errors(engine.url), engine.begin() as connection:
        command.upgrade(alembic_config(connection), revision)


def upgrade(url: str, revision: str = "head") -> None:
    """Create or upgrade the seuil schema at ``url`` (idempotent)."""
    engine = create_storage_engine(url)
    try:
        upgrade_engine(engine, revision)
    finally:
        engine.dispose()


def current_revision(engine: sa.Engine) -> str | None:
    """The revision the database is at (None: never migrated)."""
    from alembic.runtime.migration import MigrationContext

    with storage_errors(engine.url), engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
