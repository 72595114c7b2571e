"""Settings models. Backends are chosen by a discriminated union, not by if-chains.

Values come from a TOML/JSON file or the environment (``SEUIL_`` prefix, ``__`` for
nesting, e.g. ``SEUIL_ENGINE__EMBEDDER__BACKEND=dlib``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from seuil.domain.errors import ConfigurationError
from seuil.domain.retention import RULES, DataKind, RetentionPolicy


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
    # The audit chain's head goes to the hub this often (and at each start of the link).
    anchor_s: float = Field(900.0, ge=1)
    counts_interval_s: int = Field(60, ge=10, le=3600)
    # TLS: the region's CA bundle (when the hub's certificate is not from a public CA),
    # and for mutual TLS the site's client certificate and its key (a file, mode 0600).
    ca_file: Path | None = None
    client_cert_file: Path | None = None
    client_key_file: Path | None = None

    @model_validator(mode="after")
    def _client_pair(self) -> HubLinkSettings:
        if (self.client_cert_file is None) != (self.client_key_file is None):
            raise ValueError("client_cert_file and client_key_file go together (mutual TLS)")
        return self


SeverityName = Literal["info", "low", "medium", "high", "critical"]
LevelName = Literal["gate_agent", "vie_scolaire", "head_of_school", "regional_centre"]


def _default_escalation() -> dict[SeverityName, list[float]]:
    return {
        "critical": [60.0, 120.0, 180.0],
        "high": [180.0, 600.0, 1800.0],
        "medium": [600.0, 1800.0],
        "low": [1800.0],
    }


class IncidentSettings(_Strict):
    """The incident engine. ``escalation_s[severity]`` lists the seconds an incident may
    stay unacknowledged at each level (gate agent, vie scolaire, head of school) before
    the next is notified; a severity left out never escalates on its own.
    ``escalation_by_type_s`` overrides it for one incident type (``"fire"``...).

    ``SEUIL_INCIDENTS__ESCALATION_S='{"critical": [60, 120, 180]}'``"""

    escalation_s: dict[SeverityName, list[float]] = Field(default_factory=_default_escalation)
    escalation_by_type_s: dict[str, list[float]] = Field(default_factory=dict)
    dedup_window_s: float = Field(300, gt=0)
    correlation_window_s: float = Field(120, ge=0)
    tick_s: float = Field(1.0, gt=0, le=60, description="the engine loop's period")

    @field_validator("escalation_s", "escalation_by_type_s")
    @classmethod
    def _positive(cls, value: dict[str, list[float]]) -> dict[str, list[float]]:
        for key, delays in value.items():
            if any(d <= 0 for d in delays) or len(delays) > 3:
                raise ValueError(f"{key}: up to 3 positive delays (one per level below the last)")
        return value


class SmtpSettings(_Strict):
    """The mail server for e-mail notifications; without ``host`` e-mails are not sent
    (they stay in the outbox, failed with a clear error)."""

    host: str | None = None
    port: int = Field(25, ge=1, le=65535)
    sender: str = "seuil@localhost"
    starttls: bool = False
    username: str | None = None
    password: SecretStr | None = None
    timeout_s: float = Field(10.0, gt=0)


class NotificationSettings(_Strict):
    """Who is told at each escalation level: ``"channel:recipient"`` entries, e.g.
    ``{"gate_agent": ["live:loge", "email:accueil@lycee.fr"], "vie_scolaire":
    ["email:cpe@lycee.fr"]}`` (``live`` goes to the dashboards only). Failed deliveries
    are retried with exponential backoff, then shown as failed."""

    smtp: SmtpSettings = Field(default_factory=SmtpSettings)
    recipients: dict[LevelName, list[str]] = Field(default_factory=dict)
    max_attempts: int = Field(8, ge=1)
    retry_base_s: float = Field(30.0, ge=0)
    retry_max_s: float = Field(3600.0, ge=0)
    claim_s: float = Field(120.0, gt=0, description="how long a send may take before retry")

    @field_validator("recipients")
    @classmethod
    def _channel_and_recipient(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for level, entries in value.items():
            for entry in entries:
                channel, _, recipient = entry.partition(":")
                if not channel.strip() or not recipient.strip():
                    raise ValueError(f"{level}: {entry!r} is not 'channel:recipient'")
        return value


def _days(kind: DataKind) -> int:
    return Field(RULES[kind].default_days, description=f"days, at most {RULES[kind].max_days}")


class RetentionSettings(_Strict):
    """Retention periods in days, one per data kind (``SEUIL_RETENTION__TEMPLATE=15``).

    Each may be shortened, never set past its lawful bound (:mod:`seuil.domain.retention`
    names the source of each bound). The purge job runs every ``purge_interval_hours``.
    """

    enrolment_photo: int = _days(DataKind.ENROLMENT_PHOTO)
    template: int = _days(DataKind.TEMPLATE)
    gate_event_identified: int = _days(DataKind.GATE_EVENT_IDENTIFIED)
    gate_event_statistics: int = _days(DataKind.GATE_EVENT_STATISTICS)
    incident_snapshot: int = _days(DataKind.INCIDENT_SNAPSHOT)
    incident: int = _days(DataKind.INCIDENT)
    audit_entry: int = _days(DataKind.AUDIT_ENTRY)
    device_log: int = _days(DataKind.DEVICE_LOG)
    departed_person: int = _days(DataKind.DEPARTED_PERSON)
    purge_interval_hours: float = Field(6.0, gt=0, le=24)

    @model_validator(mode="after")
    def _lawful(self) -> RetentionSettings:
        try:
            self.policy()
        except ConfigurationError as exc:
            raise ValueError(exc.message) from None
        return self

    def policy(self) -> RetentionPolicy:
        return RetentionPolicy({kind: getattr(self, kind.value) for kind in DataKind})


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SEUIL_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    engine: EngineSettings = Field(default_factory=EngineSettings)
    site: SiteSettings = Field(default_factory=SiteSettings)
    database: StorageSettings = Field(default_factory=StorageSettings)
    keys: KeySettings = Field(default_factory=KeySettings)
    hub_link: HubLinkSettings = Field(default_factory=HubLinkSettings)
    incidents: IncidentSettings = Field(default_factory=IncidentSettings)
    notifications: NotificationSettings = Field(default_factory=NotificationSettings)
    retention: RetentionSettings = Field(default_factory=RetentionSettings)
