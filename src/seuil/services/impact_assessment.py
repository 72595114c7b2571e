"""Recording the impact-assessment (AIPD/DPIA) reference, and the check that
identification gates make against it before they start."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from seuil.domain.accounts import Role
from seuil.domain.audit import AuditEvent
from seuil.domain.audit_actions import AuditAction
from seuil.domain.impact_assessment import (
    ImpactAssessment,
    check_identification_allowed,
    check_recorder,
    normalise_reference,
)
from seuil.ports.clock import Clock
from seuil.ports.storage import UnitOfWork


class ImpactAssessmentService:
    def __init__(self, uow: Callable[[], UnitOfWork], clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    def record(self, actor: str, role: Role, reference: str, note: str = "") -> ImpactAssessment:
        """The head of school records the reference in force (who, when, which)."""
        check_recorder(role)
        record = ImpactAssessment(normalise_reference(reference), actor, role,
                                  self._clock.now(), note.strip())  # fmt: skip
        with self._uow() as uow:
            uow.impact_assessments.add(record)
            uow.audit.append(
                AuditEvent(actor, AuditAction.DPIA_RECORD, record.reference, note.strip(),
                           {"role": role.value}),
                record.recorded_at,
            )  # fmt: skip
            uow.commit()
        return record

    def current(self) -> ImpactAssessment | None:
        with self._uow() as uow:
            return uow.impact_assessments.current()

    def history(self) -> list[ImpactAssessment]:
        with self._uow() as uow:
            return uow.impact_assessments.history()

    def check_gates(self, gates: Iterable[tuple[str, str | None]]) -> None:
        """Raise ConfigurationError unless every identification gate, given as
        (gate id, configured reference), relies on the reference in force."""
        wanted = list(gates)
        if not wanted:
            return
        in_force = self.current()
        for gate_id, configured in wanted:
            check_identification_allowed(gate_id, configured, in_force)
