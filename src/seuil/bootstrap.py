"""Builds everything from the settings: the only place that picks adapters and backends."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Collection
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from seuil.domain.errors import ConfigurationError, ModelUnavailableError
from seuil.engine.detection import (
    CascadeDetector,
    CnnDetector,
    HogDetector,
    UpsamplingDetector,
)
from seuil.engine.landmarks import Dlib5PointPredictor
from seuil.engine.models import DlibModelFiles, dlib_model_files
from seuil.engine.pipeline import FaceEngine
from seuil.engine.quality import ENROLMENT, GATE
from seuil.ports.face import FaceDetector, FaceEmbedder
from seuil.settings import (
    AutoEmbedderSettings,
    DetectorSettings,
    DlibEmbedderSettings,
    EngineSettings,
    IncidentSettings,
    NotificationSettings,
    OnnxEmbedderSettings,
    Settings,
    UserOnnxEmbedderSettings,
)

if TYPE_CHECKING:
    from seuil.adapters.doors.commander import DoorsCommander
    from seuil.adapters.hub_link import HubForwarder, LinkOptions
    from seuil.adapters.live import MemoryLiveBus
    from seuil.adapters.storage.hub_outbox import OutboxConfig
    from seuil.adapters.storage.unit_of_work import SqlUnitOfWork
    from seuil.domain.audit import AnchorVerdict, ChainVerdict
    from seuil.domain.gate import GateDecision, GateMode
    from seuil.domain.incidents import EscalationPolicy
    from seuil.domain.lane import LaneAlert
    from seuil.domain.retention import DataKind
    from seuil.domain.site_mode import SiteModeSource
    from seuil.gate.badge_http import BadgeEndpoint
    from seuil.gate.badge_inbox import BadgeInbox
    from seuil.gate.lane_control import AirlockLane, DoorLane
    from seuil.gate.pipeline import (
        ChallengeSource,
        DoorControl,
        GateOptions,
        GatePipeline,
        Identifier,
    )
    from seuil.gate.runner import GateLane, LaneSensor
    from seuil.ports.clock import Clock
    from seuil.ports.doors import Door
    from seuil.ports.frames import FrameSource
    from seuil.ports.liveness import ActiveChallenge
    from seuil.ports.notify import Notifier
    from seuil.ports.signals import SignalSink
    from seuil.ports.site_control import EntranceCommander
    from seuil.services.dpia import DpiaService, GateFacts
    from seuil.services.enrolment import EnrolmentService
    from seuil.services.gate_desk import GateDesk
    from seuil.services.incidents import IncidentService, Recipients
    from seuil.services.notifications import NotificationDispatcher
    from seuil.services.ppms import PpmsService
    from seuil.site_config import SiteConfig

logger = logging.getLogger(__name__)

HUB_WAIT_ON_SCREEN_S = 3.0  # how long a page waits for the hub's audit anchors

Purpose = Literal["enrol", "gate"]


def _dlib(cfg: DlibEmbedderSettings, files: DlibModelFiles) -> FaceEmbedder:
    from seuil.engine.embedding.dlib_backend import DlibEmbedder

    return DlibEmbedder(files.embedder)


def _onnx(cfg: OnnxEmbedderSettings | AutoEmbedderSettings, files: DlibModelFiles) -> FaceEmbedder:
    from seuil.engine.embedding.model_cache import cached_onnx_model
    from seuil.engine.embedding.onnx_backend import OnnxEmbedder

    return OnnxEmbedder(cached_onnx_model(files.embedder), intra_op_num_threads=cfg.threads)


def _auto(cfg: AutoEmbedderSettings, files: DlibModelFiles) -> FaceEmbedder:
    try:
        return _onnx(cfg, files)
    except (ImportError, ModelUnavailableError) as exc:
        logger.warning("ONNX embedder unavailable (%s); using dlib, which is much slower", exc)
        return _dlib(DlibEmbedderSettings(), files)


def _user_onnx(cfg: UserOnnxEmbedderSettings, files: DlibModelFiles) -> FaceEmbedder:
    from seuil.engine.embedding.onnx_backend import UserOnnxEmbedder

    return UserOnnxEmbedder(
        cfg.model_path,
        input_size=cfg.input_size,
        layout=cfg.layout,
        channel_order=cfg.channel_order,
        mean=cfg.mean,
        std=cfg.std,
        data_format="NCHW" if cfg.nchw else "NHWC",
        intra_op_num_threads=cfg.threads,
    )


_EMBEDDERS: dict[type, Callable[..., FaceEmbedder]] = {
    AutoEmbedderSettings: _auto,
    OnnxEmbedderSettings: _onnx,
    DlibEmbedderSettings: _dlib,
    UserOnnxEmbedderSettings: _user_onnx,
}


def build_embedder(settings: EngineSettings, files: DlibModelFiles) -> FaceEmbedder:
    return _EMBEDDERS[type(settings.embedder)](settings.embedder, files)


def build_detector(cfg: DetectorSettings, files: DlibModelFiles) -> FaceDetector:
    hog = HogDetector(upsample=cfg.hog_upsample, max_side=cfg.max_side)
    if not cfg.cnn_fallback:
        return hog
    max_side = cfg.max_side or 1024
    cnn: FaceDetector
    if cfg.cnn_backend == "onnx":
        from seuil.engine.mmod_onnx import MmodOnnxDetector

        cnn = UpsamplingDetector(
            MmodOnnxDetector(files.cnn_detector), upsample=cfg.cnn_upsample, max_side=max_side
        )
    else:
        cnn = CnnDetector(files.cnn_detector, upsample=cfg.cnn_upsample, max_side=max_side)
    return CascadeDetector([hog, cnn])


def build_face_engine(settings: Settings | None = None, purpose: Purpose = "enrol") -> FaceEngine:
    """The face engine for enrolment photos (accurate) or gate frames (fast)."""
    cfg = (settings or Settings()).engine
    files = dlib_model_files()
    detector_cfg = cfg.enrol_detector if purpose == "enrol" else cfg.gate_detector
    return FaceEngine(
        build_detector(detector_cfg, files),
        Dlib5PointPredictor(files.landmarks5),
        build_embedder(cfg, files),
        flip_tta=cfg.flip_tta,
        tta_paddings=cfg.tta_paddings,
        quality_limits=ENROLMENT if purpose == "enrol" else GATE,
    )


# -- the site: storage, keys, use cases ---------------------------------------------------


class Site:
    """The wired use cases of one school site (built once per process)."""

    def __init__(self, settings: Settings) -> None:
        from platformdirs import user_data_dir

        from seuil.adapters.crypto.credential_codec import SignedCredentialCodec
        from seuil.adapters.crypto.keys import Keyring, init_site_key, load_site_key
        from seuil.adapters.crypto.template_cipher import SiteBlobCipher
        from seuil.adapters.hub_link.secret import load_or_create_pseudonymizer
        from seuil.adapters.storage.engine import create_storage_engine, default_database_url
        from seuil.adapters.storage.hub_outbox import OutboxConfig
        from seuil.adapters.storage.migrate import upgrade_engine
        from seuil.adapters.storage.unit_of_work import SqlUnitOfWork
        from seuil.ports.clock import SystemClock
        from seuil.services.consent import ConsentService
        from seuil.services.credentials import CredentialService
        from seuil.services.gate_access import GateAccessService
        from seuil.services.impact_assessment import ImpactAssessmentService
        from seuil.services.people import PeopleService
        from seuil.services.purge import PurgeService
        from seuil.services.roster import RosterService
        from seuil.services.subject_requests import SubjectRequestService

        self.settings = settings
        self.clock: Clock = SystemClock()
        self.database_url = settings.database.url or default_database_url()
        self.db = create_storage_engine(self.database_url)
        upgrade_engine(self.db)
        key_dir = settings.keys.dir or Path(
            os.environ.get("SEUIL_KEY_DIR") or Path(user_data_dir("seuil")) / "keys"
        )
        self.keyring = Keyring.open(key_dir, self.clock.now())
        if not os.environ.get("SEUIL_SITE_KEY"):
            init_site_key(key_dir)
        self.site_key = load_site_key(key_dir)
        self.cipher = SiteBlobCipher(self.site_key.key)
        self.codec = SignedCredentialCodec(settings.site.id, self.keyring, self.keyring)

        self.outbox_config: OutboxConfig | None = None
        if settings.hub_link.url:
            self.outbox_config = OutboxConfig(
                settings.site.id, load_or_create_pseudonymizer(key_dir), self.clock.now
            )
        self.key_dir = key_dir

        def uow() -> SqlUnitOfWork:
            return SqlUnitOfWork(self.db, hub=self.outbox_config)

        def reader() -> SqlUnitOfWork:
            return SqlUnitOfWork(self.db, read_only=True)

        self.uow = uow
        self.reader = reader
        self.people = PeopleService(uow, self.clock)
        self.consent = ConsentService(uow, self.clock)
        self.credentials = CredentialService(uow, self.clock, self.codec, settings.site.id, reader)
        self.gate_access = GateAccessService(uow, self.credentials, self.cipher, reader)
        self.roster = RosterService(uow, self.clock)
        self.retention = settings.retention.policy()
        self.purge = PurgeService(uow, self.clock, self.retention, self.compact)
        self.subjects = SubjectRequestService(uow, self.clock, settings.site.id)
        self.impact_assessments = ImpactAssessmentService(uow, self.clock)
        self._enrolment: EnrolmentService | None = None
        self._incident_engine: tuple[IncidentService, PpmsService] | None = None
        self._dispatcher: NotificationDispatcher | None = None
        self._bus: MemoryLiveBus | None = None
        self._gate_desk: GateDesk | None = None
        # Set before the engine is first used to command real doors (seuil incidents run).
        self.entrance_commander: EntranceCommander | None = None

    def dpia(self) -> DpiaService:
        """The impact-assessment generator on this site's data and settings."""
        from seuil.adapters.storage.audit_log import verify_audit
        from seuil.services.dpia import DpiaService

        def audit_state() -> tuple[bool, int]:
            with self.reader() as uow:
                verdict = verify_audit(uow)
            return verdict.ok, verdict.entries

        from seuil.domain.hub import ALLOWED

        # The hub's payload allow-list itself: what the DPIA shows is what the code sends.
        def shown(name: str, kind: str) -> str:
            return f"{name} (pseudonyme)" if kind == "pseudonym" else name

        hub_fields = [
            f"{event.value} : " + ", ".join(shown(n, spec.kind) for n, spec in fields.items())
            for event, fields in ALLOWED.items()
        ]
        return DpiaService(self.uow, self.clock, self.settings.site.name, self.settings.site.id,
                           self.retention, audit_state, hub_fields)  # fmt: skip

    def compact(self, kinds: Collection[DataKind]) -> set[DataKind]:
        """After a purge: removed rows leave the database files too (see compact_tables)."""
        from seuil.adapters.storage.retention import compact_tables

        return compact_tables(self.db, kinds)

    def set_clock(self, clock: Clock) -> None:
        """Tests: one injected clock for every use case of the site."""
        self.clock = clock
        for service in (self.people, self.consent, self.credentials, self.roster, self.purge,
                        self.subjects, self.impact_assessments):  # fmt: skip
            service._clock = clock

    @property
    def enrolment(self) -> EnrolmentService:
        """Built on first use: it loads the face models."""
        if self._enrolment is None:
            from seuil.engine.enrolment import EngineTemplateBuilder
            from seuil.services.enrolment import EnrolmentService

            engine = build_face_engine(self.settings, purpose="enrol")
            self._enrolment = EnrolmentService(
                self.uow, self.clock, EngineTemplateBuilder(engine), self.cipher,
                self.credentials,
            )  # fmt: skip
        return self._enrolment

    def hub_forwarder(self) -> HubForwarder:
        """The hub link's forwarder (start it with ``.start()``); needs ``hub_link.url``."""
        from seuil.adapters.hub_link import HubForwarder

        options = link_options(self.settings)
        return HubForwarder(self.uow, self.clock, options, publish=self.bus.publish)

    def anchor_audit(self) -> int | None:
        """Queue the audit chain's head for the hub now (the link sends it); the event's
        sequence number, or None without a hub link."""
        from seuil.services.hub_events import report_audit_anchor

        with self.uow() as uow:
            queued = report_audit_anchor(uow.outbox, uow.audit, self.clock.now())
            uow.commit()
        return queued.seq if queued else None

    def verify_audit(self) -> tuple[ChainVerdict, AnchorVerdict | None]:
        """The audit chain, and (with a hub link) the chain against the hub's anchors.

        Staff wait for this on a page: the hub gets :data:`HUB_WAIT_ON_SCREEN_S` to answer,
        not the link's whole timeout; an unreachable hub is then shown as not asked."""
        from seuil.adapters.storage.audit_log import verify_audit

        with self.reader() as uow:
            verdict = verify_audit(uow)
        if not self.settings.hub_link.url:
            return verdict, None
        return verdict, verify_against_hub(
            self.settings, self.reader, HUB_WAIT_ON_SCREEN_S, self.clock.now()
        )

    # -- the incident engine (built on first use) ----------------------------------------

    @property
    def bus(self) -> MemoryLiveBus:
        if self._bus is None:
            from seuil.adapters.live import MemoryLiveBus

            self._bus = MemoryLiveBus()
        return self._bus

    def _engine(self) -> tuple[IncidentService, PpmsService]:
        if self._incident_engine is None:
            from seuil.adapters.doors.commander import DoorsCommander
            from seuil.services.incidents import IncidentService
            from seuil.services.ppms import PpmsService

            cfg = self.settings.incidents
            commander = self.entrance_commander or DoorsCommander([])
            ppms = PpmsService(self.uow, self.clock, commander, self.bus)
            incidents = IncidentService(
                self.uow, self.clock, policy=build_escalation_policy(cfg),
                recipients=build_recipients(self.settings.notifications), bus=self.bus,
                ppms=ppms, site_id=self.settings.site.id,
                dedup_window=timedelta(seconds=cfg.dedup_window_s),
                correlation_window=timedelta(seconds=cfg.correlation_window_s),
                reader=self.reader,
            )  # fmt: skip
            self._incident_engine = (incidents, ppms)
        return self._incident_engine

    @property
    def gate_desk(self) -> GateDesk:
        """The gate screens' use cases (agent decisions, photo check); no incident sink:
        a lane's sink is :func:`build_gate_feed`."""
        if self._gate_desk is None:
            self._gate_desk = build_gate_feed(self, None)
        return self._gate_desk

    @property
    def incidents(self) -> IncidentService:
        """The incident engine, the SignalSink of every device adapter."""
        return self._engine()[0]

    @property
    def ppms(self) -> PpmsService:
        return self._engine()[1]

    @property
    def dispatcher(self) -> NotificationDispatcher:
        if self._dispatcher is None:
            from seuil.domain.notifications import RetryPolicy
            from seuil.services.notifications import NotificationDispatcher

            cfg = self.settings.notifications
            retry = RetryPolicy(cfg.max_attempts, cfg.retry_base_s, 2.0, cfg.retry_max_s)
            self._dispatcher = NotificationDispatcher(
                self.uow, self.clock, build_notifiers(cfg), retry=retry,
                claim=timedelta(seconds=cfg.claim_s),
            )  # fmt: skip
        return self._dispatcher

    def close(self) -> None:
        self.db.dispose()


