"""Storage fixtures: every test runs on SQLite (a temp file) and on PostgreSQL.

PostgreSQL is ``SEUIL_TEST_POSTGRES_URL`` (default: postgres@127.0.0.1:5432/test). Each
test gets its own schema (``seuil_t_<session>_<n>``) through the connection's
search_path, dropped afterwards, so parallel and repeated runs never collide. Where
the server is unreachable the PostgreSQL cases skip, or fail when ``CI`` or
``SEUIL_REQUIRE_SERVICES`` is set.
"""

from __future__ import annotations

import itertools
import os
import secrets
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url

from seuil.adapters.storage import SqlUnitOfWork, create_storage_engine
from seuil.adapters.storage.tables import metadata
from seuil.domain.people import Person, PersonKind, new_person_ref

SERVICES_REQUIRED = bool(os.environ.get("CI") or os.environ.get("SEUIL_REQUIRE_SERVICES"))
POSTGRES_URL = os.environ.get(
    "SEUIL_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
BACKENDS = ["sqlite", "postgresql"]
T0 = datetime(2025, 9, 1, 7, 30, tzinfo=UTC)


class PostgresSchemas:
    """Creates one throwaway schema per test on the shared PostgreSQL database."""

    def __init__(self, admin: sa.Engine) -> None:
        self.admin = admin
        self.prefix = f"seuil_t_{secrets.token_hex(4)}"
        self._numbers = itertools.count(1)

    def create(self) -> tuple[str, str]:
        schema = f"{self.prefix}_{next(self._numbers)}"
        with self.admin.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        url = make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
        return schema, url.render_as_string(hide_password=False)

    def drop(self, schema: str) -> None:
        with self.admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')

    def drop_all(self) -> None:
        with self.admin.begin() as conn:
            names = conn.execute(
                sa.text("SELECT nspname FROM pg_namespace WHERE nspname LIKE :p"),
                {"p": f"{self.prefix}\\_%"},
            ).scalars()
            for name in list(names):
                conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresSchemas]:
    admin = create_storage_engine(POSTGRES_URL, connect_timeout=3)
    try:
        with admin.connect():
            pass
    except sa_exc.DBAPIError as exc:
        admin.dispose()
        first_line = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        message = (
            f"PostgreSQL not reachable at {make_url(POSTGRES_URL).render_as_string()} "
            f"({first_line}); set SEUIL_TEST_POSTGRES_URL or start the server"
        )
        if SERVICES_REQUIRED:
            pytest.fail(message)
        pytest.skip(message)
    schemas = PostgresSchemas(admin)
    yield schemas
    schemas.drop_all()
    admin.dispose()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def empty_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database (no tables) on ``backend``."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'seuil.sqlite3'}"
        return
    schemas: PostgresSchemas = request.getfixturevalue("postgres")
    schema, url = schemas.create()
    yield url
    schemas.drop(schema)


@pytest.fixture
def engine(empty_url: str) -> Iterator[sa.Engine]:
    """An engine on a database with seuil's tables (``metadata.create_all``)."""
    engine = create_storage_engine(empty_url)
    metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def postgres_engine(postgres: PostgresSchemas) -> Iterator[sa.Engine]:
    """For the few PostgreSQL-only behaviours (read-only transactions, server kills)."""
    schema, url = postgres.create()
    engine = create_storage_engine(url)
    metadata.create_all(engine)
    yield engine
    engine.dispose()
    postgres.drop(schema)


@pytest.fixture
def uow(engine: sa.Engine) -> Callable[..., SqlUnitOfWork]:
    """A factory of units of work on ``engine``: ``with uow() as u: ...``."""

    def make(**kwargs: Any) -> SqlUnitOfWork:
        return SqlUnitOfWork(engine, **kwargs)

    return make


@pytest.fixture
def make_person() -> Callable[..., Person]:
    def make(**fields: Any) -> Person:
        defaults: dict[str, Any] = {
            "ref": new_person_ref(),
            "kind": PersonKind.PUPIL,
            "last_name": "Durand",
            "first_name": "Zoë",
            "external_id": secrets.token_hex(4),
            "group": "2NDE3",
            "birth_date": date(2009, 3, 14),
            "entry_date": date(2024, 9, 2),
            "updated_at": T0,
        }
        defaults.update(fields)
        return Person(**defaults)

    return make
