"""The hub's database: engine (its own PostgreSQL schema, or a SQLite file) and migrations.

On PostgreSQL the hub lives in its own schema (``seuil_hub`` unless the URL already sets
a ``search_path``): created if missing, and every connection's search_path points at
it, so the hub's tables never mix with a site's even on a shared server.
"""

from __future__ import annotations

import re
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from seuil.adapters.storage.engine import create_storage_engine
from seuil.adapters.storage.errors import storage_errors
from seuil.domain.errors import ConfigurationError

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
DEFAULT_SCHEMA = "seuil_hub"
_SCHEMA = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def hub_url(url: str, schema: str = DEFAULT_SCHEMA) -> str:
    """``url`` with the hub's search_path on PostgreSQL (unless it already has one)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql" or "options" in parsed.query:
        return url
    if not _SCHEMA.match(schema):
        raise ConfigurationError(f"invalid schema name {schema!r}")
    with_path = parsed.update_query_dict({"options": f"-csearch_path={schema}"})
    return with_path.render_as_string(hide_password=False)


def create_hub_engine(url: str, schema: str = DEFAULT_SCHEMA) -> sa.Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql" and "options" not in parsed.query:
        admin = create_storage_engine(url)
        try:
            with storage_errors(admin.url, connecting=True), admin.begin() as conn:
                conn.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        finally:
            admin.dispose()
    return create_storage_engine(hub_url(url, schema))


def alembic_config(connection: sa.Connection | None = None):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    config.attributes["connection"] = connection
    return config


def upgrade_hub(engine: sa.Engine, revision: str = "head") -> None:
    """Create or upgrade the hub's schema (idempotent, one transaction)."""
    from alembic import command

    with storage_errors(engine.url), engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Several hub processes starting at once on a fresh schema: one migrates,
            # the others wait for it (the lock ends with this transaction).
            connection.exec_driver_sql("SELECT pg_advisory_xact_lock(7207331)")
        command.upgrade(alembic_config(connection), revision)
