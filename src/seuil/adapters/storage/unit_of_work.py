"""One database transaction per ``with`` block, shared by every repository.

``commit()`` applies everything written in the block at once; leaving the block
without committing, or on an exception, rolls it all back. After a commit the same
block may go on: the next statement starts a new transaction. A storage error
(:class:`ConflictError`, :class:`StorageUnavailableError`) spoils the transaction:
let it leave the block.
"""

from __future__ import annotations

import logging
from types import TracebackType
from typing import TYPE_CHECKING, Self

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from seuil.adapters.storage.accounts import (
    SqlAccountRepository,
    SqlApiTokenRepository,
    SqlSessionRepository,
    SqlSetupTokenRepository,
    SqlThrottleRepository,
)
from seuil.adapters.storage.audit_log import SqlAuditLog
from seuil.adapters.storage.blobs import SqlPhotoRepository, SqlTemplateRepository
from seuil.adapters.storage.db import Db
from seuil.adapters.storage.engine import READ_ONLY_OPTION, truncate_wal
from seuil.adapters.storage.errors import storage_errors
from seuil.adapters.storage.gate_events import SqlGateEventLog
from seuil.adapters.storage.hub_outbox import OutboxConfig, SqlHubInbox, SqlOutbox
from seuil.adapters.storage.impact_assessments import SqlImpactAssessmentRepository
from seuil.adapters.storage.incident_cache import cache_for
from seuil.adapters.storage.incidents import (
    SqlDeviceRegistry,
    SqlIncidentRepository,
    SqlNotificationOutbox,
    SqlSiteStateRepository,
)
from seuil.adapters.storage.repositories import (
    SqlConsentRepository,
    SqlCredentialRepository,
    SqlPeopleRepository,
)
from seuil.adapters.storage.retention import SqlRetentionStore

if TYPE_CHECKING:
    from seuil.ports.storage import UnitOfWork

logger = logging.getLogger(__name__)

_COMMIT_UNKNOWN = "the commit failed: check whether the change was applied before retrying"


class SqlUnitOfWork:
    """The :class:`~seuil.ports.storage.UnitOfWork` on a SQLAlchemy engine.

    ``read_only=True`` is for units that never write (gate revocation polling, audit
    verification): they take no write lock, and a write in them is refused
    (PostgreSQL READ ONLY transaction, SQLite ``query_only``). Not thread-safe: one
    unit per thread. ``hub`` enables the hub outbox (see :mod:`.hub_outbox`).
    """

    def __init__(
        self, engine: sa.Engine, *, read_only: bool = False, hub: OutboxConfig | None = None
    ) -> None:
        self._engine = engine
        self._read_only = read_only
        self._db = Db()
        self._db.incident_cache = cache_for(engine)
        self.people = SqlPeopleRepository(self._db)
        self.consents = SqlConsentRepository(self._db)
        self.credentials = SqlCredentialRepository(self._db)
        self.templates = SqlTemplateRepository(self._db)
        self.photos = SqlPhotoRepository(self._db)
        self.audit = SqlAuditLog(self._db)
        self.outbox = SqlOutbox(self._db, hub)  # disabled (add -> None) without a hub link
        self.hub_inbox = SqlHubInbox(self._db)
        self.gate_events = SqlGateEventLog(self._db, self.outbox)
        self.accounts = SqlAccountRepository(self._db)
        self.sessions = SqlSessionRepository(self._db)
        self.api_tokens = SqlApiTokenRepository(self._db)
        self.login_throttle = SqlThrottleRepository(self._db)
        self.setup_tokens = SqlSetupTokenRepository(self._db)
        self.incidents = SqlIncidentRepository(self._db)
        self.notifications = SqlNotificationOutbox(self._db)
        self.devices = SqlDeviceRegistry(self._db)
        self.site_state = SqlSiteStateRepository(self._db)
        self.retention = SqlRetentionStore(self._db)
        self.impact_assessments = SqlImpactAssessmentRepository(self._db)

    def __enter__(self) -> Self:
        if self._db.connection is not None:
            raise RuntimeError("this unit of work is already open")
        with storage_errors(self._engine.url, connecting=True):
            conn = self._engine.connect()
        try:
            if self._read_only:
                conn.execution_options(**{READ_ONLY_OPTION: True})
            with storage_errors(self._engine.url):
                conn.begin()  # SQLite: BEGIN IMMEDIATE waits up to the busy timeout
        except BaseException:
            conn.close()
            raise
        self._db.connection = conn
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        conn, self._db.connection = self._db.connection, None
        self._db.end_transaction()
        if conn is None:
            return
        try:
            if conn.in_transaction():
                conn.rollback()
        except sa_exc.SQLAlchemyError as error:
            # The connection is gone: nothing was applied. Do not hide the first error.
            logger.warning("rollback failed (%s); connection discarded", type(error).__name__)
        finally:
            conn.close()

    def commit(self) -> None:
        conn = self._open()
        self.audit.flush()
        erased = self._db.erased_blobs
        written = self._db.incidents_written
        self._db.end_transaction()
        with storage_errors(self._engine.url, outcome=_COMMIT_UNKNOWN):
            conn.commit()
        cache = self._db.incident_cache
        if cache is not None:
            for version, incident in written.values():
                cache.put(incident, version)
        if erased:
            self._purge_wal(conn)

    def rollback(self) -> None:
        conn = self._open()
        self._db.end_transaction()
        with storage_errors(self._engine.url):
            conn.rollback()

    @staticmethod
    def _purge_wal(conn: sa.Connection) -> None:
        """Erased blobs must not survive in SQLite's WAL; the commit itself succeeded."""
        try:
            if not truncate_wal(conn):
                logger.warning("WAL not truncated after an erasure: readers were active")
        except Exception as error:  # the erasure is committed; never fail it afterwards
            logger.warning("WAL truncation after an erasure failed (%s)", type(error).__name__)

    def _open(self) -> sa.Connection:
        if self._db.connection is None:
            raise RuntimeError("commit and rollback are only possible inside `with uow:`")
        return self._db.connection


if TYPE_CHECKING:  # mypy proves that the adapter satisfies the port

    def _satisfies_the_port(engine: sa.Engine) -> UnitOfWork:
        return SqlUnitOfWork(engine)
