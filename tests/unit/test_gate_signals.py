"""Gate decisions, lane alerts and camera faults as incident signals (pure mapping)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from seuil.domain.gate import Decision, DenyReason, GateDecision, ReferReason
from seuil.domain.incidents import Incident, IncidentType, Severity, SignalKind
from seuil.domain.lane import AlertKind, LaneAlert
from seuil.ports.frames import DeviceFault, DeviceFaultKind
from seuil.services.gate_signals import (
    signal_from_camera_fault,
    signal_from_decision,
    signal_from_lane_alert,
)

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
SITE = "0830042X"


@pytest.mark.parametrize(
    ("decision", "reason", "expected"),
    [
        (Decision.DENY, DenyReason.REVOKED, IncidentType.DENY_REVOKED),
        (Decision.DENY, DenyReason.FACE_MISMATCH, IncidentType.DENY_MISMATCH),
        (Decision.DENY, DenyReason.LIVENESS_FAILED, IncidentType.LIVENESS_FAILURE),
        (Decision.REFER, ReferReason.TAILGATING, IncidentType.TAILGATING),
        (Decision.DENY, DenyReason.EXPIRED, None),  # an ordinary refusal
        (Decision.REFER, ReferReason.REFER_BAND, None),
        (Decision.REFER, ReferReason.UNAUTHORISED_PASSAGE, None),  # the lane alert raises it
        (Decision.GRANT, None, None),
    ],
)
def test_gate_decisions(
    decision: Decision, reason: DenyReason | ReferReason | None, expected: IncidentType | None
) -> None:
    event = GateDecision("entree-nord", T0, decision, reason, credential_id="c1",
                         person_ref="P-7", match_score=0.31)  # fmt: skip
    signal = signal_from_decision(event, SITE)
    if expected is None:
        assert signal is None
        return
    assert signal is not None
    assert signal.type is expected and signal.kind is SignalKind.EVENT
    assert (signal.source, signal.zone, signal.site, signal.at) == (
        "entree-nord", "entree-nord", SITE, T0,
    )  # fmt: skip
    assert signal.code == f"{decision.value}:{reason.value}"  # type: ignore[union-attr]
    raw = json.loads(signal.raw)
    assert raw["person_ref"] == "P-7" and "name" not in raw
    incident = Incident.open("I1", signal)
    assert incident.type is expected and incident.severity >= Severity.MEDIUM


def test_zone_can_be_given() -> None:
    event = GateDecision("g1", T0, Decision.DENY, DenyReason.REVOKED)
    signal = signal_from_decision(event, SITE, zone="hall")
    assert signal is not None and signal.zone == "hall"


@pytest.mark.parametrize(
    ("kind", "expected", "source"),
    [
        (AlertKind.DOOR_FORCED, IncidentType.DOOR_FORCED, "porte-1"),
        (AlertKind.DOOR_HELD_OPEN, IncidentType.DOOR_HELD_OPEN, "porte-1"),
        (AlertKind.TAILGATING, IncidentType.TAILGATING, "lane-1"),
        (AlertKind.UNAUTHORISED_PASSAGE, IncidentType.DOOR_FORCED, "porte-1"),
        (AlertKind.DOOR_FAULT, None, None),
        (AlertKind.FIRE_EGRESS, None, None),
    ],
)
def test_lane_alerts(kind: AlertKind, expected: IncidentType | None, source: str | None) -> None:
    signal = signal_from_lane_alert(LaneAlert(kind, "lane-1", T0, "porte-1", "30 s"), SITE)
    if expected is None:
        assert signal is None
        return
    assert signal is not None and signal.type is expected and signal.source == source
    assert signal.zone == "lane-1" and json.loads(signal.raw)["detail"] == "30 s"


@pytest.mark.parametrize(
    ("kind", "offline"),
    [
        (DeviceFaultKind.DISCONNECTED, True),
        (DeviceFaultKind.STALLED, True),
        (DeviceFaultKind.CORRUPT_FRAMES, False),
        (DeviceFaultKind.RESOLUTION_CHANGED, False),
    ],
)
def test_camera_faults(kind: DeviceFaultKind, offline: bool) -> None:
    signal = signal_from_camera_fault(DeviceFault("cam-nord", kind, T0, "no frame for 5 s"), SITE)
    if not offline:
        assert signal is None
        return
    assert signal is not None and signal.type is IncidentType.CAMERA_OFFLINE
    assert signal.source == "cam-nord" and signal.code == f"camera:{kind.value}"


def test_a_passage_with_no_opening_is_a_high_incident_told_apart_by_its_code() -> None:
    alert = LaneAlert(
        AlertKind.UNAUTHORISED_PASSAGE, "sas", T0, None, "1 passage(s) with no opening"
    )
    signal = signal_from_lane_alert(alert, SITE)
    assert signal is not None and signal.code == "unauthorised_passage"
    assert signal.source == "sas"  # an airlock's counter names no single door
    incident = Incident.open("I1", signal)
    assert incident.type is IncidentType.DOOR_FORCED and incident.severity is Severity.HIGH
