"""The hub link: outbox, link state and inbox (issue 7).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "hub_outbox",
        sa.Column("seq", _BIG_ID, autoincrement=False, nullable=False),
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("seq", name="pk_hub_outbox"),
        sa.UniqueConstraint("key", name="uq_hub_outbox_key"),
    )
    op.create_index("ix_hub_outbox_sent_at_seq", "hub_outbox", ["sent_at", "seq"])
    op.create_table(
        "hub_link_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("counts_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_message_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_hub_link_state"),
    )
    op.create_table(
        "hub_inbox",
        sa.Column("id", _BIG_ID, autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("site", sa.String(length=32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_hub_inbox"),
    )


def downgrade() -> None:
    op.drop_table("hub_inbox")
    op.drop_table("hub_link_state")
    op.drop_index("ix_hub_outbox_sent_at_seq", table_name="hub_outbox")
    op.drop_table("hub_outbox")
