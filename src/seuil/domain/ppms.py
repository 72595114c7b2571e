"""PPMS: the site-wide safety mode (Plan particulier de mise en sûreté).

Standard library only. The whole site is in one mode at a time:

- ``normal``: gates work as usual;
- ``confinement`` ("attentat-intrusion": hide, lock every entrance);
- ``evacuation`` (fire: release every egress door).

Rules, as pure functions of the current state:

- entering a mode names who did it and why, and is recorded with its time;
- a fire signal *always* forces evacuation (egress released), even during a
  confinement: life safety overrides security;
- a confinement cannot be entered while a fire evacuation is in progress (locking
  people in a burning building): end the evacuation first;
- ending the alert (back to normal) records who ended it.

Who may do what (an authorised role) is checked by the web layer, not here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

__all__ = [
    "FIRE_ACTOR",
    "INITIAL",
    "EntranceCommand",
    "PpmsMode",
    "PpmsState",
    "command_for",
    "end_alert",
    "enter",
    "on_fire",
]

FIRE_ACTOR = "system:fire-alarm"


class PpmsMode(StrEnum):
    NORMAL = "normal"
    CONFINEMENT = "confinement"  # "attentat-intrusion": hide and lock every entrance
    EVACUATION = "evacuation"  # fire: release every egress door

    @property
    def label(self) -> str:
        """The French name staff know."""
        return _LABELS[self]


_LABELS = {
    PpmsMode.NORMAL: "fonctionnement normal",
    PpmsMode.CONFINEMENT: "confinement (attentat-intrusion)",
    PpmsMode.EVACUATION: "évacuation (incendie)",
}


class EntranceCommand(StrEnum):
    """What every gate's doors are told when the site enters a mode."""

    RESTORE_NORMAL = "restore_normal"
    LOCK_ENTRANCES = "lock_entrances"
    RELEASE_EGRESS = "release_egress"


_COMMANDS = {
    PpmsMode.NORMAL: EntranceCommand.RESTORE_NORMAL,
    PpmsMode.CONFINEMENT: EntranceCommand.LOCK_ENTRANCES,
    PpmsMode.EVACUATION: EntranceCommand.RELEASE_EGRESS,
}


def command_for(mode: PpmsMode) -> EntranceCommand:
    return _COMMANDS[mode]


@dataclass(frozen=True, slots=True)
class PpmsState:
    """The current mode, since when, set by whom (an account, or FIRE_ACTOR) and why."""

    mode: PpmsMode
    since: datetime
    by: str
    reason: str = ""

    def __post_init__(self) -> None:
        if self.since.tzinfo is None or self.since.utcoffset() is None:
            raise ValueError("a PPMS state's time must be timezone-aware")
        if not self.by.strip():
            raise ValueError("every PPMS change names who made it")

    @property
    def alert(self) -> bool:
        return self.mode is not PpmsMode.NORMAL


# A site that never changed mode: normal since the epoch, set by nobody in particular.
INITIAL = PpmsState(PpmsMode.NORMAL, datetime(1970, 1, 1, tzinfo=UTC), "system", "")


def enter(current: PpmsState, mode: PpmsMode, by: str, at: datetime, reason: str) -> PpmsState:
    """The site enters ``mode`` (confinement or evacuation), or ``ValueError``."""
    if mode is PpmsMode.NORMAL:
        raise ValueError("the end of an alert is end_alert(), with who ended it")
    if not reason.strip():
        raise ValueError("entering a PPMS mode needs a reason")
    if current.mode is mode:
        raise ValueError(f"the site is already in {mode.label}")
    if mode is PpmsMode.CONFINEMENT and current.mode is PpmsMode.EVACUATION:
        raise ValueError("a fire evacuation is in progress: end it before a confinement")
    if at < current.since:
        raise ValueError("a PPMS change cannot precede the current one")
    return PpmsState(mode, at, by, reason.strip())


def end_alert(current: PpmsState, by: str, at: datetime, reason: str = "") -> PpmsState:
    """Back to normal (fin d'alerte): records who ended the alert; ``ValueError`` if
    there is no alert to end."""
    if current.mode is PpmsMode.NORMAL:
        raise ValueError("there is no alert to end")
    if by in (FIRE_ACTOR, "system"):
        raise ValueError("only a person ends an alert")
    if at < current.since:
        raise ValueError("a PPMS change cannot precede the current one")
    return PpmsState(PpmsMode.NORMAL, at, by, reason.strip() or "fin d'alerte")


def on_fire(current: PpmsState, at: datetime, source: str = "") -> PpmsState:
    """A fire alarm: evacuation, whatever the current mode (a confinement included).

    Returns ``current`` unchanged when the site is already evacuating; the caller still
    re-sends the egress release (a door may have relocked)."""
    if current.mode is PpmsMode.EVACUATION:
        return current
    where = f" ({source})" if source else ""
    previous = f", pendant : {current.mode.label}" if current.alert else ""
    return PpmsState(
        PpmsMode.EVACUATION, max(at, current.since), FIRE_ACTOR,
        f"alarme incendie{where}{previous}",
    )  # fmt: skip
