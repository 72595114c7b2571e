"""The whole school site in one process: web app, gate lanes, incident engine, devices.

``seuil site run`` (and ``seuil demo``, the README's main command) builds a
:class:`SiteRuntime` and serves it until SIGINT/SIGTERM:

- the web app (uvicorn) on the event loop;
- one thread per gate lane (camera -> pipeline -> door), their decisions stored as gate
  events, pushed live to the gate screens, and turned into incident signals (DENY
  revoked, face mismatch, liveness failure, tailgating, door and camera faults);
- the incident engine's loop (escalations, missed supervision, notifications) every
  ``incidents.tick_s`` seconds, in a worker thread so a slow SMTP server never stalls
  the screens;
- every device signal (SIA panels, MQTT buttons, webhooks, gate events, demo buttons)
  goes through the disk buffer in front of the incident engine: a signal received
  while the database is down is kept on disk and applied when it returns;
- the PPMS mode is held in a :class:`ModeCell` the lanes read on every decision; the
  PPMS service commands it (confinement: entrances locked; fire: egress released).

Everything that can be rebuilt from the database is (incidents, timers, notifications,
the PPMS mode): killing this process loses nothing but the frames in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import socket
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from seuil.domain.devices import Device, DeviceKind
from seuil.domain.errors import (
    ConfigurationError,
    DeviceError,
    SeuilError,
    StorageUnavailableError,
)
from seuil.domain.gate import Decision, GateDecision
from seuil.domain.incidents import Signal
from seuil.domain.lane import LaneAlert
from seuil.web.runtime import BadgeReply, DemoDevice, GateInfo, WebRuntime

if TYPE_CHECKING:
    from fastapi import FastAPI

    from seuil.adapters.hub_link import HubForwarder
    from seuil.adapters.mqtt_devices import MqttDeviceGateway
    from seuil.adapters.sia import SiaReceiver
    from seuil.adapters.signal_spool import SpoolingSink
    from seuil.bootstrap import Site
    from seuil.gate.runner import GateLane
    from seuil.ports.frames import FrameSource
    from seuil.services.accounts import AccountService
    from seuil.services.gate_desk import GateDesk
    from seuil.services.purge import PurgeScheduler
    from seuil.site_config import SiteConfig

log = logging.getLogger(__name__)


class ModeCell:
    """The site's PPMS mode as the lanes read it, commanded by the PPMS service.

    Implements :class:`~seuil.ports.site_control.EntranceCommander` (the PPMS service's
    door port) and :data:`~seuil.domain.site_mode.SiteModeSource` (what the lanes call
    before every decision): each lane applies the mode to its own doors on its next tick.
    """

    def __init__(self, mode: str = "normal") -> None:
        self._mode = mode
        self._lock = threading.Lock()

    def __call__(self) -> str:
        with self._lock:
            return self._mode

    def set(self, mode: str) -> None:
        with self._lock:
            self._mode = mode

    def lock_entrances(self) -> None:
        self.set("confinement")

    def release_egress(self) -> None:
        self.set("evacuation")

    def restore_normal(self) -> None:
        self.set("normal")


class Flag:
    """A thread-safe boolean (the heightened-security flag that asks for the challenge)."""

    def __init__(self, value: bool = False) -> None:
        self._value = value

    def __call__(self) -> bool:
        return self._value

    def set(self, value: bool) -> None:
        self._value = bool(value)


@dataclass
class SiteRuntime:
    site: Site
    config: SiteConfig | None
    accounts: AccountService
    spool: SpoolingSink
    mode: ModeCell
    heightened: Flag
    lanes: list[GateLane] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    web: WebRuntime = field(default_factory=WebRuntime)
    mqtt: MqttDeviceGateway | None = None
    sia: SiaReceiver | None = None
    zones: dict[str, str] = field(default_factory=dict)  # gate id -> zone label
    desk: GateDesk | None = None
    hub_link: HubForwarder | None = None  # the link to the regional hub, when configured
    stop_event: threading.Event = field(default_factory=threading.Event)
    _fault_seen: dict[str, int] = field(default_factory=dict)
    _threads: list[threading.Thread] = field(default_factory=list)
    purge: PurgeScheduler | None = None  # retention, run by itself (start_background)

    # -- what flows in ----------------------------------------------------------------

    def on_decision(self, decision: GateDecision) -> None:
        """A lane's decision (on the lane's thread): stored, shown live on the gate
        screens, and handed to the incident engine when it is a signal (the gate desk)."""
        if self.desk is not None:
            self.desk.feed(decision)  # never raises: a lane must go on

    def open_for_agent(self, decision: GateDecision) -> None:
        """The gate agent let someone in from the gate screen: the door opens for them
        (an airlock holding them opens its inner door). Confinement still keeps every
        door shut (the lanes apply the site mode); a failing door raises DeviceError."""
        from seuil.domain.gate import Decision
        from seuil.domain.lane import AirlockState
        from seuil.gate.lane_control import AirlockLane, DoorLane

        lane = next((lane for lane in self.lanes if lane.gate_id == decision.gate_id), None)
        if lane is None or lane.doors is None:
            raise DeviceError(f"gate {decision.gate_id}: no door is driven here", decision.gate_id)
        doors = lane.doors
        agent = decision.decided_by or "agent"
        if isinstance(doors, AirlockLane) and doors.state is AirlockState.HELD:
            doors.agent_decided(Decision.GRANT, agent)
        elif isinstance(doors, (DoorLane, AirlockLane)):
            doors.open_for(decision)

    def on_alert(self, alert: LaneAlert) -> None:
        from seuil.services.gate_signals import signal_from_lane_alert

        zone = self.zones.get(alert.lane, alert.lane)
        self.site.bus.publish(
            "gate.alert",
            {
                "gate_id": alert.lane,
                "kind": str(alert.kind),
                "door": alert.door,
                "at": alert.at.isoformat(),
            },
        )
        self._signal(signal_from_lane_alert(alert, self.site.settings.site.id, zone))

    def _signal(self, signal: Signal | None) -> None:
        if signal is None:
            return
        try:
            self.spool.receive(signal)
        except Exception:  # the spool only fails when the disk does: say it loudly
            log.exception("signal from %s could not be kept", signal.source)

    def poll_devices(self) -> None:
        """Camera faults and SIA supervision (NULL messages) into the incident engine."""
        from seuil.services.gate_signals import signal_from_camera_fault

        site_id = self.site.settings.site.id
        for lane in self.lanes:
            seen = self._fault_seen.get(lane.gate_id, 0)
            new = lane.faults[seen:]
            self._fault_seen[lane.gate_id] = seen + len(new)
            for fault in new:
                zone = self.zones.get(lane.gate_id, lane.gate_id)
                self._signal(signal_from_camera_fault(fault, site_id, zone))
        if self.sia is not None:
            with contextlib.suppress(StorageUnavailableError), self.site.uow() as uow:
                for account, at in self.sia.last_seen.items():
                    uow.devices.touch(f"sia:{account}", at)
                uow.commit()

    def engine_tick(self) -> None:
        """One turn of the incident engine (run in a worker thread)."""
        try:
            self.site.incidents.tick()
            self.site.dispatcher.dispatch_due()
            self.poll_devices()
        except StorageUnavailableError:
            log.warning("incident engine: database unavailable, retrying next tick")
        except SeuilError as exc:
            log.error("incident engine: %s", exc.message)

    # -- life -------------------------------------------------------------------------

    def start_background(self) -> None:
        """Gate lanes, the spool drain and the MQTT gateway (threads)."""
        from seuil.gate.runner import run_lanes

        self.spool.start(interval_s=2.0)
        from seuil.services.purge import PurgeScheduler

        hours = self.site.settings.retention.purge_interval_hours
        self.purge = PurgeScheduler(self.site.purge, self.site.clock, hours * 3600)
        self.purge.start()
        if self.hub_link is not None:
            self.hub_link.start()
        if self.mqtt is not None:
            try:
                self.mqtt.start(wait=False)
            except Exception as exc:  # the broker may come later: the gateway retries
                log.warning("MQTT gateway not started: %s", exc)
        if self.lanes:
            thread = threading.Thread(
                target=run_lanes, args=(self.lanes, self.stop_event), name="gate-lanes",
                daemon=True,
            )  # fmt: skip
            thread.start()
            self._threads.append(thread)

    async def start_async(self) -> list[asyncio.Task[None]]:
        """The SIA receiver and the incident engine loop, on the running event loop."""
        tasks = [asyncio.create_task(self._engine_loop(), name="incident-engine")]
        devices = self.config.devices if self.config is not None else None
        if self.sia is not None and devices is not None and devices.sia is not None:
            try:
                await self.sia.start_tcp(devices.sia.host, devices.sia.port)
                if devices.sia.udp:
                    await self.sia.start_udp(devices.sia.host, devices.sia.port)
            except OSError as exc:
                log.error("SIA receiver cannot listen on port %s: %s", devices.sia.port, exc)
        return tasks

    async def _engine_loop(self) -> None:
        period = self.site.settings.incidents.tick_s
        while not self.stop_event.is_set():
            await asyncio.to_thread(self.engine_tick)
            await asyncio.sleep(period)

    def stop(self) -> None:
        self.stop_event.set()
        if self.purge is not None:
            self.purge.stop()
        if self.mqtt is not None:
            self.mqtt.stop()
        for thread in self._threads:
            thread.join(timeout=5)
        if self.hub_link is not None:
            self.hub_link.stop()
        self.spool.close()
        self.site.close()


# -- building ---------------------------------------------------------------------------


def _register_devices(site: Site, config: SiteConfig | None, demo: list[DemoDevice]) -> None:
    """The configured devices in the registry (so their silence is noticed)."""
    now = site.clock.now()
    wanted: list[Device] = []
    if config is not None:
        devices = config.devices
        if devices.sia is not None:
            for panel in devices.sia.panels:
                wanted.append(Device(f"sia:{panel.account.upper()}", DeviceKind.ALARM_PANEL,
                                     panel.zone, panel.label or f"Centrale {panel.account}",
                                     panel.supervision_s, registered_at=now))  # fmt: skip
        for item in devices.devices:
            prefix = "webhook" if item.webhook_token is not None else "mqtt"
            wanted.append(Device(f"{prefix}:{item.id}", DeviceKind(item.kind), item.zone,
                                 item.label or item.id, item.supervision_s,
                                 registered_at=now))  # fmt: skip
        for gate in config.gates:
            wanted.append(Device(f"gate:{gate.id}", DeviceKind.GATE, gate.id,
                                 gate.name or gate.id, registered_at=now))  # fmt: skip
    for d in demo:
        wanted.append(Device(d.id, DeviceKind(d.kind), d.zone, d.label, registered_at=now))
    with site.uow() as uow:
        for device in wanted:
            known = uow.devices.get(device.id)
            if known is None:
                uow.devices.upsert(device)
            else:  # keep its history (last seen, silence), update what the file says
                updated = replace(known, kind=device.kind, zone=device.zone, label=device.label,
                                  supervision_interval_s=device.supervision_interval_s)  # fmt: skip
                uow.devices.upsert(updated)
        uow.commit()


def _badge_entry(
    config: SiteConfig, lanes: list[GateLane]
) -> Callable[[str, str, bytes], BadgeReply] | None:
    from seuil.bootstrap import build_badge_endpoint

    if not any(r.kind == "wiegand-http" for r in config.readers):
        return None
    endpoint = build_badge_endpoint(config, lanes)

    def badge(gate_id: str, token: str, body: bytes) -> BadgeReply:
        result = endpoint.handle_badge(gate_id, token, body)
        return BadgeReply(result.status, result.body())

    return badge


def _webhook_entry(
    site: Site, config: SiteConfig, sink: SpoolingSink
) -> Callable[[str, str, bytes, str], BadgeReply] | None:
    from seuil.adapters.webhook_devices import WebhookGateway, hash_token

    tokens = {
        d.id: hash_token(d.webhook_token.get_secret_value())
        for d in config.devices.devices
        if d.webhook_token is not None
    }
    if not tokens:
        return None
    zones = {d.id: d.zone for d in config.devices.devices}
    gateway = WebhookGateway(tokens, sink, site.clock, site=site.settings.site.id, zones=zones)

    def webhook(device_id: str, token: str, body: bytes, content_type: str) -> BadgeReply:
        result = gateway.handle(device_id, token, body, content_type)
        return BadgeReply(result.status, result.body())

    return webhook


def _mqtt_gateway(site: Site, config: SiteConfig, sink: SpoolingSink) -> MqttDeviceGateway | None:
    from seuil.adapters.mqtt_devices import GatewayOptions, MqttDeviceGateway

    cfg = config.devices.mqtt
    if cfg is None:
        return None
    options = GatewayOptions(
        host=cfg.host, port=cfg.port, username=cfg.username,
        password=cfg.password.get_secret_value() if cfg.password else None, tls=cfg.tls,
    )  # fmt: skip
    devices = {d.id: d.zone for d in config.devices.devices if d.webhook_token is None}

    def on_state(device_id: str, state: Mapping[str, Any], at: datetime) -> None:
        online = state.get("status", state.get("online"))
        health = "" if online in ("online", True) else f"état : {online}"
        with contextlib.suppress(StorageUnavailableError), site.uow() as uow:
            known = uow.devices.get(f"mqtt:{device_id}")
            if known is not None:
                uow.devices.upsert(replace(known, health=health))
                if not health:
                    uow.devices.touch(known.id, at)
                uow.commit()

    return MqttDeviceGateway(site.settings.site.id, sink, site.clock, options,
                             devices=devices or None, on_state=on_state)  # fmt: skip


def _sia_receiver(site: Site, config: SiteConfig, sink: SpoolingSink) -> SiaReceiver | None:
    from seuil.adapters.sia import SiaAccount, SiaReceiver

    cfg = config.devices.sia
    if cfg is None or not cfg.panels:
        return None
    accounts = [SiaAccount(p.account.upper(), site.settings.site.id, p.key_bytes())
                for p in cfg.panels]  # fmt: skip
    return SiaReceiver(accounts, sink.receive, site.clock)


def capture_frames(
    sources: Mapping[str, FrameSource], gate_id: str, count: int, *,
    within_s: float = 6.0, spacing_s: float = 0.25,
) -> list[bytes]:  # fmt: skip
    """Up to ``count`` recent frames of a gate's camera, JPEG-encoded in memory, at least
    ``spacing_s`` apart (several moments of the face rather than one blur repeated).

    The lane keeps reading its camera meanwhile: the capture looks at the frames the lane
    takes (``last_delivered``) and takes one itself only when the lane leaves them."""
    import cv2

    source = sources.get(gate_id)
    if source is None:
        return []
    peek = getattr(source, "last_delivered", None)
    frames: list[bytes] = []
    deadline = time.monotonic() + within_s
    last_index, last_at, quiet_since = -1, -float("inf"), time.monotonic()
    while len(frames) < count and time.monotonic() < deadline:
        frame = peek() if peek is not None else None
        if frame is None or frame.index <= last_index:
            if time.monotonic() - quiet_since < 0.3:
                time.sleep(0.02)
                continue
            frame = source.latest(timeout=0.3)  # nobody else is reading: read it here
            if frame is None:
                continue
        quiet_since = time.monotonic()
        if frame.index <= last_index or frame.monotonic - last_at < spacing_s:
            time.sleep(0.02)
            continue
        last_index, last_at = frame.index, frame.monotonic
        ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(frame.image, cv2.COLOR_RGB2BGR),
                                [cv2.IMWRITE_JPEG_QUALITY, 92])  # fmt: skip
        if ok:
            frames.append(jpeg.tobytes())
    return frames


def build_runtime(
    site: Site,
    config: SiteConfig | None,
    *,
    accounts: AccountService,
    data_dir: Path,
    demo_devices: list[DemoDevice] | None = None,
    demo_videos: Mapping[str, Path] | None = None,
    demo_gate_videos: Mapping[str, Sequence[str]] | None = None,
    demo_wallet: bool = False,
) -> SiteRuntime:
    """Wire a running site from a built :class:`Site` and its configuration file."""
    from seuil.adapters.cameras.presentation import PresentationSource
    from seuil.adapters.signal_spool import SpoolingSink
    from seuil.bootstrap import build_gate_feed, build_gate_lanes

    mode = ModeCell()
    site.entrance_commander = mode  # before the PPMS service is first built
    mode.set(site.ppms.current().mode.value)
    data_dir.mkdir(parents=True, exist_ok=True)
    spool = SpoolingSink(site.incidents, data_dir / "signals.spool", write_ahead=True)
    runtime = SiteRuntime(site, config, accounts, spool, mode, Flag())
    runtime.desk = build_gate_feed(site, spool)
    site.gate_desk.door_opener = runtime.open_for_agent
    if site.settings.hub_link.url:
        try:
            runtime.hub_link = site.hub_forwarder()
        except SeuilError as exc:  # the site runs without its hub link, and says why
            log.error("hub link not started: %s", exc.message)
    demo = list(demo_devices or [])
    _register_devices(site, config, demo)
    web = WebRuntime(
        signals=spool, demo_devices=demo, demo_videos=dict(demo_videos or {}),
        gate_videos=dict(demo_gate_videos or {}),
        heightened=runtime.heightened, set_heightened=runtime.heightened.set,
        demo_wallet={} if demo_wallet else None,
    )  # fmt: skip
    runtime.web = web
    if config is None:
        return runtime
    runtime.zones = {g.id: g.name or g.id for g in config.gates}
    let_in: dict[str, Callable[[], None]] = {}  # demo cameras: the person walks through

    def decided(decision: GateDecision) -> None:
        # The person walks through before the decision is published: a presentation
        # queued in between would otherwise start and be cut off by this walk-through.
        leave = let_in.get(decision.gate_id)
        if leave is not None and decision.decision is Decision.GRANT:
            leave()
        runtime.on_decision(decision)

    lanes, skipped = build_gate_lanes(
        site, config, decided, site_mode=mode, heightened=runtime.heightened,
        alerts=runtime.on_alert,
    )  # fmt: skip
    runtime.lanes, runtime.skipped = lanes, skipped
    camera_kinds = {c.id: c.kind for c in config.cameras}
    web.gates = [
        GateInfo(
            g.id,
            g.name or g.id,
            g.mode.value,
            g.camera,
            g.accept_fmr,
            g.refer_fmr,
            g.door or g.airlock,
            camera_kinds.get(g.camera or ""),
            g.liveness,
        )
        for g in config.gates
    ]
    sources = {lane.gate_id: lane.source for lane in lanes if lane.source is not None}
    camera_less = {lane.gate_id for lane in lanes if lane.source is None}

    def gate_health(gate_id: str) -> Mapping[str, object]:
        source = sources.get(gate_id)
        if source is None:
            return {"state": "no_camera" if gate_id in camera_less else "absent"}
        h = source.health()
        return {"state": h.state.value, "frames": h.frames, "dropped": h.dropped,
                "reconnects": h.reconnects, "last_error": h.last_error}  # fmt: skip

    web.gate_health = gate_health
    web.capture = functools.partial(capture_frames, sources)
    presenters: dict[str, Callable[[str | None, str], bool]] = {}
    open_s = {lane.gate_id: _opening_s(lane) for lane in lanes}
    for gate_id, source in sources.items():
        if isinstance(source, PresentationSource):

            def present(
                credential: str | None, video: str, source: Any = source, gate: str = gate_id
            ) -> bool:
                path = web.demo_videos.get(video)
                if path is None or video not in web.videos_for(gate):
                    raise SeuilError(f"unknown demo video {video!r} at gate {gate!r}")
                return bool(source.present(path, credential))

            presenters[gate_id] = present
            let_in[gate_id] = functools.partial(source.walk_through, open_s.get(gate_id, 5.0))
    web.presenters = presenters
    web.badge = _badge_entry(config, lanes)
    web.webhook = _webhook_entry(site, config, spool)
    runtime.mqtt = _mqtt_gateway(site, config, spool)
    runtime.sia = _sia_receiver(site, config, spool)
    return runtime


def _opening_s(lane: GateLane) -> float:
    """How long a door lane watches who passes after a GRANT (pulse + walk through),
    with a margin; an airlock's cycle is its own, 5 s is said for it."""
    from seuil.gate.lane_control import DoorLane

    doors = lane.doors
    if isinstance(doors, DoorLane):
        return doors.pulse_s + doors.after_s + 0.5
    return 5.0


