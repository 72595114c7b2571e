"""Database engines: SQLite (WAL) by default, PostgreSQL by URL.

SQLite connections get the pragmas a small site server needs: WAL journal (readers never
wait for the writer), foreign keys enforced, a busy timeout (writers queue instead of
failing), ``synchronous=NORMAL`` (safe with WAL) and ``secure_delete`` (erased templates
and photos are overwritten with zeros instead of lingering in free pages). Transactions
start with ``BEGIN IMMEDIATE``, so a unit of work holds the write lock from its first
statement and two units can never read the same audit head and fork the chain.

Connection failures become :class:`~seuil.domain.errors.StorageUnavailableError` with the
URL (password hidden) and the driver's first line, never a raw traceback.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from seuil.domain.errors import ConfigurationError, StorageUnavailableError

logger = logging.getLogger(__name__)

DATABASE_URL_ENV = "SEUIL_DATABASE_URL"
BUSY_TIMEOUT_S = 15.0
CONNECT_TIMEOUT_S = 5.0
READ_ONLY_OPTION = "seuil_read_only"  # execution option: begin a deferred (read) transaction

_SQLITE_PRAGMAS = (
    "PRAGMA foreign_keys=ON",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA secure_delete=ON",
)


class _NoRowData(logging.Filter):
    """SQLAlchemy logs every fetched row at DEBUG (names, hashes, ciphertext): drop those
    records, keep the statements (whose parameters ``hide_parameters`` already hides)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (isinstance(record.msg, str) and record.msg.startswith(("Row ", "Col ")))


_ROW_FILTER = _NoRowData()


def _quiet_rows() -> None:
    for name in ("sqlalchemy.engine.Engine", "sqlalchemy.engine"):
        target = logging.getLogger(name)
        if _ROW_FILTER not in target.filters:
            target.addFilter(_ROW_FILTER)


def default_database_url(env: Mapping[str, str] | None = None) -> str:
    """``SEUIL_DATABASE_URL``, else a SQLite file in the user's data directory."""
    env = os.environ if env is None else env
    url = env.get(DATABASE_URL_ENV, "").strip()
    if url:
        return url
    from platformdirs import user_data_dir

    return f"sqlite:///{Path(user_data_dir('seuil')) / 'seuil.sqlite3'}"


def safe_url(url: str | URL) -> str:
    """The URL for messages and logs: the password is masked."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<invalid database URL>"


def create_storage_engine(
    url: str,
    *,
    connect_timeout: float = CONNECT_TIMEOUT_S,
    busy_timeout: float = BUSY_TIMEOUT_S,
) -> sa.Engine:
    """An engine for ``url`` (``sqlite:///path`` or ``postgresql+psycopg://...``).

    Nothing is connected yet: the first unit of work connects, and raises
    :class:`StorageUnavailableError` if the database cannot be reached.
    ``connect_timeout`` bounds the wait for a PostgreSQL server; ``busy_timeout`` how
    long a SQLite writer queues behind another before giving up.
    """
    _quiet_rows()
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigurationError(f"invalid database URL {safe_url(url)!r}: {exc}") from None
    try:
        if parsed.get_backend_name() == "sqlite":
            return _sqlite_engine(parsed, busy_timeout)
        if parsed.get_backend_name() == "postgresql":
            return _postgresql_engine(parsed, connect_timeout)
    except (NoSuchModuleError, ImportError) as exc:
        raise ConfigurationError(f"no driver for {safe_url(parsed)}: {exc}") from None
    raise ConfigurationError(
        f"unsupported database {parsed.get_backend_name()!r}: use sqlite:/// or postgresql+psycopg://"
    )


def _sqlite_engine(url: URL, busy_timeout: float) -> sa.Engine:
    database = url.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        try:
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageUnavailableError(
                f"cannot create the folder for the database {safe_url(url)}: {exc.strerror}"
            ) from None
    # hide_parameters: statement parameters (names, ciphertext) never reach a log line or
    # an error message, even with SQLAlchemy's engine logging on (`seuil -v`).
    engine = sa.create_engine(url, connect_args={"timeout": busy_timeout}, hide_parameters=True)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module: it would not BEGIN
        # before a SELECT, and it could not BEGIN IMMEDIATE (see the "begin" hook).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
            for pragma in _SQLITE_PRAGMAS:
                cursor.execute(pragma)
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        # A read-only unit takes no write lock, and query_only makes SQLite refuse its
        # writes as PostgreSQL's READ ONLY does. Set on every BEGIN: connections are pooled.
        if conn.get_execution_options().get(READ_ONLY_OPTION, False):
            conn.exec_driver_sql("PRAGMA query_only=ON")
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("PRAGMA query_only=OFF")  # before: BEGIN IMMEDIATE writes
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _postgresql_engine(url: URL, connect_timeout: float) -> sa.Engine:
    connect_args: dict[str, Any] = {}
    if "connect_timeout" not in url.query:
        # libpq counts whole seconds; at least 1, or it would mean "wait forever".
        connect_args["connect_timeout"] = max(1, round(connect_timeout))
    engine = sa.create_engine(
        url, connect_args=connect_args, pool_pre_ping=True, hide_parameters=True
    )

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        if conn.get_execution_options().get(READ_ONLY_OPTION, False):
            conn.exec_driver_sql("SET TRANSACTION READ ONLY")

    return engine


def truncate_wal(connection: sa.Connection) -> bool:
    """SQLite: checkpoint the WAL into the database file and truncate it to zero bytes.

    After an erasure commits, the erased blob's old page images can still sit in the
    WAL file; this removes them (the unit of work calls it after such a commit). It
    waits up to the busy timeout for readers to finish; False means readers kept it
    from completing, so old pages may stay in the WAL until the next checkpoint.
    Must run outside a transaction (it uses the DBAPI connection directly, so no BEGIN
    is emitted). Always True on PostgreSQL, which has no WAL file of ours to clean.
    """
    if connection.dialect.name != "sqlite":
        return True
    if connection.in_transaction():
        raise RuntimeError("truncate_wal must run outside a transaction")
    driver = connection.connection.driver_connection
    if driver is None:  # the connection was invalidated
        return False
    busy, _log, _done = driver.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    return not busy
