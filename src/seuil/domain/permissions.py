"""The one permission matrix: which role may do what. Standard library only.

Every protected page and API route names exactly one :class:`Permission`; the web layer
asks :func:`allowed` and nothing else. ``docs/roles.md`` shows the same table (a test
keeps the two in step).
"""

from __future__ import annotations

from enum import StrEnum

from seuil.domain.accounts import Role


class Permission(StrEnum):
    VIEW_PEOPLE = "view_people"
    MANAGE_PEOPLE = "manage_people"
    ENROL = "enrol"
    RECORD_CONSENT = "record_consent"
    MANAGE_CREDENTIALS = "manage_credentials"
    SYNC_ROSTER = "sync_roster"
    VIEW_AUDIT = "view_audit"
    MANAGE_ACCOUNTS = "manage_accounts"
    MANAGE_SETTINGS = "manage_settings"
    VIEW_INCIDENTS = "view_incidents"
    HANDLE_INCIDENTS = "handle_incidents"
    CONTROL_PPMS = "control_ppms"
    VIEW_GATE_SCREEN = "view_gate_screen"
    DECIDE_AT_GATE = "decide_at_gate"
    VIEW_DEVICES = "view_devices"
    MANAGE_DEVICES = "manage_devices"
    EXPORT_SUBJECT_DATA = "export_subject_data"
    USE_API = "use_api"
    # The regional hub (issue 7): no personal data reaches it, so none of these is.
    HUB_VIEW = "hub_view"  # the board and the incidents of every school
    HUB_HANDLE = "hub_handle"  # acknowledge, assign a mediator, record a police call, close
    HUB_MANAGE = "hub_manage"  # sites and their credentials, region-wide alerts
    HUB_MEDIATE = "hub_mediate"  # a mediator's own assignments and availability

    @property
    def personal_data(self) -> bool:
        """Whether holding this permission shows names, photos or personal records."""
        return self in _PERSONAL


_PERSONAL = frozenset(
    {
        Permission.VIEW_PEOPLE,
        Permission.MANAGE_PEOPLE,
        Permission.ENROL,
        Permission.RECORD_CONSENT,
        Permission.MANAGE_CREDENTIALS,
        Permission.SYNC_ROSTER,
        Permission.VIEW_AUDIT,
        Permission.VIEW_GATE_SCREEN,
        Permission.DECIDE_AT_GATE,
        Permission.EXPORT_SUBJECT_DATA,
    }
)


def _set(names: str) -> frozenset[Permission]:
    return frozenset(Permission(name) for name in names.split())


MATRIX: dict[Role, frozenset[Permission]] = {
    # The school's administrator: everything, every act audited.
    Role.ADMIN: frozenset(Permission),
    Role.HEAD_OF_SCHOOL: _set(
        "view_people manage_people enrol record_consent manage_credentials sync_roster "
        "view_audit manage_settings view_incidents handle_incidents control_ppms "
        "view_gate_screen view_devices export_subject_data use_api"
    ),
    Role.CPE: _set(
        "view_people manage_people enrol record_consent manage_credentials sync_roster "
        "view_incidents handle_incidents view_gate_screen decide_at_gate use_api"
    ),
    Role.GATE_AGENT: _set("view_gate_screen decide_at_gate view_incidents handle_incidents"),
    Role.DPO: _set("view_people view_audit export_subject_data view_incidents"),
    # Settings hold no personal data: gate modes, operating points, escalation delays.
    Role.TECHNICIAN: _set("view_devices manage_devices manage_settings view_incidents use_api"),
    # Read-only on a site, and never any personal data (see Permission.personal_data).
    Role.REGIONAL_OPERATOR: _set("view_incidents view_devices hub_view hub_handle"),
    Role.REGIONAL_SUPERVISOR: _set("view_incidents view_devices hub_view hub_handle hub_manage"),
    Role.MEDIATOR: _set("hub_mediate"),
}

HUB_PERMISSIONS = frozenset(
    {Permission.HUB_VIEW, Permission.HUB_HANDLE, Permission.HUB_MANAGE, Permission.HUB_MEDIATE}
)


def allowed(role: Role, permission: Permission) -> bool:
    return permission in MATRIX[role]


def permissions_of(role: Role) -> frozenset[Permission]:
    return MATRIX[role]
