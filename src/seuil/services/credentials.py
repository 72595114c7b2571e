"""Credentials: issue (QR or badge), revoke, and check one presented at a gate."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from seuil.domain.audit import AuditEvent
from seuil.domain.audit_actions import AuditAction
from seuil.domain.credentials import (
    CheckResult,
    Credential,
    CredentialKind,
    RevocationReason,
    TemplateStorage,
    new_credential_id,
    school_year,
)
from seuil.domain.errors import ConflictError, CredentialRejectedError, NotFoundError
from seuil.domain.people import Person
from seuil.ports.clock import Clock
from seuil.ports.crypto import CredentialClaims, CredentialCodec
from seuil.ports.storage import UnitOfWork


@dataclass(frozen=True, slots=True)
class IssuedCredential:
    credential: Credential
    # the QR content (None for a badge); shown once, never stored, never in a repr
    text: str | None = field(repr=False)


@dataclass(frozen=True, slots=True)
class CredentialCheck:
    result: CheckResult
    credential_id: str | None = None
    person: Person | None = field(default=None, repr=False)  # names stay out of reprs
    storage: TemplateStorage | None = None
    # the template or key the credential carries (for the gate only; never in a repr)
    payload: bytes = field(default=b"", repr=False)


class CredentialService:
    def __init__(
        self,
        uow: Callable[[], UnitOfWork],
        clock: Clock,
        codec: CredentialCodec,
        site_id: str,
        reader: Callable[[], UnitOfWork] | None = None,
    ) -> None:
        self._uow = uow
        # Gate checks only read: a read-only unit takes no write lock, so many gates can
        # check at once without waiting for each other or for the office.
        self._read = reader or uow
        self._clock = clock
        self._codec = codec
        self.site_id = site_id

    def window(self, valid_until: datetime | None = None) -> tuple[datetime, datetime]:
        _, end = school_year(self._clock.now().date())
        return self._clock.now(), valid_until or end

    def issue_qr_in(
        self,
        uow: UnitOfWork,
        actor: str,
        person: Person,
        storage: TemplateStorage,
        payload: bytes = b"",
        valid_until: datetime | None = None,
    ) -> IssuedCredential:
        """Issue inside the caller's transaction (enrolment issues with the template)."""
        if not person.status.admits:
            raise ConflictError(f"{person.ref} is {person.status.value}: no credential")
        now = self._clock.now()
        valid_from, until = self.window(valid_until)
        claims = CredentialClaims(
            new_credential_id(), person.ref, self.site_id, valid_from, until, storage, payload
        )
        signed = self._codec.encode(claims)
        credential = Credential(
            claims.id_hex, person.ref, self.site_id, CredentialKind.QR, storage,
            valid_from, until, now, key_id=signed.key_id,
        )  # fmt: skip
        uow.credentials.add(credential)
        uow.audit.append(
            AuditEvent(actor, AuditAction.CREDENTIAL_ISSUE, credential.id, "",
                       {"person": person.ref, "storage": storage.value,
                        "until": until.isoformat()}),
            now,
        )  # fmt: skip
        return IssuedCredential(credential, signed.text)

    def issue_qr(
        self, actor: str, person_ref: str, valid_until: datetime | None = None
    ) -> IssuedCredential:
        """A credential for the non-biometric path (visual check by the gate agent)."""
        with self._uow() as uow:
            person = self._person(uow, person_ref)
            issued = self.issue_qr_in(uow, actor, person, TemplateStorage.NONE, b"", valid_until)
            uow.commit()
        return issued

    def issue_badge(
        self, actor: str, person_ref: str, badge_number: str, storage: TemplateStorage
    ) -> IssuedCredential:
        """Register a badge number; badges carry nothing, so a template stays on site."""
        number = badge_number.strip()
        if not number.isdigit() or len(number) > 20:
            raise ConflictError("a badge number is 1 to 20 digits")
        if storage in (TemplateStorage.ON_CREDENTIAL, TemplateStorage.KEY_ON_CREDENTIAL):
            raise ConflictError("a badge carries no data: use site_database or none")
        now = self._clock.now()
        with self._uow() as uow:
            person = self._person(uow, person_ref)
            existing = uow.credentials.by_badge(number)
            if existing and existing.check_window(now).accepted:  # live: not revoked, not expired
                raise ConflictError("this badge number is already in use")
            valid_from, until = self.window()
            credential = Credential(
                new_credential_id().hex(), person.ref, self.site_id, CredentialKind.BADGE,
                storage, valid_from, until, now, badge_number=number,
            )  # fmt: skip
            uow.credentials.add(credential)
            uow.audit.append(
                AuditEvent(actor, AuditAction.CREDENTIAL_ISSUE, credential.id, "",
                           {"person": person.ref, "kind": "badge"}),
                now,
            )  # fmt: skip
            uow.commit()
        return IssuedCredential(credential, None)

    def reprint(self, actor: str, credential_id: str) -> IssuedCredential:
        """The QR of a live non-biometric credential, signed again (same content).

        A biometric credential cannot be reprinted: the site does not keep what it carries
        (the template, or the key to it). Lost or damaged: revoke it and enrol again.
        """
        now = self._clock.now()
        with self._uow() as uow:
            credential = uow.credentials.get(credential_id)
            if credential is None:
                raise NotFoundError(f"no credential {credential_id!r}")
            if credential.kind is not CredentialKind.QR or credential.revoked_at is not None:
                raise ConflictError("only a live QR credential can be printed again")
            if credential.storage is not TemplateStorage.NONE:
                raise ConflictError(
                    "a biometric credential cannot be printed again: the site does not keep "
                    "what it carries; revoke it and enrol again"
                )
            claims = CredentialClaims(
                bytes.fromhex(credential.id), credential.person_ref, credential.site_id,
                credential.valid_from, credential.valid_until, credential.storage,
            )  # fmt: skip
            signed = self._codec.encode(claims)
            uow.audit.append(AuditEvent(actor, AuditAction.CREDENTIAL_PRINT, credential.id), now)
            uow.commit()
        return IssuedCredential(credential, signed.text)

    def list_for(self, actor: str, person_ref: str) -> list[Credential]:
        now = self._clock.now()
        with self._uow() as uow:
            found = uow.credentials.for_person(person_ref)
            uow.audit.append(AuditEvent(actor, AuditAction.CREDENTIAL_LIST, person_ref), now)
            uow.commit()
        return found

    def revoke(self, actor: str, credential_id: str, reason: RevocationReason) -> Credential:
        now = self._clock.now()
        with self._uow() as uow:
            credential = uow.credentials.get(credential_id)
            if credential is None:
                raise NotFoundError(f"no credential {credential_id!r}")
            if credential.revoked_at is None:
                uow.credentials.revoke(credential_id, reason, now)
                uow.audit.append(
                    AuditEvent(actor, AuditAction.CREDENTIAL_REVOKE, credential_id, reason.value,
                               {"person": credential.person_ref}),
                    now,
                )  # fmt: skip
                uow.commit()
            revoked = uow.credentials.get(credential_id)
        assert revoked is not None
        return revoked

    def check_text(self, text: str) -> CredentialCheck:
        """The gate's check of a presented QR: signature, site, window, revocation, person."""
        now = self._clock.now()
        try:
            claims = self._codec.decode(text, now)
        except CredentialRejectedError as exc:
            return CredentialCheck(CheckResult(exc.reason))
        with self._read() as uow:
            return self._check_record(uow, uow.credentials.get(claims.id_hex), now, claims)

    def check_badge(self, badge_number: str) -> CredentialCheck:
        now = self._clock.now()
        with self._read() as uow:
            credential = uow.credentials.by_badge(badge_number.strip())
            if credential is None:
                return CredentialCheck(CheckResult.UNKNOWN_BADGE)
            return self._check_record(uow, credential, now, None)

    def _check_record(
        self,
        uow: UnitOfWork,
        credential: Credential | None,
        now: datetime,
        claims: CredentialClaims | None,
    ) -> CredentialCheck:
        if credential is None:
            # Validly signed but unknown here: issued elsewhere or the record was erased.
            return CredentialCheck(CheckResult.REVOKED, claims.id_hex if claims else None)
        window = credential.check_window(now)
        if not window.accepted:
            return CredentialCheck(window, credential.id)
        person = uow.people.get(credential.person_ref)
        if person is None or not person.status.admits:
            return CredentialCheck(CheckResult.PERSON_INACTIVE, credential.id)
        return CredentialCheck(
            CheckResult.VALID, credential.id, person, credential.storage,
            claims.payload if claims else b"",
        )  # fmt: skip

    @staticmethod
    def _person(uow: UnitOfWork, person_ref: str) -> Person:
        person = uow.people.get(person_ref)
        if person is None:
            raise NotFoundError(f"no person with reference {person_ref!r}")
        return person
