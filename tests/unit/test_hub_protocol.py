"""The site -> hub protocol: every payload kind from realistic site data, checked against
THE allow-list; forbidden fields and out-of-bounds values refused at build time."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from seuil.domain.errors import DataFormatError
from seuil.domain.gate import Decision, DenyReason, GateDecision, ReferReason
from seuil.domain.hub import (
    ALLOWED,
    FORBIDDEN_FIELDS,
    Envelope,
    EventKind,
    ForbiddenFieldError,
    HubMessage,
    Pseudonymizer,
    audit_anchor_body,
    check_body,
    device_health_body,
    gate_counts_body,
    gate_denial_body,
    heartbeat_body,
    incident_opened_body,
    incident_transition_body,
    new_idempotency_key,
    ppms_mode_body,
)
from seuil.domain.incidents import EscalationLevel, Incident, IncidentType, Signal

T0 = datetime(2025, 9, 1, 7, 45, tzinfo=UTC)
PSEUDO = Pseudonymizer(b"s" * 32)
# What a real site holds about people: none of it may appear in any payload.
PERSON_REF = "P-7f3a9c21d4"
CREDENTIAL_ID = "C-91ab77e0f2c4"
STAFF = "mme.durand"
NAMES = ("Durand", "Zoë", "mme.durand")


def _incident() -> Incident:
    signal = Signal("sia:0042", "0830042X", "bâtiment A", "BA", "raw frame", T0,
                    IncidentType.INTRUSION)  # fmt: skip
    return Incident.open("I-20250901-0001", signal)


def _every_body() -> dict[EventKind, dict[str, object]]:
    incident = _incident()
    acked = incident.acknowledge(STAFF, T0 + timedelta(seconds=30))
    escalated = acked.escalate(EscalationLevel.REGIONAL_CENTRE, T0 + timedelta(minutes=2), STAFF)
    denial = GateDecision("gate-nord", T0, Decision.DENY, DenyReason.REVOKED,
                          credential_id=CREDENTIAL_ID, person_ref=PERSON_REF, match_score=0.91,
                          liveness_score=0.88, latency_ms=412.0)  # fmt: skip
    return {
        EventKind.INCIDENT_OPENED: incident_opened_body(incident),
        EventKind.INCIDENT_TRANSITION: incident_transition_body(
            escalated, escalated.history[-1], PSEUDO
        ),
        EventKind.GATE_COUNTS: gate_counts_body("gate-nord", T0, 60, 412, 3, 17),
        EventKind.GATE_DENIAL: gate_denial_body(denial, PSEUDO),
        EventKind.DEVICE_HEALTH: device_health_body(9, 10, 2, ["sia:0042"]),
        EventKind.PPMS_MODE: ppms_mode_body("confinement", "normal", STAFF, PSEUDO),
        EventKind.HEARTBEAT: heartbeat_body(12, "seuil-0.1"),
        EventKind.AUDIT_ANCHOR: audit_anchor_body(1207, "ab" * 32, 1180, T0),
    }


def test_every_kind_has_a_builder_and_every_payload_is_on_its_allow_list() -> None:
    bodies = _every_body()
    assert set(bodies) == set(EventKind) == set(ALLOWED)
    for seq, (kind, body) in enumerate(bodies.items(), start=1):
        assert set(body) <= set(ALLOWED[kind]), kind
        assert not set(body) & FORBIDDEN_FIELDS, kind
        envelope = Envelope("0830042X", seq, new_idempotency_key(), kind, T0, body)
        wire = json.dumps(envelope.to_wire(), ensure_ascii=False)
        # No person datum of the site crosses, in any form.
        for secret in (PERSON_REF, CREDENTIAL_ID, *NAMES, "raw frame", "0.91", "412.0"):
            assert secret not in wire, (kind, secret)
        assert Envelope.from_wire(json.loads(wire)) == envelope


def test_people_cross_only_as_keyed_pseudonyms() -> None:
    bodies = _every_body()
    person = bodies[EventKind.GATE_DENIAL]["person"]
    actor = bodies[EventKind.PPMS_MODE]["actor"]
    assert isinstance(person, str) and re.fullmatch(r"ps_[0-9a-f]{32}", person)
    assert person == PSEUDO(PERSON_REF)  # stable within a site: "the same pupil again"
    assert person != Pseudonymizer(b"t" * 32)(PERSON_REF)  # another site's key: unlinkable
    assert actor == PSEUDO(STAFF) and actor != person
    assert PSEUDO("system") == "system"  # automatic steps are not people
    with pytest.raises(ValueError, match="32 bytes"):
        Pseudonymizer(b"short")
    assert "s" * 32 not in repr(PSEUDO)


@pytest.mark.parametrize("field", sorted(FORBIDDEN_FIELDS))
def test_a_forbidden_field_is_refused_at_build_time(field: str) -> None:
    body = dict(_every_body()[EventKind.GATE_DENIAL])
    body[field] = "AAAA"
    with pytest.raises(ForbiddenFieldError, match="never leave the site"):
        check_body(EventKind.GATE_DENIAL, body)
    with pytest.raises(ForbiddenFieldError):
        Envelope("0830042X", 1, new_idempotency_key(), EventKind.GATE_DENIAL, T0, body)


@pytest.mark.parametrize(
    ("kind", "change", "message"),
    [
        (EventKind.GATE_DENIAL, {"person": PERSON_REF}, "pseudonymous"),
        (EventKind.GATE_DENIAL, {"reason": "because"}, "allowed codes"),
        (EventKind.GATE_DENIAL, {"gate_id": "x" * 65}, "at most 64"),
        (EventKind.GATE_DENIAL, {"extra_field": 1}, "not on the allow-list"),
        (EventKind.GATE_COUNTS, {"grant": -1}, "outside"),
        (EventKind.GATE_COUNTS, {"grant": True}, "integer"),
        (EventKind.GATE_COUNTS, {"interval_start": "2025-09-01T07:45:00"}, "offset"),
        (EventKind.INCIDENT_OPENED, {"severity": 9}, "outside"),
        (EventKind.DEVICE_HEALTH, {"panels_silent": "sia:1"}, "list"),
        (EventKind.PPMS_MODE, {"actor": "Mme Durand"}, "pseudonymous"),
        (EventKind.AUDIT_ANCHOR, {"head_hash": "Mme Durand"}, "SHA-256"),
        (EventKind.AUDIT_ANCHOR, {"head_hash": "AB" * 32}, "SHA-256"),
        (EventKind.AUDIT_ANCHOR, {"audit_seq": -1}, "outside"),
    ],
)
def test_values_out_of_bounds_are_refused(kind: EventKind, change: dict, message: str) -> None:
    body = {**_every_body()[kind], **change}
    with pytest.raises(ForbiddenFieldError, match=message):
        check_body(kind, body)


def test_a_missing_field_and_an_unknown_kind_are_refused() -> None:
    body = dict(_every_body()[EventKind.HEARTBEAT])
    del body["version"]
    with pytest.raises(ForbiddenFieldError, match="missing"):
        check_body(EventKind.HEARTBEAT, body)
    with pytest.raises(ForbiddenFieldError, match="unknown event kind"):
        check_body("face.image", {})


@pytest.mark.parametrize(
    "wire",
    [
        {"site": "0830042X", "seq": 0},
        {"site": "08 30", "seq": 1},
        {"seq": "1"},
        {"key": "NOTHEX"},
        {"occurred_at": "yesterday"},
        {"occurred_at": "2025-09-01T07:45:00"},
        {"body": []},
        {"template": "AAAA"},
    ],
)
def test_malformed_envelopes_are_refused(wire: dict) -> None:
    good = Envelope("0830042X", 1, new_idempotency_key(), EventKind.HEARTBEAT, T0,
                    heartbeat_body(0, "v")).to_wire()  # fmt: skip
    with pytest.raises(ForbiddenFieldError):
        Envelope.from_wire({**good, **wire})


def test_only_denials_are_reported_one_by_one() -> None:
    refer = GateDecision("g", T0, Decision.REFER, ReferReason.REFER_BAND)
    with pytest.raises(ValueError, match="DENY"):
        gate_denial_body(refer, PSEUDO)


def test_hub_messages_round_trip_and_refuse_nested_values() -> None:
    message = HubMessage(3, "alert", "*", T0, {"title": "Confinement conseillé", "town": "Toulon"})
    assert HubMessage.from_wire(message.to_wire()) == message
    with pytest.raises(DataFormatError):
        HubMessage(3, "alert", "*", T0, {"nested": {"a": 1}})
    with pytest.raises(DataFormatError):
        HubMessage.from_wire({"id": "x", "kind": "alert", "body": {}})
