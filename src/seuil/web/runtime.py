"""What the running site hands the web app beyond the use cases: gates, devices, demo.

``create_app`` works without it (tests of the pages of people, roster, audit...); the
site process (``seuil site run``) builds one from the running gate lanes and device
gateway. Plain callables and values only, so the web layer never imports the runtime.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from seuil.ports.signals import SignalSink


@dataclass(frozen=True, slots=True)
class GateInfo:
    id: str
    label: str
    mode: str  # "verification", "credential_only", "identification"
    camera: str | None = None
    accept_fmr: float | None = None  # the operating points of the site file
    refer_fmr: float | None = None
    door: str | None = None
    camera_kind: str | None = None  # as the site file declares it: "rtsp", "webcam"...
    # False only on a replayed camera ("file", "presentation"): the configuration refuses
    # it on a real one. Gate screens say which gates check liveness, and why not.
    liveness: bool = True


@dataclass(frozen=True, slots=True)
class DemoDevice:
    """A simulated device of the demonstration site that a page can trigger."""

    id: str  # e.g. "demo-panic-1"
    kind: str  # "panic_button", "alarm_panel"
    label: str  # French label shown on the button
    zone: str


@dataclass(frozen=True, slots=True)
class BadgeReply:
    status: int
    body: Mapping[str, object]


@dataclass(slots=True)
class WebRuntime:
    gates: Sequence[GateInfo] = ()
    # Every device signal the web receives (webhook, demo buttons) goes here: the disk
    # buffer in front of the incident engine.
    signals: SignalSink | None = None
    # gate id -> camera/door health as plain values (state, frames, last error...)
    gate_health: Callable[[str], Mapping[str, object]] | None = None
    # gate id -> present(credential_text_or_None, video_name) -> queued? (demo cameras)
    presenters: Mapping[str, Callable[[str | None, str], bool]] = field(default_factory=dict)
    demo_videos: Mapping[str, Path] = field(default_factory=dict)  # name -> file
    # gate id -> the names of demo_videos that gate presents; a gate not listed: all
    gate_videos: Mapping[str, Sequence[str]] = field(default_factory=dict)
    # (gate id, how many) -> the latest frames of that gate's camera as JPEG, in memory
    # only (an enrolment stores its display photo only when it succeeds); [] when the
    # camera gives none in time. Blocking: call it off the event loop.
    capture: Callable[[str, int], list[bytes]] | None = None
    demo_devices: Sequence[DemoDevice] = ()
    # badge readers calling a URL: (gate_id, bearer token, body) -> reply
    badge: Callable[[str, str, bytes], BadgeReply] | None = None
    # devices calling a URL: (device_id, token, body, content type) -> reply
    webhook: Callable[[str, str, bytes, str], BadgeReply] | None = None
    heightened: Callable[[], bool] | None = None
    set_heightened: Callable[[bool], None] | None = None
    # Demonstration only: the cards "in the visitors' hands". The QR text of each card
    # the web app issues or prints in this process (credential id -> text), kept in
    # memory so "simulate a presentation" can hold one up; None outside the demo (the
    # site never keeps what a biometric card carries).
    demo_wallet: MutableMapping[str, str] | None = None

    def videos_for(self, gate_id: str) -> list[str]:
        """The demo videos a technician can present at this gate (those that exist)."""
        names = self.gate_videos.get(gate_id)
        if names is None:
            return sorted(self.demo_videos)
        return [name for name in names if name in self.demo_videos]