def link_options(settings: Settings) -> LinkOptions:
    """The hub link's options from the settings (reads the token file)."""
    from seuil.adapters.hub_link import LinkOptions
    from seuil.adapters.hub_link.secret import read_hub_token

    link = settings.hub_link
    if not link.url:
        raise ConfigurationError("no hub link configured (hub_link.url)")
    return LinkOptions(
        hub_url=link.url, site_id=settings.site.id,
        token=read_hub_token(link.token_file), batch_size=link.batch_size,
        timeout_s=link.timeout_s, backoff_initial_s=link.backoff_initial_s,
        backoff_max_s=link.backoff_max_s, idle_poll_s=link.idle_poll_s,
        messages_poll_s=link.messages_poll_s, heartbeat_s=link.heartbeat_s,
        anchor_s=link.anchor_s, counts_interval_s=link.counts_interval_s,
        ca_file=link.ca_file, client_cert_file=link.client_cert_file,
        client_key_file=link.client_key_file,
    )  # fmt: skip


def verify_against_hub(
    settings: Settings,
    reader: Callable[[], SqlUnitOfWork],
    wait_s: float | None = None,
    now: datetime | None = None,
) -> AnchorVerdict:
    """The site's audit chain against the anchors the hub keeps for it. A hub that
    cannot be asked, or whose pages of anchors are not all read within ``wait_s`` (all
    requests together; without it, the link's timeout per request), gives a verdict
    that says so (``unavailable``, "hub too slow"), not a failure.

    A purge checkpoint past an anchor sent less than the *shortest* audit retention the
    settings allow before ``now`` is reported as tampering: the configured period may
    have been shorter when the purge ran (an admin may lower it to the minimum), so only
    the minimum is safe from false alarms."""
    from seuil.adapters.hub_link import LinkError
    from seuil.adapters.hub_link.forwarder import fetch_anchors
    from seuil.adapters.storage.audit_log import verify_anchors
    from seuil.domain.audit import AnchorVerdict

    try:
        options = link_options(settings)
        if wait_s is not None:
            options = replace(options, timeout_s=min(options.timeout_s, wait_s))
        anchors = fetch_anchors(options, deadline_s=wait_s)
    except (LinkError, ConfigurationError) as exc:
        logger.warning("audit anchors not checked: %s", exc.message)
        return AnchorVerdict(unavailable=exc.message)
    from seuil.domain.retention import RULES, DataKind

    shortest = timedelta(days=RULES[DataKind.AUDIT_ENTRY].min_days)
    purgeable_before = (now or datetime.now(UTC)) - shortest
    with reader() as uow:
        return verify_anchors(
            uow, [(a.audit_seq, a.head_hash, a.at) for a in anchors], purgeable_before
        )


