"""Enrolment: consent checked, photos graded, template stored the chosen way, card issued.

The three storage types (see DESIGN.md):
- ON_CREDENTIAL: the quantised template goes into the signed credential; the site keeps
  no template at all.
- KEY_ON_CREDENTIAL: the site keeps the template encrypted with a fresh per-person key
  that only the credential carries; a copy of the database alone reveals nothing.
- SITE_DATABASE: the site keeps the template encrypted with the site key (badges, 1:N).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from seuil.domain.audit import AuditEvent
from seuil.domain.audit_actions import AuditAction
from seuil.domain.consent import biometrics_allowed
from seuil.domain.credentials import RevocationReason, TemplateStorage
from seuil.domain.errors import ConflictError, ConsentRequiredError, NotFoundError
from seuil.ports.clock import Clock
from seuil.ports.crypto import BlobCipher
from seuil.ports.face import PhotoCheck, TemplateBuilder
from seuil.ports.storage import StoredTemplate, UnitOfWork
from seuil.services.access import erase_biometrics, revoke_credentials
from seuil.services.credentials import CredentialService, IssuedCredential

TEMPLATE = "template"
PHOTO = "photo"


@dataclass(frozen=True, slots=True)
class EnrolmentOutcome:
    checks: tuple[PhotoCheck, ...]
    issued: IssuedCredential | None  # None when every photo was refused

    @property
    def enrolled(self) -> bool:
        return self.issued is not None


class EnrolmentService:
    def __init__(
        self,
        uow: Callable[[], UnitOfWork],
        clock: Clock,
        builder: TemplateBuilder,
        cipher: BlobCipher,
        credentials: CredentialService,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._builder = builder
        self._cipher = cipher
        self._credentials = credentials

    def enrol(
        self,
        actor: str,
        person_ref: str,
        photos: Sequence[tuple[str, bytes]],
        storage: TemplateStorage,
        valid_until: datetime | None = None,
        *,
        from_camera: bool = False,
    ) -> EnrolmentOutcome:
        if storage is TemplateStorage.NONE:
            raise ConflictError("use a non-biometric credential for storage 'none'")
        if not photos:
            raise ConflictError("enrolment needs at least one photo")
        self._check_allowed(person_ref)
        built = self._builder.build(photos, from_camera)  # slow: outside any transaction
        now = self._clock.now()
        with self._uow() as uow:
            # Re-checked inside the transaction: consent may have changed meanwhile.
            person = uow.people.get(person_ref)
            if person is None or not biometrics_allowed(uow.consents.history(person_ref)):
                raise ConsentRequiredError("biometric consent is not (or no longer) given")
            if built.template is None:
                uow.audit.append(
                    AuditEvent(actor, AuditAction.ENROLMENT_REFUSED, person_ref, "no usable photo",
                               {"photos": len(photos)}),
                    now,
                )  # fmt: skip
                uow.commit()
                return EnrolmentOutcome(built.checks, None)
            revoke_credentials(
                uow, person_ref, RevocationReason.REPLACED, now, actor, biometric_only=True
            )
            erase_biometrics(uow, person_ref, now, actor, "re-enrolment")
            if built.display_photo is not None:
                uow.photos.put(
                    person_ref, self._cipher.seal(built.display_photo, person_ref, PHOTO), now
                )
            payload = self._store_template(uow, person_ref, storage, built.template, now)
            issued = self._credentials.issue_qr_in(
                uow, actor, person, storage, payload, valid_until
            )
            uow.audit.append(
                AuditEvent(actor, AuditAction.ENROLMENT_CREATE, person_ref, "",
                           {"storage": storage.value,
                            "photos_accepted": sum(c.accepted for c in built.checks)}),
                now,
            )  # fmt: skip
            uow.commit()
        return EnrolmentOutcome(built.checks, issued)

    def display_photo(self, actor: str, person_ref: str, reason: str) -> bytes | None:
        """The enrolment photo for the gate agent's visual check (an audited read)."""
        now = self._clock.now()
        with self._uow() as uow:
            blob = uow.photos.get(person_ref)
            uow.audit.append(AuditEvent(actor, AuditAction.PHOTO_READ, person_ref, reason), now)
            uow.commit()
        return None if blob is None else self._cipher.open(blob, person_ref, PHOTO)

    def _check_allowed(self, person_ref: str) -> None:
        with self._uow() as uow:
            person = uow.people.get(person_ref)
            if person is None:
                raise NotFoundError(f"no person with reference {person_ref!r}")
            if not person.status.admits:
                raise ConflictError(f"{person_ref} is {person.status.value}: no enrolment")
            if not biometrics_allowed(uow.consents.history(person_ref)):
                raise ConsentRequiredError(
                    "no biometric consent recorded: record consent first, or issue a "
                    "non-biometric credential"
                )

    def _store_template(
        self,
        uow: UnitOfWork,
        person_ref: str,
        storage: TemplateStorage,
        template: bytes,
        now: datetime,
    ) -> bytes:
        """Store as the storage type requires; returns the credential's payload."""
        if storage is TemplateStorage.ON_CREDENTIAL:
            return self._builder.pack_for_credential(template)
        if storage is TemplateStorage.KEY_ON_CREDENTIAL:
            key = secrets.token_bytes(32)
            blob = self._cipher.seal(template, person_ref, TEMPLATE, key)
            uow.templates.put(StoredTemplate(person_ref, storage, blob, "credential", now))
            return key
        blob = self._cipher.seal(template, person_ref, TEMPLATE)
        uow.templates.put(StoredTemplate(person_ref, storage, blob, "site", now))
        return b""
