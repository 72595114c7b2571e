"""PPMS: the site's safety mode, persisted, audited, sent to every door and screen.

Entering confinement locks every entrance; a fire (evacuation) releases every egress
door, even during a confinement; the end of the alert restores normal operation and
records who ended it. Every change is stored and audited in one transaction, then
commanded to the doors (each door is tried; the ones that fail are reported, in the
returned change, the audit trail and on the live bus) and pushed to every screen.

The fire path puts life safety first: the egress release is sent even when the
database cannot be reached. Who may enter or end a mode is the web layer's check;
here ``by`` is the account name.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from seuil.domain import ppms as rules
from seuil.domain.audit import AuditEvent
from seuil.domain.audit_actions import AuditAction
from seuil.domain.errors import (
    ConflictError,
    DeviceError,
    EntranceCommandError,
    StorageUnavailableError,
)
from seuil.domain.ppms import EntranceCommand, PpmsMode, PpmsState
from seuil.ports.clock import Clock
from seuil.ports.notify import LiveBus
from seuil.ports.site_control import EntranceCommander
from seuil.ports.storage import UnitOfWork
from seuil.services.hub_events import report_mode

log = logging.getLogger(__name__)

TOPIC = "ppms"


@dataclass(frozen=True, slots=True)
class DoorFailure:
    door: str
    message: str


@dataclass(frozen=True, slots=True)
class PpmsChange:
    """What a PPMS call did: the state now, whether it changed, doors that failed.

    ``persisted`` is False only on the fire path when the database was unreachable (the
    doors were commanded all the same)."""

    state: PpmsState
    changed: bool
    failures: tuple[DoorFailure, ...] = ()
    persisted: bool = True
    commanded: bool = True


class PpmsService:
    def __init__(
        self,
        uow: Callable[[], UnitOfWork],
        clock: Clock,
        commander: EntranceCommander,
        bus: LiveBus,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._commander = commander
        self._bus = bus

    def current(self) -> PpmsState:
        with self._uow() as uow:
            return uow.site_state.ppms()

    def enter(self, mode: PpmsMode, by: str, reason: str) -> PpmsChange:
        """Confinement or evacuation for the whole site, by a person, with a reason."""
        return self._change(lambda s, at: rules.enter(s, mode, by, at, reason), by)

    def end_alert(self, by: str, reason: str = "") -> PpmsChange:
        """Fin d'alerte: back to normal, recording who ended it."""
        return self._change(lambda s, at: rules.end_alert(s, by, at, reason), by)

    def on_fire(self, at: datetime | None = None, source: str = "") -> PpmsChange:
        """A fire alarm signal (raised at ``at``): evacuation, egress released whatever
        the mode. Ignored only when a person ended an alert *after* this signal (a
        signal replayed late from a buffer must not start a second evacuation)."""
        now = self._clock.now()
        signal_at = at or now
        try:
            with self._uow() as uow:
                current = uow.site_state.ppms()
        except StorageUnavailableError as error:
            log.error("PPMS state unreadable (%s): egress released all the same", error)
            failures = self._command(EntranceCommand.RELEASE_EGRESS)
            state = rules.on_fire(rules.INITIAL, now, source)
            self._publish(state, failures, changed=True)
            return PpmsChange(state, True, failures, persisted=False)
        if current.mode is PpmsMode.NORMAL and current.since > signal_at:
            log.warning("fire signal from %s at %s predates the end of alert: ignored",
                        source or "?", signal_at.isoformat())  # fmt: skip
            return PpmsChange(current, False, commanded=False)
        # Life safety first: command the doors before writing anything.
        failures = self._command(EntranceCommand.RELEASE_EGRESS)
        state = rules.on_fire(current, now, source)
        changed = state != current
        persisted = True
        try:
            with self._uow() as uow:
                stored = uow.site_state.ppms()
                state = rules.on_fire(stored, now, source)
                changed = state != stored
                if changed:
                    uow.site_state.set_ppms(state)
                    report_mode(uow.outbox, stored, state)  # hub outbox, same transaction
                    self._audit(uow, AuditAction.PPMS_FIRE, stored, state, now)
                if failures:
                    self._audit_failures(uow, state, failures, now)
                uow.commit()
        except StorageUnavailableError as error:
            log.error("PPMS evacuation not recorded (%s); egress was released", error)
            persisted = False
        self._publish(state, failures, changed=changed)
        return PpmsChange(state, changed, failures, persisted=persisted)

    def reapply(self) -> PpmsChange:
        """Send the stored mode's command to every door again (after a restart)."""
        state = self.current()
        failures = self._command(rules.command_for(state.mode))
        if failures:
            with self._uow() as uow:
                self._audit_failures(uow, state, failures, self._clock.now())
                uow.commit()
        return PpmsChange(state, False, failures)

    # -- inside ----------------------------------------------------------------------------

    def _change(self, step: Callable[[PpmsState, datetime], PpmsState], by: str) -> PpmsChange:
        now = self._clock.now()
        with self._uow() as uow:
            before = uow.site_state.ppms()
            try:
                after = step(before, now)
            except ValueError as error:
                raise ConflictError(str(error)) from None
            uow.site_state.set_ppms(after)
            report_mode(uow.outbox, before, after)  # hub outbox, same transaction
            action = (
                AuditAction.PPMS_END if after.mode is PpmsMode.NORMAL else AuditAction.PPMS_ENTER
            )
            self._audit(uow, action, before, after, now)
            uow.commit()
        failures = self._command(rules.command_for(after.mode))
        if failures:
            try:
                with self._uow() as uow:
                    self._audit_failures(uow, after, failures, self._clock.now())
                    uow.commit()
            except StorageUnavailableError as error:
                log.error("door failures not recorded (%s)", error)
        self._publish(after, failures, changed=True)
        return PpmsChange(after, True, failures)

    def _command(self, command: EntranceCommand) -> tuple[DoorFailure, ...]:
        action = {
            EntranceCommand.LOCK_ENTRANCES: self._commander.lock_entrances,
            EntranceCommand.RELEASE_EGRESS: self._commander.release_egress,
            EntranceCommand.RESTORE_NORMAL: self._commander.restore_normal,
        }[command]
        try:
            action()
        except EntranceCommandError as error:
            failures = tuple(DoorFailure(f.device or "?", f.message) for f in error.failures)
        except DeviceError as error:
            failures = (DoorFailure(error.device or "?", error.message),)
        except Exception as error:  # a broken adapter must not stop the mode change
            log.exception("entrance command %s failed", command.value)
            failures = (DoorFailure("?", f"{type(error).__name__}: {error}"),)
        else:
            return ()
        for failure in failures:
            log.error("door %s did not take %s: %s", failure.door, command.value, failure.message)
        return failures

    @staticmethod
    def _audit(
        uow: UnitOfWork, action: AuditAction, before: PpmsState, after: PpmsState, at: datetime
    ) -> None:
        uow.audit.append(
            AuditEvent(after.by, action, "site", after.reason,
                       {"from": before.mode.value, "to": after.mode.value,
                        "command": rules.command_for(after.mode).value}),
            at,
        )  # fmt: skip

    @staticmethod
    def _audit_failures(
        uow: UnitOfWork, state: PpmsState, failures: tuple[DoorFailure, ...], at: datetime
    ) -> None:
        uow.audit.append(
            AuditEvent("system", AuditAction.PPMS_DOOR_FAILED, "site", state.mode.value,
                       {"doors": {f.door: f.message for f in failures},
                        "command": rules.command_for(state.mode).value}),
            at,
        )  # fmt: skip

    def _publish(
        self, state: PpmsState, failures: tuple[DoorFailure, ...], *, changed: bool
    ) -> None:
        payload: dict[str, object] = {
            "mode": state.mode.value,
            "label": state.mode.label,
            "since": state.since.isoformat(),
            "by": state.by,
            "reason": state.reason,
            "changed": changed,
            "failed_doors": [{"door": f.door, "message": f.message} for f in failures],
        }
        try:
            self._bus.publish(TOPIC, payload)
        except Exception:  # the port says it never raises; a bad adapter must not matter
            log.exception("live bus publish failed")
