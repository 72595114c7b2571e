"""Roster sync: the school information system's export, diffed and applied atomically.

The diff is computed and applied inside one transaction, from the database's state at
that moment, so what is shown with ``dry_run`` is exactly what would be applied. A
departure revokes every credential of the person and erases the template and the
enrolment photo, with the reason recorded.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import replace

from seuil.domain.audit import AuditEvent
from seuil.domain.audit_actions import AuditAction
from seuil.domain.credentials import RevocationReason
from seuil.domain.errors import ConflictError
from seuil.domain.people import PersonKind, PersonStatus, new_person_ref
from seuil.domain.roster import RosterDiff, RosterEntry, diff_roster
from seuil.ports.clock import Clock
from seuil.ports.storage import UnitOfWork
from seuil.services.access import withdraw_access

ACTOR_SUFFIX = "roster-sync"
MASS_DEPARTURE_SHARE = 0.10  # more departures than this share needs force=True
MASS_DEPARTURE_MIN = 10


class RosterService:
    def __init__(self, uow: Callable[[], UnitOfWork], clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    def sync(
        self,
        actor: str,
        entries: Iterable[RosterEntry],
        *,
        full_export: bool,
        source: str,
        dry_run: bool,
        scope: Collection[PersonKind] | None = None,
        force: bool = False,
    ) -> RosterDiff:
        """Compute the diff and, unless ``dry_run``, apply all of it or nothing."""
        now = self._clock.now()
        today = now.date()
        incoming = list(entries)
        kinds = set(scope) if scope else {e.kind for e in incoming} or {PersonKind.PUPIL}
        with self._uow() as uow:
            current = [p for kind in kinds for p in uow.people.all_of_kind(kind)]
            diff = diff_roster(current, incoming, full_export=full_export, today=today,
                               scope=kinds)  # fmt: skip
            if dry_run:
                uow.rollback()
                return diff
            active = sum(p.status is not PersonStatus.LEFT for p in current)
            limit = max(MASS_DEPARTURE_MIN, int(active * MASS_DEPARTURE_SHARE))
            if len(diff.departures) > limit and not force:
                # A class extract taken for a full export would revoke and erase everyone
                # else, which cannot be undone: ask for a deliberate confirmation.
                raise ConflictError(
                    f"this file makes {len(diff.departures)} of {active} people leave "
                    f"(more than {limit}): check it is the full export, then apply with force"
                )
            for entry in diff.arrivals:
                person = replace(entry.to_person(new_person_ref()), updated_at=now)
                uow.people.add(person)
                uow.audit.append(
                    AuditEvent(actor, AuditAction.PERSON_CREATE, person.ref, ACTOR_SUFFIX,
                               {"kind": person.kind.value}),
                    now,
                )  # fmt: skip
            for change in diff.changes:
                uow.people.update(replace(change.updated(), updated_at=now))
                uow.audit.append(
                    AuditEvent(actor, AuditAction.PERSON_UPDATE, change.person.ref, ACTOR_SUFFIX,
                               {"fields": [f.name for f in change.fields]}),
                    now,
                )  # fmt: skip
            for change in diff.returns:
                back = change.updated().with_status(PersonStatus.ACTIVE, "returned (roster)")
                uow.people.update(replace(back, leave_date=change.entry.leave_date,
                                          updated_at=now))  # fmt: skip
                uow.audit.append(
                    AuditEvent(actor, AuditAction.PERSON_STATUS, change.person.ref, ACTOR_SUFFIX,
                               {"from": change.person.status.value, "to": "active"}),
                    now,
                )  # fmt: skip
            for departure in diff.departures:
                person = departure.person
                left = person.with_status(PersonStatus.LEFT, departure.reason.description)
                leave = departure.leave_date or person.leave_date or today
                uow.people.update(replace(left, leave_date=leave, updated_at=now))
                uow.audit.append(
                    AuditEvent(actor, AuditAction.PERSON_STATUS, person.ref, departure.reason.value,
                               {"from": person.status.value, "to": "left"}),
                    now,
                )  # fmt: skip
                withdraw_access(uow, person.ref, RevocationReason.LEFT, now, actor)
            uow.audit.append(
                AuditEvent(actor, AuditAction.ROSTER_SYNC, "", source,
                           {"full_export": full_export, **diff.counts()}),
                now,
            )  # fmt: skip
            uow.commit()
        return diff
