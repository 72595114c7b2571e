"""What a gate asks the site: is this credential good, and whose template does it unlock?

The template comes back as bytes in one of two forms: ``quantised`` (carried by the
credential itself) or ``float32`` (opened from the site's encrypted store with the key
the credential carries, or with the site key). Nothing is cached: a revocation is seen
on the very next check.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from seuil.domain.credentials import CheckResult, TemplateStorage
from seuil.domain.errors import DecryptionError
from seuil.domain.gate import GateDecision
from seuil.ports.crypto import BlobCipher
from seuil.ports.storage import UnitOfWork
from seuil.services.credentials import CredentialCheck, CredentialService
from seuil.services.enrolment import TEMPLATE


@dataclass(frozen=True, slots=True)
class TemplateBytes:
    form: Literal["quantised", "float32"]
    data: bytes = field(repr=False)


class GateAccessService:
    def __init__(
        self,
        uow: Callable[[], UnitOfWork],
        credentials: CredentialService,
        cipher: BlobCipher,
        reader: Callable[[], UnitOfWork] | None = None,
    ) -> None:
        self._uow = uow
        self._read = reader or uow
        self._credentials = credentials
        self._cipher = cipher

    def check_text(self, text: str) -> CredentialCheck:
        return self._credentials.check_text(text)

    def check_badge(self, number: str) -> CredentialCheck:
        return self._credentials.check_badge(number)

    def template_for(self, check: CredentialCheck) -> TemplateBytes | None:
        """The template a valid credential unlocks; None for the non-biometric path.

        A template that cannot be found or opened (erased after the check, a key that
        does not fit) also gives None: the gate then has nothing to compare and fails
        closed.
        """
        if check.result is not CheckResult.VALID or check.person is None:
            return None
        storage = check.storage
        if storage is TemplateStorage.ON_CREDENTIAL:
            return TemplateBytes("quantised", check.payload) if check.payload else None
        if storage not in (TemplateStorage.KEY_ON_CREDENTIAL, TemplateStorage.SITE_DATABASE):
            return None
        ref = check.person.ref
        with self._read() as uow:
            stored = uow.templates.get(ref)
        if stored is None or stored.storage is not storage:
            return None
        key = check.payload if storage is TemplateStorage.KEY_ON_CREDENTIAL else None
        try:
            return TemplateBytes("float32", self._cipher.open(stored.blob, ref, TEMPLATE, key))
        except DecryptionError:
            return None

    def record(self, decision: GateDecision) -> None:
        """Store a gate decision as an event (no image, no template, no name)."""
        with self._uow() as uow:
            uow.gate_events.add(decision)
            uow.commit()

    def recent(self, gate_id: str | None = None, limit: int = 50) -> list[GateDecision]:
        with self._read() as uow:
            return uow.gate_events.recent(gate_id, limit)