def build_site(settings: Settings | None = None) -> Site:
    return Site(settings or Settings())


def gate_facts(config: SiteConfig) -> list[GateFacts]:
    """What the impact assessment says of each configured gate."""
    from seuil.services.dpia import GateFacts

    return [
        GateFacts(g.id, g.name, g.mode.value, tuple(g.storage), g.impact_assessment_ref)
        for g in config.gates
    ]


def build_gate_feed(site: Site, signals: SignalSink | None) -> GateDesk:
    """A gate lane's sink: store each decision, show it on the gate screens (live bus),
    and hand the ones that are incident signals to ``signals`` (the engine or its
    disk buffer). Use ``.feed`` as the pipeline's ``sink``."""
    from seuil.services.gate_desk import GateDesk

    return GateDesk(site.uow, site.clock, site.cipher, site.bus, reader=site.reader,
                    signals=signals, site_id=site.settings.site.id)  # fmt: skip


# -- incidents and notifications from the settings ----------------------------------------


def build_escalation_policy(cfg: IncidentSettings) -> EscalationPolicy:
    from seuil.domain.incidents import EscalationPolicy, IncidentType, Severity

    try:
        by_type = {IncidentType(k): tuple(v) for k, v in cfg.escalation_by_type_s.items()}
    except ValueError as error:
        raise ConfigurationError(f"incidents.escalation_by_type_s: {error}") from None
    by_severity = {Severity[k.upper()]: tuple(v) for k, v in cfg.escalation_s.items()}
    return EscalationPolicy(by_severity=by_severity, by_type=by_type)


