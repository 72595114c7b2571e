"""Settings models. Backends are chosen by a discriminated union, not by if-chains.

Values come from a TOML/JSON file or the environment (``SEUIL_`` prefix, ``__`` for
nesting, e.g. ``SEUIL_ENGINE__EMBEDDER__BACKEND=dlib``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AutoEmbedderSettings(_Strict):
    """ONNX Runtime when it is available (converted dlib weights), else dlib itself."""

    backend: Literal["auto"] = "auto"
    threads: int | None = None


class OnnxEmbedderSettings(_Strict):
    """dlib's ResNet weights converted to ONNX, run by ONNX Runtime."""

    backend: Literal["onnx"] = "onnx"
    threads: int | None = None


class DlibEmbedderSettings(_Strict):
    """dlib's own implementation (the reference; slow without BLAS)."""

    backend: Literal["dlib"] = "dlib"


class UserOnnxEmbedderSettings(_Strict):
    """A user-supplied ONNX model (for example an ArcFace-class network).

    Its scores live on another scale than dlib's: give it its own calibration file
    (``seuil eval verification --calibrate-out``) so thresholds stay operating points.
    """

    backend: Literal["user_onnx"] = "user_onnx"
    model_path: Path
    input_size: int = 112
    layout: Literal["arcface", "dlib"] = "arcface"
    channel_order: Literal["RGB", "BGR"] = "RGB"
    mean: tuple[float, float, float] = (127.5, 127.5, 127.5)
    std: tuple[float, float, float] = (127.5, 127.5, 127.5)
    nchw: bool = True
    calibration_path: Path | None = None
    threads: int | None = None


EmbedderSettings = Annotated[
    AutoEmbedderSettings | OnnxEmbedderSettings | DlibEmbedderSettings | UserOnnxEmbedderSettings,
    Field(discriminator="backend"),
]


class DetectorSettings(_Strict):
    """HOG for speed; CNN (MMOD) as the fallback when HOG finds nothing."""

    hog_upsample: int = Field(1, ge=0, le=3)
    max_side: int = Field(1024, ge=0, description="downscale longer side to this (0: never)")
    cnn_fallback: bool = True
    # "onnx": dlib's MMOD network converted to ONNX (same boxes, ~10x faster than dlib-bin).
    cnn_backend: Literal["onnx", "dlib"] = "onnx"
    cnn_upsample: int = Field(1, ge=0, le=2)


class EngineSettings(_Strict):
    embedder: EmbedderSettings = Field(default_factory=AutoEmbedderSettings)
    enrol_detector: DetectorSettings = Field(default_factory=DetectorSettings)
    gate_detector: DetectorSettings = Field(
        default_factory=lambda: DetectorSettings(hog_upsample=0, max_side=640, cnn_fallback=False)
    )
    flip_tta: bool = True
    # Test-time augmentation: the face is also cut with these paddings (dlib layout) and
    # the embeddings averaged. Measured on LFW View 1 (docs/benchmarks.md).
    tta_paddings: tuple[float, ...] = (0.18, 0.32)


class SiteSettings(_Strict):
    """The school: its UAI code (printed into every credential) and name."""

    id: str = Field("0000000X", pattern=r"^[0-9A-Z]{3,16}$")
    name: str = "Lycée de démonstration"


class StorageSettings(_Strict):
    """SQLite file by default (in the user data directory); PostgreSQL by URL."""

    url: str | None = None


class KeySettings(_Strict):
    """Signing keys and the site template key live in files here, never in the database."""

    dir: Path | None = None


class HubLinkSettings(_Strict):
    """The link to the regional hub (issue 7). No ``url``: no link, the outbox stays off.

    The site's bearer token is a secret: given by reference (``token_file``, or the
    ``SEUIL_HUB_TOKEN`` environment variable), never in this file.
    """

    url: str | None = Field(None, pattern=r"^https?://")
    token_file: Path | None = None
    batch_size: int = Field(200, ge=1, le=500)
    timeout_s: float = Field(10.0, gt=0)
    backoff_initial_s: float = Field(1.0, gt=0)
    backoff_max_s: float = Field(300.0, gt=0)
    idle_poll_s: float = Field(0.5, gt=0)  # empty outbox: look again after this (local)
    messages_poll_s: float = Field(5.0, gt=0)  # idle: ask the hub for messages this often
    heartbeat_s: float = Field(60.0, gt=0)
    counts_interval_s: int = Field(60, ge=10, le=3600)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SEUIL_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    engine: EngineSettings = Field(default_factory=EngineSettings)
    site: SiteSettings = Field(default_factory=SiteSettings)
    database: StorageSettings = Field(default_factory=StorageSettings)
    keys: KeySettings = Field(default_factory=KeySettings)
    hub_link: HubLinkSettings = Field(default_factory=HubLinkSettings)
