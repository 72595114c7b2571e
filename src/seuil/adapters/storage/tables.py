"""The database schema, as SQLAlchemy Core tables.

Core rather than the ORM: the domain already has its own frozen dataclasses and the
ports their own unit of work, so an ORM would add a second identity map and a second
object model to keep in step, and its objects could escape the repositories. With Core
every statement is explicit (which matters for the audit chain's row lock and for
erasure), and rows map to domain objects in one small function per table.

Times are stored in UTC and always come back timezone-aware (:class:`UtcDateTime`), on
SQLite (which has no time zone type) as on PostgreSQL. Blobs are ciphertext only.
Changes to this file need a new migration in ``migrations/versions``; a test checks
that the migrations produce exactly this schema.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from seuil.domain.accounts import Role
from seuil.domain.consent import ConsentGiver, ConsentState
from seuil.domain.credentials import CredentialKind, RevocationReason, TemplateStorage
from seuil.domain.devices import DeviceKind
from seuil.domain.incidents import Action, IncidentStatus, SignalKind
from seuil.domain.notifications import NotificationStatus
from seuil.domain.people import PersonKind, PersonStatus
from seuil.domain.ppms import PpmsMode

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime stored in UTC; naive datetimes are refused."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("naive datetime: seuil stores timezone-aware times only")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _one_of(column: str, values: type[Any]) -> str:
    allowed = ", ".join(f"'{v.value}'" for v in values)
    return f"{column} IN ({allowed})"


people = sa.Table(
    "people",
    metadata,
    sa.Column("ref", sa.String, primary_key=True),
    sa.Column("kind", sa.String, nullable=False),
    sa.Column("external_id", sa.String, nullable=True),
    sa.Column("last_name", sa.String, nullable=False),
    sa.Column("first_name", sa.String, nullable=False),
    # "last first", NFKD with accents stripped, case-folded: what PeopleQuery.text matches.
    sa.Column("search_name", sa.String, nullable=False),
    sa.Column("group_code", sa.String, nullable=False, server_default=""),
    sa.Column("birth_date", sa.Date, nullable=True),
    sa.Column("entry_date", sa.Date, nullable=True),
    sa.Column("leave_date", sa.Date, nullable=True),
    sa.Column("status", sa.String, nullable=False),
    sa.Column("status_reason", sa.String, nullable=False, server_default=""),
    sa.Column("status_until", sa.Date, nullable=True),
    sa.Column("updated_at", UtcDateTime, nullable=True),
    sa.CheckConstraint(_one_of("kind", PersonKind), name="kind"),
    sa.CheckConstraint(_one_of("status", PersonStatus), name="status"),
    sa.Index(None, "kind", "external_id", unique=True),
    sa.Index(None, "kind", "status", "group_code"),
    sa.Index(None, "search_name"),
)

consents = sa.Table(
    "consents",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("person_ref", sa.String, sa.ForeignKey("people.ref"), nullable=False),
    sa.Column("state", sa.String, nullable=False),
    sa.Column("given_by", sa.String, nullable=False),
    sa.Column("recorded_at", UtcDateTime, nullable=False),
    sa.Column("form_version", sa.String, nullable=False),
    sa.Column("evidence_ref", sa.String, nullable=False, server_default=""),
    sa.Column("recorded_by", sa.String, nullable=False, server_default=""),
    sa.CheckConstraint(_one_of("state", ConsentState), name="state"),
    sa.CheckConstraint(_one_of("given_by", ConsentGiver), name="given_by"),
    sa.Index(None, "person_ref", "recorded_at"),
)

credentials = sa.Table(
    "credentials",
    metadata,
    sa.Column("id", sa.String, primary_key=True),
    sa.Column("person_ref", sa.String, sa.ForeignKey("people.ref"), nullable=False),
    sa.Column("site_id", sa.String, nullable=False),
    sa.Column("kind", sa.String, nullable=False),
    sa.Column("storage", sa.String, nullable=False),
    sa.Column("valid_from", UtcDateTime, nullable=False),
    sa.Column("valid_until", UtcDateTime, nullable=False),
    sa.Column("issued_at", UtcDateTime, nullable=False),
    sa.Column("key_id", sa.String, nullable=False, server_default=""),
    sa.Column("badge_number", sa.String, nullable=True),
    sa.Column("revoked_at", UtcDateTime, nullable=True),
    sa.Column("revocation_reason", sa.String, nullable=True),
    sa.CheckConstraint(_one_of("kind", CredentialKind), name="kind"),
    sa.CheckConstraint(_one_of("storage", TemplateStorage), name="storage"),
    sa.CheckConstraint(
        f"revocation_reason IS NULL OR {_one_of('revocation_reason', RevocationReason)}",
        name="revocation_reason",
    ),
    sa.CheckConstraint(
        "(revoked_at IS NULL) = (revocation_reason IS NULL)", name="revocation_complete"
    ),
    sa.Index(None, "person_ref"),
    sa.Index(None, "badge_number"),
    sa.Index(None, "revoked_at"),
)

templates = sa.Table(
    "templates",
    metadata,
    sa.Column("person_ref", sa.String, sa.ForeignKey("people.ref"), primary_key=True),
    sa.Column("storage", sa.String, nullable=False),
    sa.Column("blob", sa.LargeBinary, nullable=False),  # nonce + AES-GCM ciphertext
    sa.Column("key_id", sa.String, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.CheckConstraint(_one_of("storage", TemplateStorage), name="storage"),
    sa.Index(None, "storage"),
)

photos = sa.Table(
    "photos",
    metadata,
    sa.Column("person_ref", sa.String, sa.ForeignKey("people.ref"), primary_key=True),
    sa.Column("blob", sa.LargeBinary, nullable=False),  # encrypted, downscaled JPEG
    sa.Column("created_at", UtcDateTime, nullable=False),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("actor", sa.String, nullable=False),
    sa.Column("action", sa.String, nullable=False),
    sa.Column("target", sa.String, nullable=False),
    sa.Column("reason", sa.String, nullable=False),
    sa.Column("details", sa.JSON, nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Index(None, "action"),
    sa.Index(None, "target"),
)

# One row (id = 1): the last entry's seq and hash, updated in the same transaction as
# each append. Deleting the tail of audit_log leaves the anchor ahead of it: detected.
audit_anchor = sa.Table(
    "audit_anchor",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("last_seq", sa.BigInteger, nullable=False),
    sa.Column("last_hash", sa.String(64), nullable=False),
    sa.CheckConstraint("id = 1", name="single_row"),
)

# Every gate decision (the event of issue "the gate"): no image, no template, no name;
# the person only by pseudonymous reference. Retention applies (purge job).
gate_events = sa.Table(
    "gate_events",
    metadata,
    sa.Column(
        "id",
        sa.BigInteger().with_variant(sa.Integer, "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    sa.Column("gate_id", sa.String, nullable=False),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("decision", sa.String(8), nullable=False),
    sa.Column("reason", sa.String(32), nullable=True),
    sa.Column("credential_id", sa.String(32), nullable=True),
    sa.Column("person_ref", sa.String(32), nullable=True),
    sa.Column("match_score", sa.Float, nullable=True),
    sa.Column("liveness_score", sa.Float, nullable=True),
    sa.Column("latency_ms", sa.Float, nullable=True),
    sa.Column("mode", sa.String(16), nullable=False),
    sa.Column("decided_by", sa.String, nullable=False),
    sa.CheckConstraint("decision IN ('grant', 'deny', 'refer')", name="decision"),
    sa.Index(None, "at"),
    sa.Index(None, "gate_id", "at"),
    sa.Index(None, "person_ref"),
)

# -- staff accounts and their sessions, API tokens, login throttling (migration 0004) ----
# No secret is stored in clear: argon2 password hashes, SHA-256 of random tokens.


accounts = sa.Table(
    "accounts",
    metadata,
    sa.Column("id", sa.String, primary_key=True),
    sa.Column("username", sa.String, nullable=False),
    sa.Column("display_name", sa.String, nullable=False),
    sa.Column("role", sa.String, nullable=False),
    sa.Column("password_hash", sa.String, nullable=False),
    sa.Column("totp_secret", sa.String, nullable=True),
    sa.Column("disabled", sa.Boolean, nullable=False),
    sa.Column("must_change_password", sa.Boolean, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("password_changed_at", UtcDateTime, nullable=True),
    sa.CheckConstraint(_one_of("role", Role), name="role"),
    sa.Index(None, "username", unique=True),
)

sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("account_id", sa.String, sa.ForeignKey("accounts.id"), nullable=False),
    sa.Column("csrf_secret", sa.String, nullable=False),
    sa.Column("stage", sa.String(16), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("last_seen_at", UtcDateTime, nullable=False),
    sa.Column("expires_at", UtcDateTime, nullable=False),
    sa.Column("client", sa.String, nullable=False, server_default=""),
    sa.Index(None, "account_id"),
    sa.Index(None, "expires_at"),
)

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("id", sa.String, primary_key=True),
    sa.Column("account_id", sa.String, sa.ForeignKey("accounts.id"), nullable=False),
    sa.Column("name", sa.String, nullable=False),
    sa.Column("scopes", sa.String, nullable=False),  # space-separated permission names
    sa.Column("token_hash", sa.String(64), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("expires_at", UtcDateTime, nullable=True),
    sa.Column("revoked_at", UtcDateTime, nullable=True),
    sa.Column("last_used_at", UtcDateTime, nullable=True),
    sa.Index(None, "token_hash", unique=True),
    sa.Index(None, "account_id"),
)

login_throttle = sa.Table(
    "login_throttle",
    metadata,
    sa.Column("key", sa.String, primary_key=True),  # "account:<name>" or "client:<address>"
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("last_failure_at", UtcDateTime, nullable=False),
    sa.Column("locked_until", UtcDateTime, nullable=True),
)

setup_tokens = sa.Table(
    "setup_tokens",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("expires_at", UtcDateTime, nullable=False),
    sa.Column("used_at", UtcDateTime, nullable=True),
)


# The hub link (issue 7): events waiting for the regional hub, written in the same
# transaction as what they report. ``seq`` is gap-free and in commit order (taken from
# hub_link_state.last_seq under the row lock); ``sent_at`` is set on the hub's ack only.
hub_outbox = sa.Table(
    "hub_outbox",
    metadata,
    sa.Column("seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True,
              autoincrement=False),
    sa.Column("key", sa.String(32), nullable=False, unique=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("occurred_at", UtcDateTime, nullable=False),
    sa.Column("body", sa.Text, nullable=False),  # JSON, checked against the allow-list
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("sent_at", UtcDateTime, nullable=True),
    sa.Index("ix_hub_outbox_sent_at_seq", "sent_at", "seq"),
)  # fmt: skip

# One row (id = 1): the last sequence number given out, the end of the last gate-count
# interval reported, and the last hub message received.
hub_link_state = sa.Table(
    "hub_link_state",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("last_seq", sa.BigInteger, nullable=False),
    sa.Column("counts_until", UtcDateTime, nullable=True),
    sa.Column("last_message_id", sa.BigInteger, nullable=False),
)

# Messages from the hub: acknowledgements, mediator assignments, region-wide alerts.
hub_inbox = sa.Table(
    "hub_inbox",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True,
              autoincrement=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("site", sa.String(32), nullable=False),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("received_at", UtcDateTime, nullable=False),
)  # fmt: skip

# -- incidents (issue "incidents") ------------------------------------------------------
# An incident is one row plus its signals and transitions, each numbered from 0 in the
# incident: the (incident_id, seq) keys make two writers appending the same step collide
# instead of both succeeding. ``version`` is bumped by every update (optimistic check).
# Types are free strings (an unknown panel code is kept); statuses are checked.

incidents = sa.Table(
    "incidents",
    metadata,
    sa.Column("id", sa.String, primary_key=True),
    sa.Column("type", sa.String(32), nullable=False),
    sa.Column("site", sa.String, nullable=False),
    sa.Column("zone", sa.String, nullable=False),
    sa.Column("severity", sa.Integer, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("level", sa.Integer, nullable=False),
    sa.Column("opened_at", UtcDateTime, nullable=False),
    sa.Column("last_signal_at", UtcDateTime, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.CheckConstraint(_one_of("status", IncidentStatus), name="status"),
    sa.Index(None, "status", "opened_at"),
    sa.Index(None, "opened_at"),
)

incident_signals = sa.Table(
    "incident_signals",
    metadata,
    sa.Column("incident_id", sa.String, sa.ForeignKey("incidents.id"), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("source", sa.String, nullable=False),
    sa.Column("site", sa.String, nullable=False),
    sa.Column("zone", sa.String, nullable=False),
    sa.Column("code", sa.String, nullable=False),
    sa.Column("raw", sa.Text, nullable=False),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("type", sa.String(32), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    # sha256 of (source, code, at, raw): the same message handed twice is recognised.
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.CheckConstraint(_one_of("kind", SignalKind), name="kind"),
    sa.Index(None, "fingerprint", unique=True),
    sa.Index(None, "source", "at"),
)

incident_transitions = sa.Table(
    "incident_transitions",
    metadata,
    sa.Column("incident_id", sa.String, sa.ForeignKey("incidents.id"), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("by", sa.String, nullable=False),
    sa.Column("level", sa.Integer, nullable=True),
    sa.Column("note", sa.Text, nullable=False, server_default=""),
    sa.CheckConstraint(_one_of("action", Action), name="action"),
)

# The outbox: every message to send, until sent or visibly failed.
notifications = sa.Table(
    "notifications",
    metadata,
    sa.Column("id", sa.String, primary_key=True),
    sa.Column("incident_id", sa.String, nullable=False, server_default=""),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("recipient", sa.String, nullable=False),
    sa.Column("subject", sa.String, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", UtcDateTime, nullable=False),
    sa.Column("last_error", sa.Text, nullable=False, server_default=""),
    sa.Column("sent_at", UtcDateTime, nullable=True),
    sa.CheckConstraint(_one_of("status", NotificationStatus), name="status"),
    sa.Index(None, "status", "next_attempt_at"),
    sa.Index(None, "incident_id"),
    sa.Index(None, "created_at"),
)

devices = sa.Table(
    "devices",
    metadata,
    sa.Column("id", sa.String, primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("zone", sa.String, nullable=False, server_default=""),
    sa.Column("label", sa.String, nullable=False, server_default=""),
    sa.Column("supervision_interval_s", sa.Float, nullable=True),
    sa.Column("last_seen", UtcDateTime, nullable=True),
    sa.Column("health", sa.String, nullable=False, server_default=""),
    sa.Column("registered_at", UtcDateTime, nullable=True),
    sa.Column("silent_since", UtcDateTime, nullable=True),
    sa.CheckConstraint(_one_of("kind", DeviceKind), name="kind"),
)

# One row (id = 1): the site's PPMS mode. No row means normal since ever.
site_state = sa.Table(
    "site_state",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("ppms_mode", sa.String(16), nullable=False),
    sa.Column("ppms_since", UtcDateTime, nullable=False),
    sa.Column("ppms_by", sa.String, nullable=False),
    sa.Column("ppms_reason", sa.Text, nullable=False, server_default=""),
    sa.CheckConstraint("id = 1", name="single_row"),
    sa.CheckConstraint(_one_of("ppms_mode", PpmsMode), name="ppms_mode"),
)

# -- data protection (migration 0006) -------------------------------------------------------

# One row (id = 1) once the purge has deleted the oldest audit entries: the last purged
# entry's seq and hash, where verification resumes. The purge run that moved it is
# itself an audit entry (action "audit.purge", same seq and hash in its details), so a
# forged checkpoint does not match the chain.
audit_checkpoint = sa.Table(
    "audit_checkpoint",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("through_seq", sa.BigInteger, nullable=False),
    sa.Column("through_hash", sa.String(64), nullable=False),
    sa.Column("purged_at", UtcDateTime, nullable=False),
    sa.CheckConstraint("id = 1", name="single_row"),
)

# Impact-assessment (AIPD/DPIA) references recorded by the head of school; the latest
# row is in force. An identification (1:N) gate starts only if its configured reference
# is the one in force.
impact_assessments = sa.Table(
    "impact_assessments",
    metadata,
    sa.Column(
        "id",
        sa.BigInteger().with_variant(sa.Integer, "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    sa.Column("reference", sa.String, nullable=False),
    sa.Column("recorded_by", sa.String, nullable=False),
    sa.Column("role", sa.String, nullable=False),
    sa.Column("recorded_at", UtcDateTime, nullable=False),
    sa.Column("note", sa.String, nullable=False, server_default=""),
    sa.CheckConstraint(_one_of("role", Role), name="role"),
)
