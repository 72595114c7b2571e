"""Data protection: the audit purge checkpoint, impact-assessment references.

Revision ID: 0006
Revises: 0004
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ROLES = (
    "role IN ('admin', 'head_of_school', 'cpe', 'gate_agent', 'dpo', 'technician', "
    "'regional_operator')"
)


def upgrade() -> None:
    op.create_table(
        "audit_checkpoint",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("through_seq", sa.BigInteger(), nullable=False),
        sa.Column("through_hash", sa.String(length=64), nullable=False),
        sa.Column("purged_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("id = 1", name="ck_audit_checkpoint_single_row"),
        sa.PrimaryKeyConstraint("id", name="pk_audit_checkpoint"),
    )
    op.create_table(
        "impact_assessments",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("reference", sa.String(), nullable=False),
        sa.Column("recorded_by", sa.String(), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.String(), server_default="", nullable=False),
        sa.CheckConstraint(_ROLES, name="ck_impact_assessments_role"),
        sa.PrimaryKeyConstraint("id", name="pk_impact_assessments"),
    )


def downgrade() -> None:
    op.drop_table("impact_assessments")
    op.drop_table("audit_checkpoint")
