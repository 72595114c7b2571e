"""Notifications' retry schedule, PPMS rules and device supervision (pure domain)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from seuil.domain.devices import Device, DeviceKind, guess_kind, silent_devices
from seuil.domain.incidents import IncidentType
from seuil.domain.notifications import Notification, NotificationStatus, RetryPolicy
from seuil.domain.ppms import (
    FIRE_ACTOR,
    INITIAL,
    EntranceCommand,
    PpmsMode,
    PpmsState,
    command_for,
    end_alert,
    enter,
    on_fire,
)

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def s(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


# -- notifications -----------------------------------------------------------------------


def _note() -> Notification:
    return Notification.new("I1", "email", "cpe@lycee.fr", "Alerte", "corps", T0)


def test_backoff_is_exponential_and_capped() -> None:
    policy = RetryPolicy(max_attempts=10, base_s=10, factor=2, max_delay_s=60)
    assert [policy.delay(n).total_seconds() for n in range(1, 6)] == [10, 20, 40, 60, 60]
    assert policy.delay(10_000).total_seconds() == 60  # no overflow
    with pytest.raises(ValueError):
        policy.delay(0)


def test_a_new_notification_is_due_at_once() -> None:
    n = _note()
    assert n.status is NotificationStatus.PENDING and n.attempts == 0
    assert n.next_attempt_at == T0 and n.is_due(T0) and not n.is_due(s(-1))


def test_transient_failures_retry_then_give_up_visibly() -> None:
    policy = RetryPolicy(max_attempts=3, base_s=5, factor=3)
    n = _note().attempt_failed("connection refused", s(0), transient=True, policy=policy)
    assert n.status is NotificationStatus.PENDING and n.attempts == 1
    assert n.next_attempt_at == s(5) and not n.is_due(s(4)) and n.is_due(s(5))
    n = n.attempt_failed("timeout", s(5), transient=True, policy=policy)
    assert n.next_attempt_at == s(20) and n.attempts == 2
    n = n.attempt_failed("timeout", s(20), transient=True, policy=policy)
    assert n.status is NotificationStatus.FAILED and n.attempts == 3
    assert "gave up after 3 attempts" in n.last_error and not n.is_due(s(10_000))
    with pytest.raises(ValueError):
        n.delivered(s(30))


def test_a_permanent_error_fails_at_once() -> None:
    n = _note().attempt_failed("550 no such user", s(1), transient=False, policy=RetryPolicy())
    assert n.status is NotificationStatus.FAILED and n.attempts == 1
    assert n.last_error == "550 no such user"


def test_delivery_and_claims() -> None:
    n = _note().claimed(s(60))
    assert not n.is_due(s(59)) and n.is_due(s(60))  # a dead dispatcher's claim expires
    sent = n.delivered(s(2))
    assert sent.status is NotificationStatus.SENT and sent.sent_at == s(2) and sent.attempts == 1
    with pytest.raises(ValueError):
        sent.attempt_failed("x", s(3), transient=True, policy=RetryPolicy())


def test_live_messages_never_enter_the_outbox() -> None:
    with pytest.raises(ValueError):
        Notification.new("I1", "live", "dashboard", "a", "b", T0)
    with pytest.raises(ValueError):
        Notification.new("I1", "email", "x", "a", "b", datetime(2026, 1, 1))


# -- PPMS ----------------------------------------------------------------------------------


def test_confinement_and_end_of_alert_record_who() -> None:
    state = enter(INITIAL, PpmsMode.CONFINEMENT, "cpe.martin", s(0), "intrusion confirmée")
    assert state.mode is PpmsMode.CONFINEMENT and state.by == "cpe.martin" and state.alert
    assert command_for(state.mode) is EntranceCommand.LOCK_ENTRANCES
    ended = end_alert(state, "proviseur.dupont", s(60))
    assert ended.mode is PpmsMode.NORMAL and ended.by == "proviseur.dupont"
    assert ended.since == s(60) and ended.reason == "fin d'alerte"
    assert command_for(ended.mode) is EntranceCommand.RESTORE_NORMAL


def test_fire_releases_egress_even_during_a_confinement() -> None:
    confined = enter(INITIAL, PpmsMode.CONFINEMENT, "cpe", s(0), "intrusion")
    fire = on_fire(confined, s(5), "sia:1234")
    assert fire.mode is PpmsMode.EVACUATION and fire.by == FIRE_ACTOR
    assert "confinement" in fire.reason and "sia:1234" in fire.reason
    assert command_for(fire.mode) is EntranceCommand.RELEASE_EGRESS
    assert on_fire(fire, s(9)) is fire  # already evacuating: unchanged
    with pytest.raises(ValueError, match="evacuation"):
        enter(fire, PpmsMode.CONFINEMENT, "cpe", s(10), "intrusion")


@pytest.mark.parametrize(
    ("mode", "by", "reason"),
    [
        (PpmsMode.NORMAL, "cpe", "x"),  # normal is end_alert()
        (PpmsMode.CONFINEMENT, "cpe", " "),  # a reason is required
        (PpmsMode.CONFINEMENT, " ", "x"),  # and who
    ],
)
def test_enter_refuses(mode: PpmsMode, by: str, reason: str) -> None:
    with pytest.raises(ValueError):
        enter(INITIAL, mode, by, s(0), reason)


def test_end_alert_refuses_without_an_alert_or_a_person() -> None:
    with pytest.raises(ValueError):
        end_alert(INITIAL, "cpe", s(0))
    fire = on_fire(INITIAL, s(0))
    with pytest.raises(ValueError):
        end_alert(fire, FIRE_ACTOR, s(1))
    with pytest.raises(ValueError):
        PpmsState(PpmsMode.NORMAL, s(0), "")


# -- devices -------------------------------------------------------------------------------


def test_silent_devices_from_stored_timestamps() -> None:
    panel = Device("sia:1", DeviceKind.ALARM_PANEL, "hall", supervision_interval_s=60,
                   last_seen=s(0))  # fmt: skip
    never = Device("btn-2", DeviceKind.PANIC_BUTTON, "cdi", supervision_interval_s=30,
                   registered_at=s(0))  # fmt: skip
    free = Device("cam-1", DeviceKind.CAMERA, last_seen=s(0))  # unsupervised
    assert silent_devices([panel, never, free], s(30)) == []  # exactly on time
    assert [d.id for d in silent_devices([panel, never, free], s(31))] == ["btn-2"]
    assert [d.id for d in silent_devices([panel, never, free], s(61))] == ["btn-2", "sia:1"]
    reported = panel.reported_silent(s(61))
    assert silent_devices([reported], s(1000)) == []  # reported once, not every tick
    assert reported.seen(s(0.5)).silent_since == s(61)  # a replayed old message
    back = reported.seen(s(500))
    assert back.silent_since is None and back.last_seen == s(500)
    assert back.seen(s(400)).last_seen == s(500)  # a late message never moves it back
    assert [d.id for d in silent_devices([back], s(561))] == ["sia:1"]


def test_device_validation_and_kind_guess() -> None:
    with pytest.raises(ValueError):
        Device("x", DeviceKind.SENSOR, supervision_interval_s=0)
    with pytest.raises(ValueError):
        Device(" ", DeviceKind.SENSOR)
    assert guess_kind(IncidentType.DOOR_FORCED) is DeviceKind.DOOR
    assert guess_kind(IncidentType.FIRE) is DeviceKind.ALARM_PANEL