def build_recipients(cfg: NotificationSettings) -> Recipients:
    from seuil.domain.incidents import EscalationLevel

    recipients: dict[EscalationLevel, list[tuple[str, str]]] = {}
    for level, entries in cfg.recipients.items():
        pairs = [entry.partition(":") for entry in entries]
        recipients[EscalationLevel[level.upper()]] = [(c.strip(), r.strip()) for c, _, r in pairs]
    return recipients


def build_notifiers(cfg: NotificationSettings) -> dict[str, Notifier]:
    """One notifier per configured channel; a channel left out fails its messages
    visibly ("no notifier configured"), it never drops them."""
    notifiers: dict[str, Notifier] = {}
    smtp = cfg.smtp
    if smtp.host:
        from seuil.adapters.notify.smtp import SmtpNotifier

        password = smtp.password.get_secret_value() if smtp.password else None
        notifiers["email"] = SmtpNotifier(
            smtp.host, smtp.port, smtp.sender, starttls=smtp.starttls,
            username=smtp.username, password=password, timeout=smtp.timeout_s,
        )  # fmt: skip
    return notifiers


def build_entrance_commander(site: Site, config: SiteConfig) -> DoorsCommander:
    """Every door of the site configuration file, for the PPMS."""
    from seuil.adapters.doors.commander import DoorsCommander

    return DoorsCommander([_door(cfg, site.settings.site.id) for cfg in config.doors])


