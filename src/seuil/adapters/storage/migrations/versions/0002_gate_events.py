"""Gate decisions as events.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "gate_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("gate_id", sa.String(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decision", sa.String(length=8), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=True),
        sa.Column("credential_id", sa.String(length=32), nullable=True),
        sa.Column("person_ref", sa.String(length=32), nullable=True),
        sa.Column("match_score", sa.Float(), nullable=True),
        sa.Column("liveness_score", sa.Float(), nullable=True),
        sa.Column("latency_ms", sa.Float(), nullable=True),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("decided_by", sa.String(), nullable=False),
        sa.CheckConstraint(
            "decision IN ('grant', 'deny', 'refer')", name="ck_gate_events_decision"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_gate_events"),
    )
    op.create_index("ix_gate_events_at", "gate_events", ["at"])
    op.create_index("ix_gate_events_gate_id_at", "gate_events", ["gate_id", "at"])
    op.create_index("ix_gate_events_person_ref", "gate_events", ["person_ref"])


def downgrade() -> None:
    op.drop_table("gate_events")
