"""Storage ports: repositories grouped in a unit of work (one transaction).

Every write of a use case happens inside one ``with uow:`` block and is applied by
``uow.commit()`` atomically, or not at all (leaving the block without commit, or on an
exception, rolls back). Blobs (templates, enrolment photos) are stored already
encrypted: the storage layer never sees a plaintext template or photo.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Protocol, Self

from seuil.domain.audit import AuditEntry, AuditEvent
from seuil.domain.consent import ConsentRecord
from seuil.domain.credentials import Credential, RevocationReason, TemplateStorage
from seuil.domain.people import Person, PersonKind, PersonStatus


@dataclass(frozen=True, slots=True)
class PeopleQuery:
    kind: PersonKind | None = None
    status: PersonStatus | None = None
    group: str | None = None
    text: str | None = None  # matches names, case- and accent-insensitive where possible
    limit: int = 50
    offset: int = 0


class PeopleRepository(Protocol):
    def get(self, ref: str) -> Person | None: ...
    def by_external_id(self, kind: PersonKind, external_id: str) -> Person | None: ...
    def all_of_kind(self, kind: PersonKind) -> list[Person]: ...
    def add(self, person: Person) -> None: ...
    def update(self, person: Person) -> None: ...
    def search(self, query: PeopleQuery) -> list[Person]: ...
    def count(self, query: PeopleQuery) -> int: ...


class ConsentRepository(Protocol):
    def add(self, record: ConsentRecord) -> None: ...
    def history(self, person_ref: str) -> list[ConsentRecord]: ...


class CredentialRepository(Protocol):
    def add(self, credential: Credential) -> None: ...
    def get(self, credential_id: str) -> Credential | None: ...
    def by_badge(self, badge_number: str) -> Credential | None: ...
    def for_person(self, person_ref: str) -> list[Credential]: ...
    def revoke(self, credential_id: str, reason: RevocationReason, at: datetime) -> None: ...
    def revoked_since(self, since: datetime | None) -> list[tuple[str, datetime]]: ...


@dataclass(frozen=True, slots=True)
class StoredTemplate:
    person_ref: str
    storage: TemplateStorage
    blob: bytes  # ciphertext (nonce + AES-GCM output), never a plaintext template
    key_id: str  # which key encrypted it (site key id, or "credential")
    created_at: datetime


class TemplateRepository(Protocol):
    def put(self, template: StoredTemplate) -> None: ...
    def get(self, person_ref: str) -> StoredTemplate | None: ...
    def erase(self, person_ref: str) -> bool: ...
    def all_site_templates(self) -> list[StoredTemplate]: ...


class PhotoRepository(Protocol):
    """Encrypted, downscaled enrolment photos for the gate agent's visual check."""

    def put(self, person_ref: str, blob: bytes, at: datetime) -> None: ...
    def get(self, person_ref: str) -> bytes | None: ...
    def erase(self, person_ref: str) -> bool: ...


class AuditLog(Protocol):
    def append(self, event: AuditEvent, at: datetime) -> AuditEntry: ...
    def entries(self, after_seq: int = 0, limit: int | None = None) -> Sequence[AuditEntry]: ...


class UnitOfWork(Protocol):
    people: PeopleRepository
    consents: ConsentRepository
    credentials: CredentialRepository
    templates: TemplateRepository
    photos: PhotoRepository
    audit: AuditLog

    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
    def commit(self) -> None: ...
    def rollback(self) -> None: ...
