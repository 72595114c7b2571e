"""The whole site in one process, on the demonstration configuration and real video.

A person enrolled from real photos presents their credential to the demo gate: the
decision is stored, pushed live and (for a DENY) becomes an incident; a simulated panic
button opens an incident; a confinement locks the gate (REFER, no door opened).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.services.conftest import make_settings

from seuil.adapters.auth import Argon2Hasher, TotpCodes
from seuil.bootstrap import build_site
from seuil.domain.consent import ConsentGiver, ConsentState
from seuil.domain.credentials import RevocationReason, TemplateStorage
from seuil.domain.errors import SeuilError
from seuil.domain.incidents import IncidentType, Signal
from seuil.domain.people import PersonKind
from seuil.domain.ppms import PpmsMode
from seuil.ports.storage import IncidentQuery
from seuil.runtime.demo import (
    DEMO_DEVICES,
    demo_config,
    demo_gate_videos,
    demo_videos,
    seed_roster,
)
from seuil.runtime.demo_subject import hand_out_liveness_card
from seuil.runtime.site_process import build_app, build_runtime
from seuil.services.accounts import AccountService

PASSWORD = "correct horse battery"


class Decisions:
    def __init__(self) -> None:
        self.items: list[dict[str, object]] = []
        self.arrived = threading.Condition()

    def __call__(self, topic: str, payload: object) -> None:
        if topic == "gate.decision":
            with self.arrived:
                self.items.append(dict(payload))  # type: ignore[call-overload]
                self.arrived.notify_all()

    def next(self, after: int, timeout: float = 60) -> dict[str, object]:
        end = time.monotonic() + timeout
        with self.arrived:
            while len(self.items) <= after:
                left = end - time.monotonic()
                assert left > 0, "no gate decision arrived"
                self.arrived.wait(left)
            return self.items[after]


@pytest.fixture
def steps(monkeypatch) -> list[str]:  # type: ignore[no-untyped-def]
    """Records when a demo camera's person walks through (requested before ``runtime``,
    whose cameras bind ``walk_through`` when they are built)."""
    from seuil.adapters.cameras.presentation import PresentationSource

    seen: list[str] = []
    walk = PresentationSource.walk_through

    def walk_through(self, door_open_s: float = 0.0) -> None:  # type: ignore[no-untyped-def]
        seen.append("walked through")
        walk(self, door_open_s)

    monkeypatch.setattr(PresentationSource, "walk_through", walk_through)
    return seen


@pytest.fixture
def runtime(tmp_path, shared, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.delenv("SEUIL_SITE_KEY", raising=False)
    site = build_site(make_settings(tmp_path))
    assert seed_roster(site) == 65  # 60 + the liveness gate's pupil, and 4 staff
    accounts = AccountService(site.uow, site.clock, Argon2Hasher(fast=True), TotpCodes())
    videos = demo_videos(shared)
    rt = build_runtime(site, demo_config(), accounts=accounts, data_dir=tmp_path / "data",
                       demo_devices=list(DEMO_DEVICES), demo_videos=videos,
                       demo_gate_videos=demo_gate_videos(videos), demo_wallet=True)  # fmt: skip
    yield rt
    rt.stop()


def _enrolled_credential(rt, shared: Path) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    site = rt.site
    pupil = site.people.create("cpe", PersonKind.PUPIL, "Obama", "Barack", group="TG1")
    site.consent.record("cpe", pupil.ref, ConsentState.GIVEN, ConsentGiver.GUARDIAN, "v1")
    photos = sorted((shared / "video/enrol/obama").glob("*.jpg"))[:6]
    outcome = site.enrolment.enrol("cpe", pupil.ref, [(p.name, p.read_bytes()) for p in photos],
                                   TemplateStorage.SITE_DATABASE)  # fmt: skip
    assert outcome.issued is not None
    return outcome.issued.text, outcome.issued.credential.id


@pytest.mark.slow
def test_a_presentation_is_decided_shown_live_and_a_revoked_card_raises_an_incident(
    steps, runtime, shared
) -> None:
    decisions = Decisions()
    runtime.site.bus.listen(
        lambda topic, _: steps.append("published") if topic == "gate.decision" else None
    )
    runtime.site.bus.listen(decisions)
    text, credential_id = _enrolled_credential(runtime, shared)
    runtime.start_background()
    present = runtime.web.presenters["entree"]

    assert present(text, "obama")
    first = decisions.next(0)
    assert first["gate_id"] == "entree"
    assert first["credential_id"] == credential_id
    assert first["decision"] == "grant", first
    # the person let in left the camera's view before the decision was announced: a
    # presentation queued meanwhile waits for the door instead of being cut off
    assert steps[:2] == ["walked through", "published"]

    runtime.site.credentials.revoke("cpe", credential_id, RevocationReason.LOST)
    time.sleep(4)  # the gate's cooldown for the same credential
    seen = len(decisions.items)
    assert present(text, "obama")
    denied = decisions.next(seen)
    assert denied["decision"] == "deny" and denied["reason"] == "revoked", denied

    runtime.spool.drain()
    runtime.engine_tick()
    opened = runtime.site.incidents.search(IncidentQuery(unresolved=True))
    assert [i.type for i in opened] == [IncidentType.DENY_REVOKED]
    assert runtime.site.gate_access.recent("entree")[0].decision.value == "deny"


@pytest.mark.slow
def test_the_liveness_gate_grants_the_live_person_and_refuses_her_replay(runtime, shared) -> None:
    """The demo's second gate checks liveness: the fictional pupil enrolled at start from
    the live crops is let in from the webcam clip (real2) and refused when the same
    person is replayed on a phone screen (fake2), with her own card both times."""
    decisions = Decisions()
    runtime.site.bus.listen(decisions)
    wallet = runtime.web.demo_wallet
    assert hand_out_liveness_card(runtime.site, wallet, shared) == "Lou Aubert"
    [(credential_id, text)] = wallet.items()
    gates = {g.id: g for g in runtime.web.gates}
    assert gates["vivant"].liveness and not gates["entree"].liveness
    assert runtime.web.videos_for("vivant") == ["real2", "fake2"]
    assert "real2" not in runtime.web.videos_for("entree")
    present = runtime.web.presenters["vivant"]
    with pytest.raises(SeuilError):  # each gate presents its own videos only
        present(text, "obama")
    runtime.start_background()

    assert present(text, "real2")
    live = decisions.next(0)
    assert (live["gate_id"], live["credential_id"]) == ("vivant", credential_id)
    assert live["decision"] == "grant", live
    # Let in, she walks through; the phone is held up at once with her card, and the
    # camera waits for the door's opening (3 s pulse + 2 s) to end: no second person
    # is counted through it (tailgating), the replay is judged on its own.
    assert present(text, "fake2")
    replay = decisions.next(1)
    assert replay["gate_id"] == "vivant" and replay["credential_id"] == credential_id
    assert (replay["decision"], replay["reason"]) == ("deny", "liveness_failed"), replay
    assert [d["gate_id"] for d in decisions.items] == ["vivant", "vivant"]

    # The gate screens say it in French: which gate checks liveness, and what happened.
    runtime.accounts.complete_setup(runtime.accounts.begin_setup(), "admin", "Admin", PASSWORD)
    with TestClient(build_app(runtime)) as client:
        client.post("/login", data={"username": "admin", "password": PASSWORD})
        screen = client.get("/gate/vivant").text
        other = client.get("/gate/entree").text
    assert "ENTRÉE AUTORISÉE" in screen and "ENTRÉE REFUSÉE" in screen
    assert "contrôle du vivant échoué" in screen
    assert 'data-liveness="on"' in screen and "Contrôle du vivant : actif" in screen
    assert 'value="fake2"' in screen and 'value="obama"' not in screen
    assert 'data-liveness="off"' in other and "rejoue des vidéos enregistrées" in other


def test_the_liveness_pupil_is_enrolled_at_each_start_unless_she_withdrew(runtime, shared) -> None:
    site, wallet = runtime.site, {}
    assert hand_out_liveness_card(site, wallet, shared) == "Lou Aubert"
    assert hand_out_liveness_card(site, wallet, shared) == "Lou Aubert"  # the next start
    first, second = wallet
    with site.reader() as uow:
        assert uow.credentials.get(first).revoked_at is not None  # replaced
        assert uow.credentials.get(second).revoked_at is None
        person = uow.people.by_external_id(PersonKind.PUPIL, "DEMOVIV01")
    assert person is not None and person.display_name.endswith("Lou")
    site.consent.record("dpo", person.ref, ConsentState.WITHDRAWN, ConsentGiver.SELF, "v1")
    assert hand_out_liveness_card(site, wallet, shared) is None  # respected
    assert len(wallet) == 2 and hand_out_liveness_card(site, {}, None) is None


def test_a_demo_panic_button_opens_an_incident_and_confinement_locks_the_gate(runtime) -> None:
    device = DEMO_DEVICES[0]
    sink = runtime.web.signals
    assert sink is not None
    now = runtime.site.clock.now()
    for n in range(3):  # pressed three times: one incident, three signals
        sink.receive(Signal(device.id, "0830042X", device.zone, "panic", f"press {n}", now,
                            IncidentType.PANIC))  # fmt: skip
    assert runtime.spool.pending == 3  # on disk first (write-ahead), then applied
    assert runtime.spool.drain() == 3
    incidents = runtime.site.incidents.search(IncidentQuery(unresolved=True))
    assert len(incidents) == 1 and len(incidents[0].signals) == 3

    assert runtime.mode() == "normal"
    runtime.site.ppms.enter(PpmsMode.CONFINEMENT, "chef", "intrusion confirmée")
    assert runtime.mode() == "confinement"  # every lane reads it before deciding
    runtime.site.ppms.end_alert("chef")
    assert runtime.mode() == "normal"


def test_the_agents_let_in_opens_the_door_except_in_confinement(runtime) -> None:
    from seuil.adapters.doors.simulated import SimulatedDoor
    from seuil.domain.errors import DeviceError
    from seuil.domain.lane import DoorAction

    [lane] = [lane for lane in runtime.lanes if lane.gate_id == "entree"]
    door = lane.doors.door
    assert isinstance(door, SimulatedDoor)
    desk = runtime.site.gate_desk
    desk.settle("agent.loge", "entree", True, note="visiteur attendu")
    assert [call.action for call in door.history] == [DoorAction.PULSE]
    desk.settle("agent.loge", "entree", False, reason=desk_reason())
    assert len(door.history) == 1  # a refusal opens nothing

    runtime.site.ppms.enter(PpmsMode.CONFINEMENT, "chef", "exercice")
    desk.settle("agent.loge", "entree", True)
    assert len(door.history) == 1  # confinement: the lane keeps its door shut
    runtime.site.ppms.end_alert("chef")

    door.unreachable = True  # a broken relay is said to the agent, the record is kept
    with pytest.raises(DeviceError):
        desk.settle("agent.loge", "entree", True)
    assert runtime.site.gate_access.recent("entree")[0].decided_by == "agent.loge"


def desk_reason():  # type: ignore[no-untyped-def]
    from seuil.services.gate_desk import AGENT_DENY_REASONS

    return sorted(AGENT_DENY_REASONS)[0]


@pytest.mark.slow
def test_enrolment_from_a_capture_at_the_gate_camera(runtime) -> None:  # type: ignore[no-untyped-def]
    """Issue #6: "capture from a gate camera with the quality verdict shown". The demo
    gate camera first shows the empty lane: its frames are refused (no face) and nothing
    is stored; then a real person walks up (obama.mp4) and the latest frames enrol them
    with the camera's quality rules, the display photo stored only then."""
    site = runtime.site
    pupil = site.people.create("cpe", PersonKind.PUPIL, "Obama", "Barack", group="TG1")
    site.consent.record("cpe", pupil.ref, ConsentState.GIVEN, ConsentGiver.GUARDIAN, "v1")
    runtime.start_background()
    capture = runtime.web.capture
    assert capture is not None and capture("nowhere", 2) == []

    empty = capture("entree", 2)
    assert len(empty) == 2 and all(f[:3] == b"\xff\xd8\xff" for f in empty)  # JPEG
    refused = site.enrolment.enrol("cpe", pupil.ref, [("vide", f) for f in empty],
                                   TemplateStorage.KEY_ON_CREDENTIAL, from_camera=True)  # fmt: skip
    assert refused.issued is None and not any(c.accepted for c in refused.checks)
    assert all(c.messages_fr for c in refused.checks)  # the verdict, in French
    with site.uow() as uow:
        assert uow.photos.get(pupil.ref) is None  # nothing kept from a failed capture

    assert runtime.web.presenters["entree"](None, "obama")
    time.sleep(1.5)  # the person walks up to the camera
    frames = capture("entree", 5)
    assert len(frames) == 5
    outcome = site.enrolment.enrol("cpe", pupil.ref, [(f"entree {i}", f) for i, f in
                                   enumerate(frames)], TemplateStorage.KEY_ON_CREDENTIAL,
                                   from_camera=True)  # fmt: skip
    assert outcome.issued is not None, [c.messages_en for c in outcome.checks]
    assert sum(c.accepted for c in outcome.checks) >= 1
    with site.uow() as uow:
        assert uow.photos.get(pupil.ref) is not None
