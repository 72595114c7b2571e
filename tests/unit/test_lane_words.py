"""Every gate reason and every lane alert that becomes an incident signal has words on
the screens (French first, English second)."""

from __future__ import annotations

from datetime import UTC, datetime

from seuil.domain.gate import DenyReason, ReferReason
from seuil.domain.lane import AlertKind, LaneAlert
from seuil.services.gate_signals import signal_from_lane_alert
from seuil.web.gate_labels import REASONS, reason_words
from seuil.web.labels import LABELS, label

T0 = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def test_every_gate_reason_has_words() -> None:
    missing = [r.value for r in (*DenyReason, *ReferReason) if r.value not in REASONS]
    assert not missing, f"gate reasons without words in web/gate_labels.py: {missing}"
    assert reason_words("unauthorised_passage", "fr") == "passage sans ouverture"
    assert reason_words("unauthorised_passage", "en") == "passage without an opening"


def test_every_lane_alert_signal_code_has_words() -> None:
    for kind in AlertKind:
        signal = signal_from_lane_alert(LaneAlert(kind, "entree", T0, "porte"), "S")
        if signal is None:
            continue
        fr, en = LABELS["signal_code"][signal.code]
        assert fr.strip() and en.strip() and fr != signal.code, signal.code
    assert label("signal_code", "unauthorised_passage", "fr") == "passage sans ouverture"
    assert label("signal_code", "deny:revoked", "fr") == "deny:revoked"  # other codes as sent