def build_app(runtime: SiteRuntime, *, secure_cookies: bool = False) -> FastAPI:
    from seuil.web import WebOptions, create_app

    options = WebOptions(secure_cookies=secure_cookies)
    from seuil.bootstrap import gate_facts

    gates = gate_facts(runtime.config) if runtime.config is not None else []
    return create_app(runtime.site, runtime.accounts, options, runtime.web, gates=gates)


def listening_socket(host: str, port: int) -> socket.socket:
    """The site's listening socket, bound before anything else starts: a port already in
    use is a clear error at once, not a half-started site that says it is running."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigurationError(
            f"impossible d'écouter sur {host}:{port} ({exc.strerror}) : une autre instance "
            f"tourne-t-elle ? Arrêtez-la ou choisissez --port "
            f"(cannot listen on {host}:{port}: stop the other process or choose --port)"
        ) from None
    sock.set_inheritable(True)
    return sock


async def serve(
    runtime: SiteRuntime,
    host: str,
    port: int,
    *,
    secure_cookies: bool = False,
    on_ready: Callable[[], None] | None = None,
    sock: socket.socket | None = None,
) -> None:
    """Serve the site until SIGINT/SIGTERM, then stop everything in order. ``on_ready``
    runs once the server listens (``sock``: bound already, see :func:`listening_socket`)."""
    import uvicorn

    app = build_app(runtime, secure_cookies=secure_cookies)
    server = uvicorn.Server(
        uvicorn.Config(app, host=host, port=port, log_level="warning",
                       proxy_headers=secure_cookies,
                       forwarded_allow_ips="127.0.0.1" if secure_cookies else None)
    )  # fmt: skip
    if sock is None:
        sock = listening_socket(host, port)
    runtime.start_background()
    tasks = await runtime.start_async()
    try:
        if on_ready is not None:
            tasks.append(asyncio.create_task(_when_started(server, on_ready)))
        await server.serve(sockets=[sock])
    finally:
        runtime.stop_event.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.to_thread(runtime.stop)
        sock.close()


async def _when_started(server: Any, on_ready: Callable[[], None]) -> None:
    while not server.started:
        if server.should_exit:
            return
        await asyncio.sleep(0.05)
    on_ready()
