"""The sites' audit anchors: the heads of their audit chains, kept off the site.

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

_BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "hub_audit_anchors",
        sa.Column("site", sa.String(length=32), nullable=False),
        sa.Column("seq", _BIG, autoincrement=False, nullable=False),
        sa.Column("audit_seq", _BIG, nullable=False),
        sa.Column("head_hash", sa.String(length=64), nullable=False),
        sa.Column("entries", _BIG, nullable=False),
        sa.Column("anchored_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("site", "seq", name=op.f("pk_hub_audit_anchors")),
    )


def downgrade() -> None:
    op.drop_table("hub_audit_anchors")
