"""The hub's own database schema (SQLAlchemy Core), apart from any site's.

PostgreSQL in production (its own schema, chosen by the connection's search_path),
SQLite for a one-machine trial. The staff tables (accounts, sessions, API tokens, login
throttling, setup tokens, the hash-chained audit trail) are the site's definitions,
copied, so the site's account repositories and :class:`AccountService` work unchanged;
only the role constraint differs (the hub's roles). Changes here need a migration in
``seuil/hub/migrations/versions`` (a test compares the two).
"""

from __future__ import annotations

import sqlalchemy as sa

from seuil.adapters.storage import tables as site
from seuil.adapters.storage.tables import NAMING_CONVENTION, UtcDateTime
from seuil.domain.accounts import HUB_ROLES

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

_BIG = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def _copy(table: sa.Table) -> sa.Table:
    copied = table.to_metadata(metadata)
    for constraint in list(copied.constraints):
        if isinstance(constraint, sa.CheckConstraint):
            copied.constraints.discard(constraint)
    return copied


accounts = _copy(site.accounts)
accounts.append_constraint(
    sa.CheckConstraint(
        "role IN (" + ", ".join(f"'{r.value}'" for r in sorted(HUB_ROLES)) + ")", name="role"
    )
)
sessions = _copy(site.sessions)
api_tokens = _copy(site.api_tokens)
login_throttle = _copy(site.login_throttle)
setup_tokens = _copy(site.setup_tokens)
audit_log = _copy(site.audit_log)
audit_anchor = _copy(site.audit_anchor)

# Every school that may send events: its credential (SHA-256 of a 256-bit token), its
# place on the map (from the site register), and what the board shows, kept current
# by ingestion (each projection remembers the seq it came from: late events never win).
sites = sa.Table(
    "hub_sites",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("town", sa.String(100), nullable=False, server_default=""),
    sa.Column("lat", sa.Float, nullable=True),
    sa.Column("lon", sa.Float, nullable=True),
    sa.Column("token_hash", sa.String(64), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("revoked_at", UtcDateTime, nullable=True),
    sa.Column("last_contact_at", UtcDateTime, nullable=True),
    sa.Column("high_water", _BIG, nullable=False, server_default="0"),
    sa.Column("events", _BIG, nullable=False, server_default="0"),
    sa.Column("mode", sa.String(16), nullable=False, server_default="normal"),
    sa.Column("mode_since", UtcDateTime, nullable=True),
    sa.Column("mode_seq", _BIG, nullable=False, server_default="0"),
    sa.Column("cameras_online", sa.Integer, nullable=True),
    sa.Column("cameras_total", sa.Integer, nullable=True),
    sa.Column("panels_total", sa.Integer, nullable=True),
    sa.Column("panels_silent", sa.Text, nullable=False, server_default="[]"),
    sa.Column("health_seq", _BIG, nullable=False, server_default="0"),
    sa.Column("health_at", UtcDateTime, nullable=True),
    sa.Column("heartbeat_at", UtcDateTime, nullable=True),
    sa.Column("backlog", sa.Integer, nullable=False, server_default="0"),
)

# Every event exactly once per (site, seq); the body as received (allow-listed JSON).
events = sa.Table(
    "hub_events",
    metadata,
    sa.Column("site", sa.String(32), primary_key=True),
    sa.Column("seq", _BIG, primary_key=True, autoincrement=False),
    sa.Column("key", sa.String(32), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("occurred_at", UtcDateTime, nullable=False),
    sa.Column("received_at", UtcDateTime, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Index("ix_hub_events_kind_occurred_at", "kind", "occurred_at"),
)

# The incidents of every school: the site's state (from its events) and the region's
# handling (acknowledgement, mediator, police call, closing).
incidents = sa.Table(
    "hub_incidents",
    metadata,
    sa.Column("site", sa.String(32), primary_key=True),
    sa.Column("incident_id", sa.String(64), primary_key=True),
    sa.Column("type", sa.String(32), nullable=False),
    sa.Column("severity", sa.Integer, nullable=False),
    sa.Column("zone", sa.String(64), nullable=False),
    sa.Column("site_status", sa.String(16), nullable=False),
    sa.Column("level", sa.Integer, nullable=False),
    sa.Column("opened_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.Column("received_at", UtcDateTime, nullable=False),
    sa.Column("last_seq", _BIG, nullable=False),
    sa.Column("hub_status", sa.String(16), nullable=False, server_default="new"),
    sa.Column("ack_by", sa.String(64), nullable=True),
    sa.Column("ack_at", UtcDateTime, nullable=True),
    sa.Column("police_number", sa.String(8), nullable=True),
    sa.Column("police_by", sa.String(64), nullable=True),
    sa.Column("police_at", UtcDateTime, nullable=True),
    sa.Column("closed_by", sa.String(64), nullable=True),
    sa.Column("closed_at", UtcDateTime, nullable=True),
    sa.Column("close_note", sa.String(500), nullable=True),
    sa.CheckConstraint("hub_status IN ('new', 'acknowledged', 'closed')", name="hub_status"),
    sa.Index("ix_hub_incidents_hub_status_severity", "hub_status", "severity"),
)

# A mediator sent to an incident, and where they are with it.
assignments = sa.Table(
    "hub_assignments",
    metadata,
    sa.Column("id", _BIG, primary_key=True, autoincrement=True),
    sa.Column("site", sa.String(32), nullable=False),
    sa.Column("incident_id", sa.String(64), nullable=False),
    sa.Column("mediator_id", sa.String(32), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("assigned_by", sa.String(64), nullable=False),
    sa.Column("assigned_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.CheckConstraint(
        "state IN ('assigned', 'accepted', 'on_site', 'done', 'cancelled')", name="state"
    ),
    sa.Index("ix_hub_assignments_mediator_id_state", "mediator_id", "state"),
    sa.Index("ix_hub_assignments_site_incident_id", "site", "incident_id"),
)

mediators = sa.Table(
    "hub_mediators",
    metadata,
    sa.Column("account_id", sa.String(32), primary_key=True),
    sa.Column("availability", sa.String(16), nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.CheckConstraint("availability IN ('available', 'busy', 'off')", name="availability"),
)

# Hub -> site messages (site "*" for every site), numbered for "everything after N".
messages = sa.Table(
    "hub_messages",
    metadata,
    sa.Column("id", _BIG, primary_key=True, autoincrement=True),
    sa.Column("site", sa.String(32), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("created_by", sa.String(64), nullable=False),
    sa.Index("ix_hub_messages_site_id", "site", "id"),
)

# The heads of each site's audit chain it sent (``audit.anchor`` events), kept here so a
# site can check that its chain was not rewritten since (migration 0002). ``seq`` is the
# event's; the same head may be anchored twice (nothing written in between).
audit_anchors = sa.Table(
    "hub_audit_anchors",
    metadata,
    sa.Column("site", sa.String(32), primary_key=True),
    sa.Column("seq", _BIG, primary_key=True, autoincrement=False),
    sa.Column("audit_seq", _BIG, nullable=False),
    sa.Column("head_hash", sa.String(64), nullable=False),
    sa.Column("entries", _BIG, nullable=False),
    sa.Column("anchored_at", UtcDateTime, nullable=False),
    sa.Column("received_at", UtcDateTime, nullable=False),
)