# -- gates from the site configuration ------------------------------------------------------


def _camera_source(camera: object, on_fault: Callable[..., None]) -> FrameSource:
    from seuil.adapters.cameras.av_source import StreamSource
    from seuil.adapters.cameras.file_source import FileSource
    from seuil.adapters.cameras.presentation import PresentationSource
    from seuil.site_config import (
        FileCamera,
        MjpegCamera,
        PresentationCamera,
        RtspCamera,
        WebcamCamera,
    )

    if isinstance(camera, PresentationCamera):
        return PresentationSource(camera.id, size=(camera.width, camera.height),
                                  on_fault=on_fault)  # fmt: skip
    if isinstance(camera, FileCamera):
        return FileSource(camera.path, camera.id, loop=camera.loop, on_fault=on_fault)
    if isinstance(camera, RtspCamera):
        return StreamSource(camera.url.get_secret_value(), camera.id,
                            rtsp_transport=camera.transport, on_fault=on_fault)  # fmt: skip
    if isinstance(camera, MjpegCamera):
        return StreamSource(camera.url.get_secret_value(), camera.id, on_fault=on_fault)
    if isinstance(camera, WebcamCamera):
        return StreamSource(camera.index, camera.id, on_fault=on_fault)
    raise ConfigurationError(f"unsupported camera {camera!r}")


