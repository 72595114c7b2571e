"""Initial schema: people, consents, credentials, templates, photos, audit log and anchor.

Revision ID: 0001
Revises:
Create Date: 2025-01-01

Self-contained on purpose (no import of ``tables``): a migration freezes the schema
of its time, whatever the application's tables become later.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS = "0" * 64


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "people",
        sa.Column("ref", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("external_id", sa.String(), nullable=True),
        sa.Column("last_name", sa.String(), nullable=False),
        sa.Column("first_name", sa.String(), nullable=False),
        sa.Column("search_name", sa.String(), nullable=False),
        sa.Column("group_code", sa.String(), server_default="", nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("entry_date", sa.Date(), nullable=True),
        sa.Column("leave_date", sa.Date(), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("status_reason", sa.String(), server_default="", nullable=False),
        sa.Column("status_until", sa.Date(), nullable=True),
        sa.Column("updated_at", _utc(), nullable=True),
        sa.CheckConstraint("kind IN ('pupil', 'staff', 'visitor')", name="ck_people_kind"),
        sa.CheckConstraint(
            "status IN ('active', 'suspended', 'excluded', 'left')", name="ck_people_status"
        ),
        sa.PrimaryKeyConstraint("ref", name="pk_people"),
    )
    op.create_index("ix_people_kind_external_id", "people", ["kind", "external_id"], unique=True)
    op.create_index("ix_people_kind_status_group_code", "people", ["kind", "status", "group_code"])
    op.create_index("ix_people_search_name", "people", ["search_name"])

    op.create_table(
        "consents",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("person_ref", sa.String(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("given_by", sa.String(), nullable=False),
        sa.Column("recorded_at", _utc(), nullable=False),
        sa.Column("form_version", sa.String(), nullable=False),
        sa.Column("evidence_ref", sa.String(), server_default="", nullable=False),
        sa.Column("recorded_by", sa.String(), server_default="", nullable=False),
        sa.CheckConstraint("state IN ('given', 'refused', 'withdrawn')", name="ck_consents_state"),
        sa.CheckConstraint("given_by IN ('self', 'guardian')", name="ck_consents_given_by"),
        sa.ForeignKeyConstraint(
            ["person_ref"], ["people.ref"], name="fk_consents_person_ref_people"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_consents"),
    )
    op.create_index("ix_consents_person_ref_recorded_at", "consents", ["person_ref", "recorded_at"])

    op.create_table(
        "credentials",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("person_ref", sa.String(), nullable=False),
        sa.Column("site_id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("storage", sa.String(), nullable=False),
        sa.Column("valid_from", _utc(), nullable=False),
        sa.Column("valid_until", _utc(), nullable=False),
        sa.Column("issued_at", _utc(), nullable=False),
        sa.Column("key_id", sa.String(), server_default="", nullable=False),
        sa.Column("badge_number", sa.String(), nullable=True),
        sa.Column("revoked_at", _utc(), nullable=True),
        sa.Column("revocation_reason", sa.String(), nullable=True),
        sa.CheckConstraint("kind IN ('qr', 'badge')", name="ck_credentials_kind"),
        sa.CheckConstraint(
            "storage IN ('on_credential', 'key_on_credential', 'site_database', 'none')",
            name="ck_credentials_storage",
        ),
        sa.CheckConstraint(
            "revocation_reason IS NULL OR revocation_reason IN ('left', 'excluded', "
            "'suspended', 'lost', 'consent_withdrawn', 'replaced', 'administrative')",
            name="ck_credentials_revocation_reason",
        ),
        sa.CheckConstraint(
            "(revoked_at IS NULL) = (revocation_reason IS NULL)",
            name="ck_credentials_revocation_complete",
        ),
        sa.ForeignKeyConstraint(
            ["person_ref"], ["people.ref"], name="fk_credentials_person_ref_people"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_credentials"),
    )
    op.create_index("ix_credentials_person_ref", "credentials", ["person_ref"])
    op.create_index("ix_credentials_badge_number", "credentials", ["badge_number"])
    op.create_index("ix_credentials_revoked_at", "credentials", ["revoked_at"])

    op.create_table(
        "templates",
        sa.Column("person_ref", sa.String(), nullable=False),
        sa.Column("storage", sa.String(), nullable=False),
        sa.Column("blob", sa.LargeBinary(), nullable=False),
        sa.Column("key_id", sa.String(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.CheckConstraint(
            "storage IN ('on_credential', 'key_on_credential', 'site_database', 'none')",
            name="ck_templates_storage",
        ),
        sa.ForeignKeyConstraint(
            ["person_ref"], ["people.ref"], name="fk_templates_person_ref_people"
        ),
        sa.PrimaryKeyConstraint("person_ref", name="pk_templates"),
    )
    op.create_index("ix_templates_storage", "templates", ["storage"])

    op.create_table(
        "photos",
        sa.Column("person_ref", sa.String(), nullable=False),
        sa.Column("blob", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.ForeignKeyConstraint(["person_ref"], ["people.ref"], name="fk_photos_person_ref_people"),
        sa.PrimaryKeyConstraint("person_ref", name="pk_photos"),
    )

    op.create_table(
        "audit_log",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("at", _utc(), nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("target", sa.String(), nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_action", "audit_log", ["action"])
    op.create_index("ix_audit_log_target", "audit_log", ["target"])

    anchor = op.create_table(
        "audit_anchor",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.CheckConstraint("id = 1", name="ck_audit_anchor_single_row"),
        sa.PrimaryKeyConstraint("id", name="pk_audit_anchor"),
    )
    op.bulk_insert(anchor, [{"id": 1, "last_seq": 0, "last_hash": GENESIS}])


def downgrade() -> None:
    for table in ("audit_anchor", "audit_log", "photos", "templates", "credentials", "consents"):
        op.drop_table(table)
    op.drop_table("people")
