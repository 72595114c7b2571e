"""Biometric consent: record it; a withdrawal erases the template at once."""

from __future__ import annotations

from collections.abc import Callable

from seuil.domain.audit import AuditEvent
from seuil.domain.audit_actions import AuditAction
from seuil.domain.consent import ConsentGiver, ConsentRecord, ConsentState
from seuil.domain.credentials import RevocationReason
from seuil.domain.errors import ConflictError, NotFoundError
from seuil.domain.people import PersonKind
from seuil.ports.clock import Clock
from seuil.ports.storage import UnitOfWork
from seuil.services.access import erase_biometrics, revoke_credentials


class ConsentService:
    def __init__(self, uow: Callable[[], UnitOfWork], clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    def record(
        self,
        actor: str,
        person_ref: str,
        state: ConsentState,
        given_by: ConsentGiver,
        form_version: str,
        evidence_ref: str = "",
    ) -> ConsentRecord:
        if not form_version.strip():
            raise ConflictError("the consent form version is required")
        now = self._clock.now()
        with self._uow() as uow:
            person = uow.people.get(person_ref)
            if person is None:
                raise NotFoundError(f"no person with reference {person_ref!r}")
            if person.kind is PersonKind.STAFF and given_by is ConsentGiver.GUARDIAN:
                raise ConflictError("staff members give their own consent")
            record = ConsentRecord(
                person_ref, state, given_by, now, form_version.strip(), evidence_ref, actor
            )
            uow.consents.add(record)
            uow.audit.append(
                AuditEvent(actor, AuditAction.CONSENT_RECORD, person_ref, state.value,
                           {"by": given_by.value, "form": record.form_version}),
                now,
            )  # fmt: skip
            if state is not ConsentState.GIVEN:
                # No consent, no template: erase now and revoke what carried biometrics.
                revoke_credentials(
                    uow, person_ref, RevocationReason.CONSENT_WITHDRAWN, now, actor,
                    biometric_only=True,
                )  # fmt: skip
                erase_biometrics(uow, person_ref, now, actor, f"consent {state.value}")
            uow.commit()
        return record

    def history(self, actor: str, person_ref: str) -> list[ConsentRecord]:
        now = self._clock.now()
        with self._uow() as uow:
            records = uow.consents.history(person_ref)
            uow.audit.append(AuditEvent(actor, AuditAction.CONSENT_READ, person_ref), now)
            uow.commit()
        return records