def _door(cfg: object, site_id: str) -> Door:
    from seuil.adapters.doors.http_relay import BasicAuth, BearerAuth, HttpRelayDoor
    from seuil.adapters.doors.mqtt_door import MqttDoor, MqttOptions
    from seuil.adapters.doors.simulated import SimulatedDoor
    from seuil.site_config import (
        BasicAuthConfig,
        HttpDoorConfig,
        MqttDoorConfig,
        SimulatedDoorConfig,
    )

    if isinstance(cfg, SimulatedDoorConfig):
        return SimulatedDoor(cfg.id, held_open_s=cfg.held_open_s)
    if isinstance(cfg, HttpDoorConfig):
        auth: BasicAuth | BearerAuth | None = None
        if isinstance(cfg.auth, BasicAuthConfig):
            auth = BasicAuth(cfg.auth.username, cfg.auth.password.get_secret_value())
        elif cfg.auth is not None:
            auth = BearerAuth(cfg.auth.token.get_secret_value())

        def url(value: Any) -> str | None:
            return value.get_secret_value() if value is not None else None

        return HttpRelayDoor(
            cfg.id, cfg.pulse_url.get_secret_value(), lock_url=url(cfg.lock_url),
            release_url=url(cfg.release_url), state_url=url(cfg.state_url),
            method=cfg.method, auth=auth, timeout_s=cfg.timeout_s, state_field=cfg.state_field,
        )  # fmt: skip
    if isinstance(cfg, MqttDoorConfig):
        password = cfg.password.get_secret_value() if cfg.password else None
        options = MqttOptions(host=cfg.host, port=cfg.port, username=cfg.username,
                              password=password, tls=cfg.tls,
                              ack_timeout_s=cfg.ack_timeout_s)  # fmt: skip
        return MqttDoor(cfg.id, site_id, options)
    raise ConfigurationError(f"unsupported door {cfg!r}")


def build_identifier(
    site: Site, accept_fmr: float = 1e-5, refer_fmr: float = 1e-4, margin: float = 0.02
) -> Identifier:
    """The 1:N search of an identification gate: the site gallery, a stricter band."""
    from seuil.engine.scoring import DecisionBand, OperatingPoint, load_default_calibration
    from seuil.gate.identification import GalleryIdentifier
    from seuil.services.identification import IdentificationGallery

    band = DecisionBand.from_operating_points(
        load_default_calibration(fused=True), OperatingPoint(accept_fmr),
        OperatingPoint(max(refer_fmr, accept_fmr)),
    )  # fmt: skip
    gallery = IdentificationGallery(site.reader, site.cipher, site.clock)
    return GalleryIdentifier(gallery, band, margin)


def build_gate_pipeline(
    site: Site,
    gate_id: str,
    door_pulse: Callable[[], None] | DoorControl,
    sink: Callable[[GateDecision], None],
    *,
    mode: GateMode | None = None,
    accept_fmr: float = 1e-3,
    refer_fmr: float | None = 1e-2,
    liveness: bool = True,
    challenge: ActiveChallenge | ChallengeSource | None = None,
    engine: FaceEngine | None = None,
    options: GateOptions | None = None,
    site_mode: SiteModeSource | None = None,
    badges: BadgeInbox | None = None,
    identifier: Identifier | None = None,
) -> GatePipeline:
    """One gate's pipeline: the only place that wires its reader, engine, liveness, band.

    An identification gate without an ``identifier`` gets the default one
    (:func:`build_identifier`: FMR 1e-5 to accept, the gate's ``accept_fmr`` to refer).
    """
    from seuil.adapters.cameras.qr_reader import QrReader
    from seuil.domain.gate import GateMode
    from seuil.engine.liveness.fusion import FusedLiveness
    from seuil.engine.scoring import DecisionBand, OperatingPoint, load_default_calibration
    from seuil.gate.pipeline import GateOptions, GatePipeline, pad_check

    band = DecisionBand.from_operating_points(
        load_default_calibration(fused=True), OperatingPoint(accept_fmr),
        OperatingPoint(refer_fmr) if refer_fmr else None,
    )  # fmt: skip
    opts = options or GateOptions()
    if mode is not None:
        opts = replace(opts, mode=mode)
    if opts.mode is GateMode.IDENTIFICATION and identifier is None:
        identifier = build_identifier(site, min(1e-5, accept_fmr), accept_fmr)
    return GatePipeline(
        gate_id, site.gate_access, engine or build_face_engine(site.settings, "gate"), band,
        QrReader().texts, pad_check(FusedLiveness(), challenge) if liveness else None,
        door_pulse, sink, site.clock, opts,
        site_mode=site_mode, badges=badges, identifier=identifier,
    )  # fmt: skip


