"""Settings validation and the choice of backends by configuration."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from seuil.settings import (
    DlibEmbedderSettings,
    EngineSettings,
    OnnxEmbedderSettings,
    Settings,
    UserOnnxEmbedderSettings,
)


def test_defaults_pick_auto_backend_and_fast_gate_detector():
    s = Settings()
    assert s.engine.embedder.backend == "auto"
    assert s.engine.gate_detector.cnn_fallback is False
    assert s.engine.enrol_detector.cnn_fallback is True


def test_unknown_keys_are_refused():
    with pytest.raises(ValidationError):
        EngineSettings.model_validate({"embedder": {"backend": "onnx", "thread": 2}})
    with pytest.raises(ValidationError):
        EngineSettings.model_validate({"flip_ttaa": True})


def test_backend_by_discriminator():
    cfg = EngineSettings.model_validate({"embedder": {"backend": "dlib"}})
    assert isinstance(cfg.embedder, DlibEmbedderSettings)
    cfg = EngineSettings.model_validate({"embedder": {"backend": "onnx", "threads": 1}})
    assert isinstance(cfg.embedder, OnnxEmbedderSettings) and cfg.embedder.threads == 1
    with pytest.raises(ValidationError):
        EngineSettings.model_validate({"embedder": {"backend": "magic"}})
    with pytest.raises(ValidationError):  # a user model needs its path
        EngineSettings.model_validate({"embedder": {"backend": "user_onnx"}})
    user = UserOnnxEmbedderSettings(model_path="m.onnx")  # type: ignore[arg-type]
    assert user.layout == "arcface"


def test_environment_selects_backend(monkeypatch):
    monkeypatch.setenv("SEUIL_ENGINE__EMBEDDER__BACKEND", "dlib")
    assert isinstance(Settings().engine.embedder, DlibEmbedderSettings)


def test_bootstrap_builds_the_configured_backend():
    from seuil.bootstrap import build_face_engine

    engine = build_face_engine(Settings(engine=EngineSettings(embedder=DlibEmbedderSettings())))
    assert engine.embedder.name == "dlib"
    assert "emb=dlib" in engine.config_key()
    gate = build_face_engine(purpose="gate")
    assert gate.embedder.name == "onnx"
    assert gate.config_key() != engine.config_key()


def test_incident_and_notification_settings_from_the_environment(monkeypatch):
    from seuil.adapters.notify.smtp import SmtpNotifier
    from seuil.bootstrap import build_escalation_policy, build_notifiers, build_recipients
    from seuil.domain.incidents import DEFAULT_POLICY, EscalationLevel, IncidentType, Severity

    assert build_escalation_policy(Settings().incidents) == DEFAULT_POLICY
    assert build_notifiers(Settings().notifications) == {}  # no mail server: none
    monkeypatch.setenv("SEUIL_INCIDENTS__ESCALATION_S", '{"critical": [5, 10]}')
    monkeypatch.setenv("SEUIL_INCIDENTS__ESCALATION_BY_TYPE_S", '{"fire": [1]}')
    monkeypatch.setenv("SEUIL_NOTIFICATIONS__SMTP__HOST", "smtp.lycee.fr")
    monkeypatch.setenv("SEUIL_NOTIFICATIONS__SMTP__PASSWORD", "s3cret")
    monkeypatch.setenv("SEUIL_NOTIFICATIONS__SMTP__USERNAME", "seuil")
    monkeypatch.setenv(
        "SEUIL_NOTIFICATIONS__RECIPIENTS",
        '{"gate_agent": ["live:loge", "email:accueil@lycee.fr"], "vie_scolaire": ["sms:+336"]}',
    )
    s = Settings()
    policy = build_escalation_policy(s.incidents)
    assert policy.by_severity == {Severity.CRITICAL: (5.0, 10.0)}
    assert policy.by_type == {IncidentType.FIRE: (1.0,)}
    assert build_recipients(s.notifications) == {
        EscalationLevel.GATE_AGENT: [("live", "loge"), ("email", "accueil@lycee.fr")],
        EscalationLevel.VIE_SCOLAIRE: [("sms", "+336")],
    }
    notifiers = build_notifiers(s.notifications)
    assert isinstance(notifiers["email"], SmtpNotifier) and "s3cret" not in repr(notifiers)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SEUIL_INCIDENTS__ESCALATION_S", '{"critical": [0]}'),
        ("SEUIL_INCIDENTS__ESCALATION_S", '{"urgent": [10]}'),
        ("SEUIL_NOTIFICATIONS__RECIPIENTS", '{"gate_agent": ["cpe@lycee.fr"]}'),
        ("SEUIL_NOTIFICATIONS__RECIPIENTS", '{"concierge": ["email:a@b.fr"]}'),
    ],
)
def test_bad_incident_settings_are_refused(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError):
        Settings()


def test_an_unknown_incident_type_in_the_policy_is_a_configuration_error(monkeypatch):
    from seuil.bootstrap import build_escalation_policy
    from seuil.domain.errors import ConfigurationError

    monkeypatch.setenv("SEUIL_INCIDENTS__ESCALATION_BY_TYPE_S", '{"feu": [1]}')
    with pytest.raises(ConfigurationError):
        build_escalation_policy(Settings().incidents)
