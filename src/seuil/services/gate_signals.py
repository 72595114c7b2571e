"""Gate events as incident signals: what the gate pipeline reports that staff must see.

Pure mapping, no I/O: the caller hands the returned :class:`Signal` to the incident
engine's ``receive`` (the :class:`~seuil.ports.signals.SignalSink`). Ordinary decisions
(GRANT, a REFER the agent settles, an expired badge) are not incidents and map to None.

- DENY ``revoked`` -> DENY_REVOKED; DENY ``face_mismatch`` -> DENY_MISMATCH;
  DENY ``liveness_failed`` -> LIVENESS_FAILURE; REFER ``tailgating`` -> TAILGATING;
- lane alerts: door forced -> DOOR_FORCED, door held open -> DOOR_HELD_OPEN,
  tailgating -> TAILGATING, a passage with no opening (turnstile jumped, someone
  slipping through a locked door) -> DOOR_FORCED (the same breach seen by a counter
  rather than the door contact: high severity, the door as source; the signal's code
  ``unauthorised_passage`` tells them apart);
- camera faults: disconnected or stalled -> CAMERA_OFFLINE.

The signal's ``raw`` text is the event as JSON (pseudonymous references only, never a
name or an image), its ``source`` the gate, door or camera id.
"""

from __future__ import annotations

import json

from seuil.domain.gate import Decision, DenyReason, GateDecision, ReferReason
from seuil.domain.incidents import IncidentType, Signal
from seuil.domain.lane import AlertKind, LaneAlert
from seuil.ports.frames import DeviceFault, DeviceFaultKind

__all__ = ["signal_from_camera_fault", "signal_from_decision", "signal_from_lane_alert"]

_DECISIONS: dict[tuple[Decision, DenyReason | ReferReason], IncidentType] = {
    (Decision.DENY, DenyReason.REVOKED): IncidentType.DENY_REVOKED,
    (Decision.DENY, DenyReason.FACE_MISMATCH): IncidentType.DENY_MISMATCH,
    (Decision.DENY, DenyReason.LIVENESS_FAILED): IncidentType.LIVENESS_FAILURE,
    (Decision.REFER, ReferReason.TAILGATING): IncidentType.TAILGATING,
}

_ALERTS = {
    AlertKind.DOOR_FORCED: IncidentType.DOOR_FORCED,
    AlertKind.DOOR_HELD_OPEN: IncidentType.DOOR_HELD_OPEN,
    AlertKind.TAILGATING: IncidentType.TAILGATING,
    AlertKind.UNAUTHORISED_PASSAGE: IncidentType.DOOR_FORCED,
}

_CAMERA_FAULTS = {
    DeviceFaultKind.DISCONNECTED: IncidentType.CAMERA_OFFLINE,
    DeviceFaultKind.STALLED: IncidentType.CAMERA_OFFLINE,
}


def _raw(values: dict[str, object]) -> str:
    return json.dumps(values, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def signal_from_decision(decision: GateDecision, site: str, zone: str = "") -> Signal | None:
    """The signal a gate decision raises, or None for an ordinary one. ``zone`` defaults
    to the gate's id (signals at the same gate then correlate)."""
    if decision.reason is None:
        return None
    kind = _DECISIONS.get((decision.decision, decision.reason))
    if kind is None:
        return None
    code = f"{decision.decision.value}:{decision.reason.value}"
    return Signal(decision.gate_id, site, zone or decision.gate_id, code,
                  _raw(decision.to_dict()), decision.at, kind)  # fmt: skip


def signal_from_lane_alert(alert: LaneAlert, site: str, zone: str = "") -> Signal | None:
    """Door forced / held open / tailgating / passage with no opening at a lane; None for
    other alerts (a door command fault or the fire egress are the lane's own business)."""
    kind = _ALERTS.get(alert.kind)
    if kind is None:
        return None
    raw = _raw({"kind": alert.kind.value, "lane": alert.lane, "door": alert.door,
                "at": alert.at.isoformat(), "detail": alert.detail})  # fmt: skip
    source = alert.door if alert.door and kind is not IncidentType.TAILGATING else alert.lane
    return Signal(source, site, zone or alert.lane, alert.kind.value, raw, alert.at, kind)


def signal_from_camera_fault(fault: DeviceFault, site: str, zone: str = "") -> Signal | None:
    """A camera that disconnected or stalled is offline; corrupt frames or a resolution
    change are counted in the source's health, not raised as incidents."""
    kind = _CAMERA_FAULTS.get(fault.kind)
    if kind is None:
        return None
    raw = _raw({"camera": fault.camera_id, "kind": fault.kind.value,
                "at": fault.at.isoformat(), "detail": fault.detail})  # fmt: skip
    return Signal(fault.camera_id, site, zone or fault.camera_id, f"camera:{fault.kind.value}",
                  raw, fault.at, kind)  # fmt: skip
