"""People: create, read (audited), search (audited), exclude, suspend, reinstate."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date

from seuil.domain.audit import AuditEvent
from seuil.domain.audit_actions import AuditAction
from seuil.domain.credentials import RevocationReason
from seuil.domain.errors import ConflictError, NotFoundError
from seuil.domain.people import Person, PersonKind, PersonStatus, new_person_ref
from seuil.ports.clock import Clock
from seuil.ports.storage import PeopleQuery, UnitOfWork
from seuil.services.access import Withdrawal, withdraw_access

_STATUS_REASON = {
    PersonStatus.LEFT: RevocationReason.LEFT,
    PersonStatus.EXCLUDED: RevocationReason.EXCLUDED,
    PersonStatus.SUSPENDED: RevocationReason.SUSPENDED,
}


class PeopleService:
    def __init__(self, uow: Callable[[], UnitOfWork], clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    def create(
        self,
        actor: str,
        kind: PersonKind,
        last_name: str,
        first_name: str,
        *,
        external_id: str | None = None,
        group: str = "",
        birth_date: date | None = None,
    ) -> Person:
        if not last_name.strip() or not first_name.strip():
            raise ConflictError("a person needs a last name and a first name")
        now = self._clock.now()
        person = Person(
            new_person_ref(), kind, last_name.strip(), first_name.strip(),
            external_id=external_id, group=group, birth_date=birth_date,
            entry_date=now.date(), updated_at=now,
        )  # fmt: skip
        with self._uow() as uow:
            if external_id and uow.people.by_external_id(kind, external_id):
                raise ConflictError(f"a {kind.value} with id {external_id!r} already exists")
            uow.people.add(person)
            uow.audit.append(
                AuditEvent(actor, AuditAction.PERSON_CREATE, person.ref, "", {"kind": kind.value}),
                now,
            )
            uow.commit()
        return person

    def get(self, actor: str, ref: str, reason: str = "") -> Person:
        """Read one person; the read itself is recorded in the audit trail."""
        now = self._clock.now()
        with self._uow() as uow:
            person = uow.people.get(ref)
            if person is None:
                raise NotFoundError(f"no person with reference {ref!r}")
            uow.audit.append(AuditEvent(actor, AuditAction.PERSON_READ, ref, reason), now)
            uow.commit()
        return person

    def search(self, actor: str, query: PeopleQuery, reason: str = "") -> list[Person]:
        now = self._clock.now()
        with self._uow() as uow:
            found = uow.people.search(query)
            uow.audit.append(
                AuditEvent(actor, AuditAction.PERSON_SEARCH, "", reason,
                           {"results": len(found), "group": query.group or ""}),
                now,
            )  # fmt: skip
            uow.commit()
        return found

    def set_status(
        self,
        actor: str,
        ref: str,
        status: PersonStatus,
        reason: str,
        until: date | None = None,
    ) -> Withdrawal | None:
        """Exclude, suspend or mark as left (revoking and erasing), or reinstate."""
        if status is PersonStatus.SUSPENDED and until is None:
            raise ConflictError("a suspension needs an end date")
        if not reason.strip():
            raise ConflictError("a status change needs a reason")
        now = self._clock.now()
        with self._uow() as uow:
            person = uow.people.get(ref)
            if person is None:
                raise NotFoundError(f"no person with reference {ref!r}")
            updated = replace(person.with_status(status, reason, until), updated_at=now)
            if status is PersonStatus.LEFT:
                updated = replace(updated, leave_date=person.leave_date or now.date())
            uow.people.update(updated)
            uow.audit.append(
                AuditEvent(actor, AuditAction.PERSON_STATUS, ref, reason,
                           {"from": person.status.value, "to": status.value,
                            "until": until.isoformat() if until else ""}),
                now,
            )  # fmt: skip
            withdrawal = None
            if status in _STATUS_REASON:
                withdrawal = withdraw_access(uow, ref, _STATUS_REASON[status], now, actor)
            uow.commit()
        return withdrawal
