"""The words pages show for raw values, and local time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from seuil.domain.hub import HubMessage, MessageKind
from seuil.domain.incidents import IncidentStatus, Severity
from seuil.domain.people import PersonStatus
from seuil.services.incidents import TYPE_LABELS
from seuil.web.gate_labels import REASONS
from seuil.web.hub_view import current_alert
from seuil.web.labels import DASH, LABELS, label, local


def test_labels_french_first_english_second_and_fallbacks() -> None:
    assert label("incident_status", IncidentStatus.OPEN, "fr") == "ouvert"
    assert label("incident_status", "resolved", "en") == "resolved"
    assert label("severity", int(Severity.CRITICAL), "fr") == "critique"
    assert label("severity", "high", "fr") == "haute"
    assert label("person_status", PersonStatus.EXCLUDED, "fr") == "exclu"
    assert label("health", "last_error", "fr") == "dernière erreur"
    assert label("health", "brand_new_key", "fr") == "brand_new_key"  # shown, not lost
    assert label("health", None, "fr") == DASH


def test_local_time_is_paris_summer_and_winter() -> None:
    assert local(datetime(2025, 7, 1, 6, 30, tzinfo=UTC), "%H:%M") == "08:30"
    assert local("2025-12-01T06:30:00+00:00", "%H:%M") == "07:30"
    assert local(datetime(2025, 12, 1, 6, 30), "%H:%M") == "07:30"  # naive: UTC
    assert local(None) == DASH


def test_a_regional_alert_is_a_banner_for_a_day() -> None:
    now = datetime(2025, 10, 6, 8, 0, tzinfo=UTC)
    alert = HubMessage(2, MessageKind.ALERT, "*", now - timedelta(hours=23), {"title": "x"})
    ack = HubMessage(3, MessageKind.ACK, "S", now, {"state": "acknowledged"})
    assert current_alert([ack, alert], now) is alert
    assert current_alert([ack, alert], now + timedelta(hours=2)) is None


def test_liveness_has_one_french_name_everywhere_staff_read_it() -> None:
    """One French name for liveness, the demo gate's: "contrôle du vivant"."""
    french = [fr for fr, _ in REASONS.values()]
    french += [fr for group in LABELS.values() for fr, _ in group.values()]
    french += list(TYPE_LABELS.values())
    assert REASONS["liveness_failed"][0] == "contrôle du vivant échoué"
    assert LABELS["incident_type"]["liveness_failure"][0] == "échec du contrôle du vivant"
    for words in french:
        assert "présence réelle" not in words and "vivacité" not in words, words
