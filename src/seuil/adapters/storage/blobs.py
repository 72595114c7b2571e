"""SQL repositories for the encrypted biometric blobs: templates and enrolment photos.

Only ciphertext reaches these tables. Erasing (or replacing) a blob flags the unit of
work, whose commit then truncates SQLite's WAL: with ``secure_delete`` on, no copy of
the erased bytes stays in the database file or its journal.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from seuil.adapters.storage import tables as t
from seuil.adapters.storage.db import Db
from seuil.domain.credentials import TemplateStorage
from seuil.ports.storage import StoredTemplate


def _template(row: sa.Row[Any]) -> StoredTemplate:
    return StoredTemplate(
        person_ref=row.person_ref,
        storage=TemplateStorage(row.storage),
        blob=bytes(row.blob),
        key_id=row.key_id,
        created_at=row.created_at,
    )


class SqlTemplateRepository:
    """One encrypted template per person; ``put`` replaces, ``erase`` deletes for good.

    On SQLite ``secure_delete`` zeroes the freed bytes and the unit of work truncates
    the WAL after committing an erasure, so no copy stays in either file; on
    PostgreSQL the old row version stays on disk until VACUUM reclaims it (the blob is
    ciphertext either way).
    """

    def __init__(self, db: Db) -> None:
        self._db = db

    def put(self, template: StoredTemplate) -> None:
        values = {
            "storage": template.storage.value,
            "blob": template.blob,
            "key_id": template.key_id,
            "created_at": template.created_at,
        }
        where = t.templates.c.person_ref == template.person_ref
        result = self._db.execute(sa.update(t.templates).where(where).values(**values))
        self._db.erased_blobs |= result.rowcount > 0  # the old ciphertext is gone
        if result.rowcount == 0:
            self._db.execute(
                sa.insert(t.templates).values(person_ref=template.person_ref, **values)
            )

    def get(self, person_ref: str) -> StoredTemplate | None:
        statement = sa.select(t.templates).where(t.templates.c.person_ref == person_ref)
        row = self._db.execute(statement).first()
        return _template(row) if row else None

    def erase(self, person_ref: str) -> bool:
        where = t.templates.c.person_ref == person_ref
        erased = self._db.execute(sa.delete(t.templates).where(where)).rowcount > 0
        self._db.erased_blobs |= erased
        return erased

    def all_site_templates(self) -> list[StoredTemplate]:
        c = t.templates.c
        statement = (
            sa.select(t.templates)
            .where(c.storage == TemplateStorage.SITE_DATABASE.value)
            .order_by(c.person_ref)
        )
        return [_template(row) for row in self._db.execute(statement)]


class SqlPhotoRepository:
    """Encrypted enrolment photos: one per person, erased with the person's biometrics."""

    def __init__(self, db: Db) -> None:
        self._db = db

    def put(self, person_ref: str, blob: bytes, at: datetime) -> None:
        where = t.photos.c.person_ref == person_ref
        result = self._db.execute(sa.update(t.photos).where(where).values(blob=blob, created_at=at))
        self._db.erased_blobs |= result.rowcount > 0
        if result.rowcount == 0:
            self._db.execute(
                sa.insert(t.photos).values(person_ref=person_ref, blob=blob, created_at=at)
            )

    def get(self, person_ref: str) -> bytes | None:
        statement = sa.select(t.photos.c.blob).where(t.photos.c.person_ref == person_ref)
        blob = self._db.execute(statement).scalar_one_or_none()
        return bytes(blob) if blob is not None else None

    def erase(self, person_ref: str) -> bool:
        where = t.photos.c.person_ref == person_ref
        erased = self._db.execute(sa.delete(t.photos).where(where)).rowcount > 0
        self._db.erased_blobs |= erased
        return erased
