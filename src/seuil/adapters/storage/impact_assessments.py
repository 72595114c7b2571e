"""SQL store of impact-assessment references (append-only; the latest is in force)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from seuil.adapters.storage import tables as t
from seuil.adapters.storage.db import Db
from seuil.domain.accounts import Role
from seuil.domain.impact_assessment import ImpactAssessment


def _record(row: sa.Row[Any]) -> ImpactAssessment:
    return ImpactAssessment(row.reference, row.recorded_by, Role(row.role), row.recorded_at,
                            row.note)  # fmt: skip


class SqlImpactAssessmentRepository:
    def __init__(self, db: Db) -> None:
        self._db = db

    def add(self, record: ImpactAssessment) -> None:
        self._db.execute(
            sa.insert(t.impact_assessments).values(
                reference=record.reference, recorded_by=record.recorded_by,
                role=record.role.value, recorded_at=record.recorded_at, note=record.note,
            )
        )  # fmt: skip

    def current(self) -> ImpactAssessment | None:
        c = t.impact_assessments.c
        row = self._db.execute(
            sa.select(t.impact_assessments).order_by(c.recorded_at.desc(), c.id.desc()).limit(1)
        ).first()
        return _record(row) if row else None

    def history(self) -> list[ImpactAssessment]:
        c = t.impact_assessments.c
        statement = sa.select(t.impact_assessments).order_by(c.recorded_at, c.id)
        return [_record(row) for row in self._db.execute(statement)]
