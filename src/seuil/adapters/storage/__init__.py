"""Storage adapter: SQLAlchemy Core on SQLite (WAL, the default) or PostgreSQL.

The public API, for ``bootstrap`` and the CLI::

    engine = create_storage_engine(url)      # lazy: nothing connects yet
    upgrade(url)                             # apply the Alembic migrations
    with SqlUnitOfWork(engine) as uow:       # one transaction
        uow.people.add(person)
        uow.audit.append(AuditEvent(...), clock.now())
        uow.commit()
    with SqlUnitOfWork(engine, read_only=True) as uow:
        verdict = verify_audit(uow)

Importing this package does no work: engines are built by the caller.
"""

from seuil.adapters.storage.audit_log import SqlAuditLog, verify_anchors, verify_audit
from seuil.adapters.storage.engine import (
    DATABASE_URL_ENV,
    create_storage_engine,
    default_database_url,
    safe_url,
)
from seuil.adapters.storage.migrate import upgrade
from seuil.adapters.storage.unit_of_work import SqlUnitOfWork

__all__ = [
    "DATABASE_URL_ENV",
    "SqlAuditLog",
    "SqlUnitOfWork",
    "create_storage_engine",
    "default_database_url",
    "safe_url",
    "upgrade",
    "verify_anchors",
    "verify_audit",
]
