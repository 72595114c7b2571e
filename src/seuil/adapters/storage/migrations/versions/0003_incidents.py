"""Incidents (signals, transitions), the notification outbox, devices, the PPMS state.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30

Self-contained on purpose (no import of ``tables``): a migration freezes the schema
of its time, whatever the application's tables become later.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("site", sa.String(), nullable=False),
        sa.Column("zone", sa.String(), nullable=False),
        sa.Column("severity", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("opened_at", _utc(), nullable=False),
        sa.Column("last_signal_at", _utc(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "status IN ('open', 'acknowledged', 'escalated', 'resolved')",
            name="ck_incidents_status",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_incidents"),
    )
    op.create_index("ix_incidents_status_opened_at", "incidents", ["status", "opened_at"])
    op.create_index("ix_incidents_opened_at", "incidents", ["opened_at"])

    op.create_table(
        "incident_signals",
        sa.Column("incident_id", sa.String(), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("site", sa.String(), nullable=False),
        sa.Column("zone", sa.String(), nullable=False),
        sa.Column("code", sa.String(), nullable=False),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.Column("at", _utc(), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.CheckConstraint(
            "kind IN ('event', 'restore', 'repeat')", name="ck_incident_signals_kind"
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name="fk_incident_signals_incident_id_incidents"
        ),
        sa.PrimaryKeyConstraint("incident_id", "seq", name="pk_incident_signals"),
    )
    op.create_index(
        "ix_incident_signals_fingerprint", "incident_signals", ["fingerprint"], unique=True
    )
    op.create_index("ix_incident_signals_source_at", "incident_signals", ["source", "at"])

    op.create_table(
        "incident_transitions",
        sa.Column("incident_id", sa.String(), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("at", _utc(), nullable=False),
        sa.Column("by", sa.String(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), server_default="", nullable=False),
        sa.CheckConstraint(
            "action IN ('open', 'acknowledge', 'escalate', 'resolve', 'confirm')",
            name="ck_incident_transitions_action",
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name="fk_incident_transitions_incident_id_incidents",
        ),
        sa.PrimaryKeyConstraint("incident_id", "seq", name="pk_incident_transitions"),
    )

    op.create_table(
        "notifications",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("incident_id", sa.String(), server_default="", nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("recipient", sa.String(), nullable=False),
        sa.Column("subject", sa.String(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _utc(), nullable=False),
        sa.Column("last_error", sa.Text(), server_default="", nullable=False),
        sa.Column("sent_at", _utc(), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'sent', 'failed')", name="ck_notifications_status"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_notifications"),
    )
    op.create_index(
        "ix_notifications_status_next_attempt_at", "notifications", ["status", "next_attempt_at"]
    )
    op.create_index("ix_notifications_incident_id", "notifications", ["incident_id"])
    op.create_index("ix_notifications_created_at", "notifications", ["created_at"])

    op.create_table(
        "devices",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("zone", sa.String(), server_default="", nullable=False),
        sa.Column("label", sa.String(), server_default="", nullable=False),
        sa.Column("supervision_interval_s", sa.Float(), nullable=True),
        sa.Column("last_seen", _utc(), nullable=True),
        sa.Column("health", sa.String(), server_default="", nullable=False),
        sa.Column("registered_at", _utc(), nullable=True),
        sa.Column("silent_since", _utc(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('alarm_panel', 'panic_button', 'call_post', 'sensor', 'camera', "
            "'door', 'gate')",
            name="ck_devices_kind",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_devices"),
    )

    op.create_table(
        "site_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("ppms_mode", sa.String(length=16), nullable=False),
        sa.Column("ppms_since", _utc(), nullable=False),
        sa.Column("ppms_by", sa.String(), nullable=False),
        sa.Column("ppms_reason", sa.Text(), server_default="", nullable=False),
        sa.CheckConstraint("id = 1", name="ck_site_state_single_row"),
        sa.CheckConstraint(
            "ppms_mode IN ('normal', 'confinement', 'evacuation')",
            name="ck_site_state_ppms_mode",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_site_state"),
    )


def downgrade() -> None:
    for table in (
        "site_state",
        "devices",
        "notifications",
        "incident_transitions",
        "incident_signals",
        "incidents",
    ):
        op.drop_table(table)
