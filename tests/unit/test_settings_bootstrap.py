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
