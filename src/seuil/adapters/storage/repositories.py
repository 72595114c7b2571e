"""SQL repositories for people, consent and credentials.

Rows are mapped to the domain's frozen dataclasses on the way out and back on the way
in; no SQLAlchemy object leaves this module. Templates and photos are in
:mod:`.blobs`, the audit log in :mod:`.audit_log`, the unit of work that groups them
in :mod:`.unit_of_work`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from seuil.adapters.storage import tables as t
from seuil.adapters.storage.db import Db, search_key
from seuil.domain.consent import ConsentGiver, ConsentRecord, ConsentState
from seuil.domain.credentials import (
    Credential,
    CredentialKind,
    RevocationReason,
    TemplateStorage,
)
from seuil.domain.errors import NotFoundError
from seuil.domain.people import Person, PersonKind, PersonStatus
from seuil.ports.storage import PeopleQuery


def _person_values(person: Person) -> dict[str, Any]:
    return {
        "ref": person.ref,
        "kind": person.kind.value,
        "external_id": person.external_id,
        "last_name": person.last_name,
        "first_name": person.first_name,
        "search_name": search_key(f"{person.last_name} {person.first_name}"),
        "group_code": person.group,
        "birth_date": person.birth_date,
        "entry_date": person.entry_date,
        "leave_date": person.leave_date,
        "status": person.status.value,
        "status_reason": person.status_reason,
        "status_until": person.status_until,
        "updated_at": person.updated_at,
    }


def _person(row: sa.Row[Any]) -> Person:
    return Person(
        ref=row.ref,
        kind=PersonKind(row.kind),
        last_name=row.last_name,
        first_name=row.first_name,
        external_id=row.external_id,
        group=row.group_code,
        birth_date=row.birth_date,
        entry_date=row.entry_date,
        leave_date=row.leave_date,
        status=PersonStatus(row.status),
        status_reason=row.status_reason,
        status_until=row.status_until,
        updated_at=row.updated_at,
    )


class SqlPeopleRepository:
    def __init__(self, db: Db) -> None:
        self._db = db

    def get(self, ref: str) -> Person | None:
        row = self._db.execute(sa.select(t.people).where(t.people.c.ref == ref)).first()
        return _person(row) if row else None

    def by_external_id(self, kind: PersonKind, external_id: str) -> Person | None:
        statement = sa.select(t.people).where(
            t.people.c.kind == kind.value, t.people.c.external_id == external_id
        )
        row = self._db.execute(statement).first()
        return _person(row) if row else None

    def all_of_kind(self, kind: PersonKind) -> list[Person]:
        statement = (
            sa.select(t.people).where(t.people.c.kind == kind.value).order_by(t.people.c.ref)
        )
        return [_person(row) for row in self._db.execute(statement)]

    def add(self, person: Person) -> None:
        self._db.execute(sa.insert(t.people).values(**_person_values(person)))

    def update(self, person: Person) -> None:
        values = _person_values(person)
        del values["ref"]
        result = self._db.execute(
            sa.update(t.people).where(t.people.c.ref == person.ref).values(**values)
        )
        if result.rowcount == 0:
            raise NotFoundError(f"no person {person.ref}")

    def delete(self, ref: str) -> bool:
        """Delete the identity record (erasure); consents and credentials go first."""
        result = self._db.execute(sa.delete(t.people).where(t.people.c.ref == ref))
        self._db.erased_blobs |= result.rowcount > 0
        return bool(result.rowcount)

    def search(self, query: PeopleQuery) -> list[Person]:
        statement = (
            self._filtered(sa.select(t.people), query)
            .order_by(t.people.c.search_name, t.people.c.ref)
            .limit(query.limit)
            .offset(query.offset)
        )
        return [_person(row) for row in self._db.execute(statement)]

    def count(self, query: PeopleQuery) -> int:
        statement = self._filtered(sa.select(sa.func.count()).select_from(t.people), query)
        return int(self._db.execute(statement).scalar_one())

    @staticmethod
    def _filtered(statement: sa.Select[Any], query: PeopleQuery) -> sa.Select[Any]:
        c = t.people.c
        if query.kind is not None:
            statement = statement.where(c.kind == query.kind.value)
        if query.status is not None:
            statement = statement.where(c.status == query.status.value)
        if query.group is not None:
            statement = statement.where(c.group_code == query.group)
        # Every word must appear in the normalised name (only letters, digits, spaces
        # survive search_key, so no LIKE wildcard can come from the user).
        for word in search_key(query.text or "").split():
            statement = statement.where(c.search_name.contains(word, autoescape=True))
        return statement


def _consent(row: sa.Row[Any]) -> ConsentRecord:
    return ConsentRecord(
        person_ref=row.person_ref,
        state=ConsentState(row.state),
        given_by=ConsentGiver(row.given_by),
        recorded_at=row.recorded_at,
        form_version=row.form_version,
        evidence_ref=row.evidence_ref,
        recorded_by=row.recorded_by,
    )


class SqlConsentRepository:
    """Append-only: a change of mind is a new record; history is never rewritten."""

    def __init__(self, db: Db) -> None:
        self._db = db

    def add(self, record: ConsentRecord) -> None:
        self._db.execute(
            sa.insert(t.consents).values(
                person_ref=record.person_ref,
                state=record.state.value,
                given_by=record.given_by.value,
                recorded_at=record.recorded_at,
                form_version=record.form_version,
                evidence_ref=record.evidence_ref,
                recorded_by=record.recorded_by,
            )
        )

    def history(self, person_ref: str) -> list[ConsentRecord]:
        c = t.consents.c
        statement = (
            sa.select(t.consents).where(c.person_ref == person_ref).order_by(c.recorded_at, c.id)
        )
        return [_consent(row) for row in self._db.execute(statement)]

    def delete_for(self, person_ref: str) -> int:
        """Erasure only: the history of a person who is erased goes with them."""
        result = self._db.execute(
            sa.delete(t.consents).where(t.consents.c.person_ref == person_ref)
        )
        self._db.erased_blobs |= result.rowcount > 0
        return int(result.rowcount)


def _credential(row: sa.Row[Any]) -> Credential:
    return Credential(
        id=row.id,
        person_ref=row.person_ref,
        site_id=row.site_id,
        kind=CredentialKind(row.kind),
        storage=TemplateStorage(row.storage),
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        issued_at=row.issued_at,
        key_id=row.key_id,
        badge_number=row.badge_number,
        revoked_at=row.revoked_at,
        revocation_reason=(
            RevocationReason(row.revocation_reason) if row.revocation_reason else None
        ),
    )


class SqlCredentialRepository:
    def __init__(self, db: Db) -> None:
        self._db = db

    def add(self, credential: Credential) -> None:
        self._db.execute(
            sa.insert(t.credentials).values(
                id=credential.id,
                person_ref=credential.person_ref,
                site_id=credential.site_id,
                kind=credential.kind.value,
                storage=credential.storage.value,
                valid_from=credential.valid_from,
                valid_until=credential.valid_until,
                issued_at=credential.issued_at,
                key_id=credential.key_id,
                badge_number=credential.badge_number,
                revoked_at=credential.revoked_at,
                revocation_reason=(
                    credential.revocation_reason.value if credential.revocation_reason else None
                ),
            )
        )

    def get(self, credential_id: str) -> Credential | None:
        statement = sa.select(t.credentials).where(t.credentials.c.id == credential_id)
        row = self._db.execute(statement).first()
        return _credential(row) if row else None

    def by_badge(self, badge_number: str) -> Credential | None:
        """The credential a reader's badge number designates.

        A number can outlive one credential (a card re-issued for the next school
        year): the unrevoked one wins, then the latest validity, then the latest issue.
        """
        c = t.credentials.c
        statement = (
            sa.select(t.credentials)
            .where(c.badge_number == badge_number)
            .order_by(
                sa.case((c.revoked_at.is_(None), 0), else_=1),
                c.valid_until.desc(),
                c.issued_at.desc(),
            )
            .limit(1)
        )
        row = self._db.execute(statement).first()
        return _credential(row) if row else None

    def for_person(self, person_ref: str) -> list[Credential]:
        c = t.credentials.c
        statement = (
            sa.select(t.credentials).where(c.person_ref == person_ref).order_by(c.issued_at, c.id)
        )
        return [_credential(row) for row in self._db.execute(statement)]

    def delete_for(self, person_ref: str) -> int:
        """Erasure only: a signed card whose record is gone is refused as revoked."""
        c = t.credentials.c
        result = self._db.execute(sa.delete(t.credentials).where(c.person_ref == person_ref))
        self._db.erased_blobs |= result.rowcount > 0
        return int(result.rowcount)

    def revoke(self, credential_id: str, reason: RevocationReason, at: datetime) -> None:
        """Revoke now; revoking again keeps the first revocation's time and reason."""
        c = t.credentials.c
        result = self._db.execute(
            sa.update(t.credentials)
            .where(c.id == credential_id, c.revoked_at.is_(None))
            .values(revoked_at=at, revocation_reason=reason.value)
        )
        if result.rowcount == 0 and self.get(credential_id) is None:
            raise NotFoundError(f"no credential {credential_id}")

    def revoked_since(self, since: datetime | None) -> list[tuple[str, datetime]]:
        """Revocations at or after ``since`` (all when None), oldest first.

        Inclusive on purpose: a gate polling with its last seen time may get one
        revocation twice, never miss one recorded in the same instant.
        """
        c = t.credentials.c
        statement = sa.select(c.id, c.revoked_at).where(c.revoked_at.is_not(None))
        if since is not None:
            statement = statement.where(c.revoked_at >= since)
        statement = statement.order_by(c.revoked_at, c.id)
        return [(row.id, row.revoked_at) for row in self._db.execute(statement)]
