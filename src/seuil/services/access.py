"""Shared rules for withdrawing access: revoke every credential, erase biometrics.

Used by departures (roster sync), exclusion, suspension and consent withdrawal, so the
effects are the same whatever the cause, in the caller's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from seuil.domain.audit import AuditEvent
from seuil.domain.audit_actions import AuditAction
from seuil.domain.credentials import RevocationReason, TemplateStorage
from seuil.ports.storage import UnitOfWork


@dataclass(frozen=True, slots=True)
class Withdrawal:
    revoked: int
    template_erased: bool
    photo_erased: bool


def revoke_credentials(
    uow: UnitOfWork,
    person_ref: str,
    reason: RevocationReason,
    now: datetime,
    actor: str,
    *,
    biometric_only: bool = False,
) -> int:
    """Revoke the person's live credentials (only those tied to a template if asked)."""
    count = 0
    for credential in uow.credentials.for_person(person_ref):
        if credential.revoked_at is not None:
            continue
        if biometric_only and credential.storage is TemplateStorage.NONE:
            continue
        uow.credentials.revoke(credential.id, reason, now)
        uow.audit.append(
            AuditEvent(actor, AuditAction.CREDENTIAL_REVOKE, credential.id, reason.value,
                       {"person": person_ref}),
            now,
        )  # fmt: skip
        count += 1
    return count


def erase_biometrics(
    uow: UnitOfWork, person_ref: str, now: datetime, actor: str, why: str
) -> tuple[bool, bool]:
    """Erase the template and the enrolment photo; audit what was erased (not its content)."""
    template = uow.templates.erase(person_ref)
    photo = uow.photos.erase(person_ref)
    if template or photo:
        uow.audit.append(
            AuditEvent(actor, AuditAction.BIOMETRICS_ERASE, person_ref, why,
                       {"template": template, "photo": photo}),
            now,
        )  # fmt: skip
    return template, photo


def withdraw_access(
    uow: UnitOfWork, person_ref: str, reason: RevocationReason, now: datetime, actor: str
) -> Withdrawal:
    revoked = revoke_credentials(uow, person_ref, reason, now, actor)
    template, photo = erase_biometrics(uow, person_ref, now, actor, reason.value)
    return Withdrawal(revoked, template, photo)
