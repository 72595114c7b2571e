"""Every action the audit trail records: one enumeration, so that pages can give each one
words (``web/labels.py``, a test checks none is missing) and no code writes a free string.

The values are the dotted codes stored in ``audit_log.action`` (admins filter on them;
never rename one: old entries keep their code). Standard library only.
"""

from __future__ import annotations

from enum import StrEnum

from seuil.domain.incidents import Action


class AuditAction(StrEnum):
    # accounts, sign-in, API tokens
    SETUP_TOKEN = "setup.token"  # noqa: S105 (an action code, not a secret)
    SETUP_REFUSED = "setup.refused"
    ACCOUNT_CREATE = "account.create"
    ACCOUNT_UPDATE = "account.update"
    ACCOUNT_TOTP_ENABLE = "account.totp_enable"
    LOGIN_SUCCESS = "login.success"
    LOGIN_FAILURE = "login.failure"
    LOGIN_LOCK = "login.lock"
    LOGIN_THROTTLED = "login.throttled"
    LOGIN_SECOND_FACTOR = "login.second_factor"
    LOGOUT = "logout"
    PASSWORD_CHANGE = "password.change"  # noqa: S105 (an action code, not a secret)
    PASSWORD_CHANGE_REFUSED = "password.change_refused"  # noqa: S105 (an action code, not a secret)
    TOKEN_CREATE = "token.create"  # noqa: S105 (an action code, not a secret)
    TOKEN_REVOKE = "token.revoke"  # noqa: S105 (an action code, not a secret)
    # people, roster, consent, enrolment
    PERSON_CREATE = "person.create"
    PERSON_READ = "person.read"
    PERSON_SEARCH = "person.search"
    PERSON_UPDATE = "person.update"
    PERSON_STATUS = "person.status"
    ROSTER_SYNC = "roster.sync"
    CONSENT_RECORD = "consent.record"
    CONSENT_READ = "consent.read"
    ENROLMENT_CREATE = "enrolment.create"
    ENROLMENT_REFUSED = "enrolment.refused"
    PHOTO_READ = "photo.read"
    BIOMETRICS_ERASE = "biometrics.erase"
    # credentials and signing keys
    CREDENTIAL_ISSUE = "credential.issue"
    CREDENTIAL_PRINT = "credential.print"
    CREDENTIAL_LIST = "credential.list"
    CREDENTIAL_REVOKE = "credential.revoke"
    KEYS_ROTATE = "keys.rotate"
    KEYS_RETIRE = "keys.retire"
    # gates, incidents, PPMS, notifications, settings
    GATE_SETTLE = "gate.settle"
    INCIDENT_SIGNAL = "incident.signal"
    INCIDENT_OPEN = "incident.open"
    INCIDENT_ACKNOWLEDGE = "incident.acknowledge"
    INCIDENT_ESCALATE = "incident.escalate"
    INCIDENT_RESOLVE = "incident.resolve"
    INCIDENT_CONFIRM = "incident.confirm"
    PPMS_ENTER = "ppms.enter"
    PPMS_END = "ppms.end"
    PPMS_FIRE = "ppms.fire"
    PPMS_DOOR_FAILED = "ppms.door_failed"
    NOTIFICATION_FAILED = "notification.failed"
    SETTINGS_HEIGHTENED = "settings.heightened"
    # data protection and the trail itself
    SUBJECT_EXPORT = "subject.export"
    SUBJECT_ERASE = "subject.erase"
    DPIA_RECORD = "dpia.record"
    RETENTION_PURGE = "retention.purge"
    AUDIT_READ = "audit.read"
    AUDIT_VERIFY = "audit.verify"
    AUDIT_PURGE = "audit.purge"
    # the regional hub's own trail
    HUB_SITE_ADD = "hub.site.add"
    HUB_SITE_TOKEN = "hub.site.token"  # noqa: S105 (an action code, not a secret)
    HUB_SITE_REVOKE = "hub.site.revoke"
    HUB_INCIDENT_ACK = "hub.incident.ack"
    HUB_INCIDENT_POLICE = "hub.incident.police"
    HUB_INCIDENT_CLOSE = "hub.incident.close"
    HUB_ASSIGN = "hub.assign"
    HUB_ASSIGNMENT_ACCEPTED = "hub.assignment.accepted"
    HUB_ASSIGNMENT_ON_SITE = "hub.assignment.on_site"
    HUB_ASSIGNMENT_DONE = "hub.assignment.done"
    HUB_AVAILABILITY = "hub.availability"
    HUB_ALERT = "hub.alert"


def incident_action(action: Action) -> AuditAction:
    """The trail's action for an incident transition (every :class:`Action` has one)."""
    return AuditAction(f"incident.{action.value}")