def _lane_doors(
    site: Site,
    config: SiteConfig,
    gate: Any,
    sink: Callable[[GateDecision], None],
    engine: FaceEngine | None,
    site_mode: SiteModeSource | None,
    alerts: Callable[[LaneAlert], None] | None,
) -> DoorLane | AirlockLane:
    """A gate's door (tailgating watch) or airlock (interlock), driven by its lane.
    Without a camera (``engine`` None) only a people counter can count who passes."""
    from seuil.gate.lane_control import AirlockLane, DoorLane
    from seuil.gate.track_faces import TrackFaces

    common: dict[str, Any] = {
        "detect": engine.detector.detect if engine is not None else None,
        # A face that comes back within an opening is compared with those counted.
        "faces": TrackFaces(engine) if engine is not None else None,
        "site_mode": site_mode, "alerts": alerts, "mode": gate.mode,
    }  # fmt: skip
    site_id = site.settings.site.id
    lane: DoorLane | AirlockLane
    if gate.door is not None:
        cfg = config.door(gate.door)
        lane = DoorLane(
            gate.id, _door(cfg, site_id), site.clock, sink, pulse_s=cfg.pulse_s,
            held_open_s=cfg.held_open_s, watch_state=cfg.reports_state, **common,
        )  # fmt: skip
    else:
        lock = config.airlock(gate.airlock)
        outer, inner = config.door(lock.outer), config.door(lock.inner)
        lane = AirlockLane(
            gate.id, _door(outer, site_id), _door(inner, site_id), site.clock, sink,
            outer_pulse_s=outer.pulse_s, inner_pulse_s=inner.pulse_s,
            held_open_s=min(outer.held_open_s, inner.held_open_s), **common,
        )  # fmt: skip
    lane.poll_s = 0.5  # a state read is a network round trip for real doors
    return lane


def build_gate_lanes(
    site: Site,
    config: SiteConfig,
    sink: Callable[[GateDecision], None],
    *,
    site_mode: SiteModeSource | None = None,
    heightened: Callable[[], bool] | None = None,
    alerts: Callable[[LaneAlert], None] | None = None,
) -> tuple[list[GateLane], list[str]]:
    """One running lane per configured gate (door or airlock; a camera-less gate runs
    on its badge readers alone); ``skipped`` explains any gate that is not run.
    ``site_mode`` is the PPMS mode source, ``heightened`` the flag that asks for the
    active challenge on ``challenge_when = "heightened"`` gates, ``alerts`` the entry of
    lane alerts (tailgating, forced door...) into the incident engine."""
    from seuil.gate.badge_inbox import BadgeInbox
    from seuil.gate.challenge_policy import challenge_source
    from seuil.gate.pipeline import GateOptions
    from seuil.gate.runner import GateLane, fault_recorder
    from seuil.ports.frames import DeviceFault
    from seuil.site_config import WiegandHttpReader

    # Identification (1:N) starts only on the impact assessment the head of school recorded.
    site.impact_assessments.check_gates(
        (g.id, g.impact_assessment_ref) for g in config.gates if g.mode.value == "identification"
    )
    lanes: list[GateLane] = []
    skipped: list[str] = []
    for gate in config.gates:
        # A camera-less gate (badge reader and door only) is credential-only (the site
        # file refuses anything else): no face engine, no frames, badges decided on tick.
        engine = build_face_engine(site.settings, "gate") if gate.camera is not None else None
        doors = _lane_doors(site, config, gate, sink, engine, site_mode, alerts)
        badge_readers = [
            r for r in map(config.reader, gate.readers) if isinstance(r, WiegandHttpReader)
        ]
        badges = (
            BadgeInbox(
                gate.id,
                max_per_minute=min(r.max_per_minute for r in badge_readers),
                per_reader={r.id: r.max_per_minute for r in badge_readers},
            )
            if badge_readers
            else None
        )
        identifier = None
        if gate.mode.value == "identification":
            identifier = build_identifier(site, gate.identification_accept_fmr,
                                          gate.accept_fmr, gate.identification_margin)  # fmt: skip
        if engine is None:
            pipeline = build_badge_pipeline(site, gate.id, doors, sink, site_mode=site_mode,
                                             badges=badges)  # fmt: skip
        else:
            pipeline = build_gate_pipeline(
                site, gate.id, doors, sink, mode=gate.mode,
                accept_fmr=gate.accept_fmr, refer_fmr=gate.refer_fmr, liveness=gate.liveness,
                challenge=challenge_source(gate.active_challenge, gate.challenge_when,
                                           heightened),
                engine=engine, options=GateOptions(mode=gate.mode), site_mode=site_mode,
                badges=badges, identifier=identifier,
            )  # fmt: skip
        faults: list[DeviceFault] = []
        source = (
            _camera_source(config.camera(gate.camera), fault_recorder(gate.id, faults))
            if gate.camera is not None
            else None
        )
        lanes.append(GateLane(gate.id, source, pipeline, faults, doors=doors,
                              sensors=_people_counters(site, config, gate, doors)))  # fmt: skip
    return lanes, skipped


