"""The gate agent's desk: decisions as they happen, the photo check, the agent's call.

- :meth:`GateDesk.feed` is a gate pipeline's sink: it stores the decision as an event
  (no image, no name), then tells the live bus (``gate.decision``) so every screen of
  that gate shows it at once; a decision that is an incident signal (a revoked
  credential, a face mismatch, tailgating...) goes on to the incident engine;
- :meth:`GateDesk.settle` records the agent's own call on a referred case (let in or
  refuse, with a reason) as a gate event decided by that account, and audits it;
- :meth:`GateDesk.photo` opens the enrolment photo for the visual check (an audited
  read); :meth:`GateDesk.who` the name and class shown next to it.

Screens never receive a template or an image through the bus: only the event fields
and the pseudonymous reference; the photo is fetched by the screen, on its own, by a
role that may see it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from seuil.domain.audit import AuditEvent
from seuil.domain.audit_actions import AuditAction
from seuil.domain.errors import ConflictError, StorageUnavailableError
from seuil.domain.gate import Decision, DenyReason, GateDecision, GateMode
from seuil.ports.clock import Clock
from seuil.ports.crypto import BlobCipher
from seuil.ports.notify import LiveBus
from seuil.ports.signals import SignalSink
from seuil.ports.storage import UnitOfWork
from seuil.services.enrolment import PHOTO
from seuil.services.gate_signals import signal_from_decision

log = logging.getLogger(__name__)

__all__ = ["AGENT_DENY_REASONS", "TOPIC_GATE_DECISION", "GateDesk", "Holder", "decision_payload"]

TOPIC_GATE_DECISION = "gate.decision"

# What an agent may give as the reason of a refusal (the rest are the machine's).
AGENT_DENY_REASONS = (
    DenyReason.FACE_MISMATCH,
    DenyReason.PERSON_INACTIVE,
    DenyReason.REVOKED,
    DenyReason.EXPIRED,
    DenyReason.NO_FACE,
)


@dataclass(frozen=True, slots=True)
class Holder:
    """Who a credential belongs to, as the gate screen shows them."""

    ref: str
    display_name: str
    group: str
    has_photo: bool


def decision_payload(decision: GateDecision) -> dict[str, object]:
    """What the bus carries for one decision: the event's fields, nothing more."""
    return decision.to_dict()


class GateDesk:
    def __init__(
        self,
        uow: Callable[[], UnitOfWork],
        clock: Clock,
        cipher: BlobCipher,
        bus: LiveBus,
        *,
        reader: Callable[[], UnitOfWork] | None = None,
        signals: SignalSink | None = None,
        site_id: str = "",
    ) -> None:
        self._uow = uow
        self._read = reader or uow
        self._clock = clock
        self._cipher = cipher
        self._bus = bus
        self._signals = signals
        self._site = site_id
        # Set by the site process: opens the gate's door (or the airlock's next door)
        # for a person the agent lets in. Without it (no lanes running) nothing opens.
        self.door_opener: Callable[[GateDecision], None] | None = None

    # -- the pipeline's sink ---------------------------------------------------------------

    def feed(self, decision: GateDecision) -> None:
        """Store, publish, and raise the incident signal a decision carries (if any).

        Never raises: a gate lane must go on. A decision that cannot be stored is still
        shown on the screens (the agent must see it) and logged."""
        try:
            with self._uow() as uow:
                uow.gate_events.add(decision)
                uow.commit()
        except StorageUnavailableError as error:
            log.error("gate %s: decision not stored (%s)", decision.gate_id, error)
        self._publish(decision)
        if self._signals is None:
            return
        signal = signal_from_decision(decision, self._site)
        if signal is None:
            return
        try:
            self._signals.receive(signal)
        except Exception:  # the incident path has its own buffer; the lane goes on
            log.exception("gate %s: incident signal not delivered", decision.gate_id)

    def _publish(self, decision: GateDecision) -> None:
        try:
            self._bus.publish(TOPIC_GATE_DECISION, decision_payload(decision))
        except Exception:  # the port says it never raises; a bad adapter must not matter
            log.exception("live bus publish failed")

    # -- the agent's call ------------------------------------------------------------------

    def settle(
        self,
        actor: str,
        gate_id: str,
        let_in: bool,
        *,
        reason: DenyReason | None = None,
        note: str = "",
        credential_id: str | None = None,
        person_ref: str | None = None,
        mode: GateMode = GateMode.VERIFICATION,
    ) -> GateDecision:
        """The agent lets the person in or refuses them (a refusal needs a reason)."""
        if not actor.strip():
            raise ConflictError("a gate decision names who made it")
        if not let_in and reason is None:
            raise ConflictError("un refus a un motif (a refusal needs a reason)")
        if let_in and reason is not None:
            raise ConflictError("letting in takes no refusal reason")
        if reason is not None and reason not in AGENT_DENY_REASONS:
            raise ConflictError(f"{reason.value!r} is not a reason an agent can give")
        now = self._clock.now()
        decision = GateDecision(
            gate_id, now, Decision.GRANT if let_in else Decision.DENY, reason,
            credential_id=credential_id, person_ref=person_ref, mode=mode, decided_by=actor,
        )  # fmt: skip
        with self._uow() as uow:
            uow.gate_events.add(decision)
            uow.audit.append(
                AuditEvent(actor, AuditAction.GATE_SETTLE, person_ref or gate_id, note.strip(),
                           {"gate": gate_id, "decision": decision.decision.value,
                            "reason": reason.value if reason else None,
                            "credential": credential_id}),
                now,
            )  # fmt: skip
            uow.commit()
        self._publish(decision)
        if let_in and self.door_opener is not None:
            # After the record: a door that fails raises DeviceError to the agent, and
            # the decision (who let whom in) is kept either way.
            self.door_opener(decision)
        return decision

    # -- the visual check ------------------------------------------------------------------

    def who(self, person_ref: str) -> Holder | None:
        with self._read() as uow:
            person = uow.people.get(person_ref)
            has_photo = person is not None and uow.photos.get(person_ref) is not None
        if person is None:
            return None
        return Holder(person.ref, person.display_name, person.group, has_photo)

    def photo(self, actor: str, person_ref: str, gate_id: str) -> bytes | None:
        """The enrolment photo (JPEG) for the agent's visual check; every read audited."""
        now = self._clock.now()
        with self._uow() as uow:
            blob = uow.photos.get(person_ref)
            uow.audit.append(
                AuditEvent(actor, AuditAction.PHOTO_READ, person_ref, "contrôle visuel au portique",
                           {"gate": gate_id}),
                now,
            )  # fmt: skip
            uow.commit()
        return None if blob is None else self._cipher.open(blob, person_ref, PHOTO)

    def recent(self, gate_id: str | None = None, limit: int = 20) -> list[GateDecision]:
        with self._read() as uow:
            return uow.gate_events.recent(gate_id, limit)