def _people_counters(
    site: Site, config: SiteConfig, gate: Any, doors: DoorLane | AirlockLane
) -> list[LaneSensor]:
    """The gate's people counters, feeding its door's or airlock's tailgating watch (and
    reporting passages with no opening), each with its own grace for late reports."""
    from functools import partial

    from seuil.adapters.counters.mqtt_counter import CounterOptions, MqttPeopleCounter
    from seuil.site_config import CounterMqttReader

    counters: list[LaneSensor] = []
    for reader in map(config.reader, gate.readers):
        if isinstance(reader, CounterMqttReader):
            password = reader.password.get_secret_value() if reader.password else None
            options = CounterOptions(host=reader.host, port=reader.port,
                                     username=reader.username, password=password,
                                     tls=reader.tls)  # fmt: skip
            on_passed = partial(doors.people_passed, grace_s=reader.grace_s)
            counters.append(MqttPeopleCounter(reader.id, site.settings.site.id,
                                              on_passed, options))  # fmt: skip
    return counters


def build_badge_pipeline(
    site: Site,
    gate_id: str,
    door: Callable[[], None] | DoorControl,
    sink: Callable[[GateDecision], None],
    *,
    site_mode: SiteModeSource | None = None,
    badges: BadgeInbox | None = None,
) -> GatePipeline:
    """A camera-less gate's pipeline: credential-only, no face engine, no QR in frames."""
    from seuil.domain.gate import GateMode
    from seuil.engine.scoring import DecisionBand, OperatingPoint, load_default_calibration
    from seuil.gate.pipeline import GateOptions, GatePipeline

    # The band is never used in credential-only mode; the pipeline still wants one.
    band = DecisionBand.from_operating_points(
        load_default_calibration(fused=True), OperatingPoint(1e-4), None
    )
    return GatePipeline(
        gate_id, site.gate_access, None, band, lambda image: [], None, door, sink,
        site.clock, GateOptions(mode=GateMode.CREDENTIAL_ONLY), site_mode=site_mode,
        badges=badges,
    )  # fmt: skip


def build_badge_endpoint(config: SiteConfig, lanes: list[GateLane]) -> BadgeEndpoint:
    """The badge readers' HTTP entry for the running lanes (the web app mounts it)."""
    from seuil.gate.badge_http import BadgeEndpoint, BadgeReaderToken
    from seuil.site_config import WiegandHttpReader

    inboxes = {lane.gate_id: lane.pipeline.badges for lane in lanes}
    tokens = [
        BadgeReaderToken(reader_id, gate.id, reader.token.get_secret_value())
        for gate in config.gates
        if inboxes.get(gate.id) is not None
        for reader_id in gate.readers
        if isinstance(reader := config.reader(reader_id), WiegandHttpReader)
    ]
    return BadgeEndpoint(tokens, {g: i for g, i in inboxes.items() if i is not None})
