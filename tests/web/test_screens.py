"""The live pages with a running site's view: gate screen (photo check, agent's call,
demo presentation), incidents board (lifecycle, PPMS with confirmation, demo devices),
devices and settings, the API v1 of incidents, PPMS and gate events, the device routes.

The site is real (SQLite, the real incident engine as the signal sink); the only fake
is the demo camera's ``present`` callable, which records what it was asked."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from tests.web.conftest import PASSWORD, Web, csrf_of

from seuil.adapters.webhook_devices import WebhookGateway, hash_token
from seuil.domain.accounts import Role
from seuil.domain.gate import Decision, DenyReason, GateDecision, ReferReason
from seuil.domain.hub import HubMessage, MessageKind
from seuil.domain.incidents import IncidentType, Signal
from seuil.domain.lane import unauthorised_passage
from seuil.domain.people import PersonKind
from seuil.domain.permissions import Permission
from seuil.domain.site_mode import SiteMode
from seuil.gate.badge_http import BadgeEndpoint, BadgeReaderToken
from seuil.gate.badge_inbox import BadgeInbox
from seuil.ports.storage import IncidentQuery
from seuil.services.enrolment import PHOTO
from seuil.services.gate_signals import signal_from_lane_alert
from seuil.web import WebOptions, create_app
from seuil.web.runtime import BadgeReply, DemoDevice, GateInfo, WebRuntime

JPEG = b"\xff\xd8\xff\xe0fake-jpeg"
DEVICE_TOKEN = "un-jeton-de-bouton-tres-long"
READER_TOKEN = "un-jeton-de-lecteur-tres-long"


@dataclass
class Presenter:
    calls: list[tuple[str | None, str]] = field(default_factory=list)

    def __call__(self, credential: str | None, video: str) -> bool:
        self.calls.append((credential, video))
        return True


@dataclass
class Screens:
    web: Web
    runtime: WebRuntime
    presenter: Presenter
    inbox: BadgeInbox

    def login(self, username: str = "admin", password: str = PASSWORD) -> tuple[TestClient, str]:
        client = self.web.login(username, password)
        return client, csrf_of(client.get("/account/password").text)

    def person(self) -> str:
        site = self.web.site
        person = site.people.create("cpe", PersonKind.PUPIL, "Martin", "Léa", group="2NDE1")
        with site.uow() as uow:
            uow.photos.put(person.ref, site.cipher.seal(JPEG, person.ref, PHOTO),
                           site.clock.now())  # fmt: skip
            uow.commit()
        return person.ref


@pytest.fixture
def screens(web: Web, tmp_path) -> Iterator[Screens]:  # type: ignore[no-untyped-def]
    site = web.site
    presenter = Presenter()
    inbox = BadgeInbox("entree")
    badges = BadgeEndpoint([BadgeReaderToken("lecteur-1", "entree", READER_TOKEN)],
                           {"entree": inbox})  # fmt: skip
    hooks = WebhookGateway({"borne-hall": hash_token(DEVICE_TOKEN)}, site.incidents, site.clock,
                           site=site.settings.site.id, zones={"borne-hall": "hall"})  # fmt: skip
    video = tmp_path / "obama.mp4"
    video.write_bytes(b"")
    heightened = {"on": False}

    def badge(gate: str, token: str, body: bytes) -> BadgeReply:
        result = badges.handle_badge(gate, token, body)
        return BadgeReply(result.status, result.body())

    def webhook(device: str, token: str, body: bytes, kind: str) -> BadgeReply:
        result = hooks.handle(device, token, body, kind)
        return BadgeReply(result.status, result.body())

    runtime = WebRuntime(
        gates=[GateInfo("entree", "Entrée principale", "verification", "cam-1", 1e-4, 1e-2)],
        signals=site.incidents,
        gate_health=lambda gate: {"state": "streaming", "frames": 42, "last_error": None},
        presenters={"entree": presenter},
        demo_videos={"obama.mp4": video},
        demo_devices=[DemoDevice("demo-panic-1", "panic_button", "Bouton panique (loge)", "loge"),
                      DemoDevice("demo-alarm-1", "alarm_panel", "Centrale : intrusion", "cdi")],
        badge=badge, webhook=webhook,
        heightened=lambda: heightened["on"],
        set_heightened=lambda value: heightened.__setitem__("on", value),
        demo_wallet={},
    )  # fmt: skip
    web.app = create_app(site, web.accounts, WebOptions(max_upload_bytes=200_000), runtime)
    yield Screens(web, runtime, presenter, inbox)


def test_gate_screen_refer_photo_and_agent_call(screens: Screens) -> None:
    web = screens.web
    ref = screens.person()
    web.site.gate_desk.feed(GateDecision("entree", web.clock.now(), Decision.REFER,
                                         ReferReason.NON_BIOMETRIC, credential_id="c1",
                                         person_ref=ref))  # fmt: skip
    web.add("agent", Role.GATE_AGENT)
    client, csrf = screens.login("agent", PASSWORD + "!")
    page = client.get("/gate/entree")
    assert page.status_code == 200
    assert "À VÉRIFIER" in page.text and "sans biométrie" in page.text
    assert "MARTIN Léa" in page.text and "2NDE1" in page.text
    assert f'src="/gate/entree/photo/{ref}"' in page.text
    assert 'data-live="/events/gate/entree"' in page.text
    photo = client.get(f"/gate/entree/photo/{ref}")
    assert photo.content == JPEG and photo.headers["content-type"] == "image/jpeg"
    assert "no-store" in photo.headers["cache-control"]
    missing = client.get("/gate/entree/photo/P-NOBODY")
    assert missing.status_code == 404
    assert client.get("/gate/nowhere").status_code == 404
    bad = client.post("/gate/entree/decide", data={"csrf_token": csrf, "action": "refuse",
                      "reason": "maybe", "person_ref": ref})  # fmt: skip
    assert bad.status_code == 409 and "motif" in bad.text
    form = {"csrf_token": csrf, "action": "let_in", "credential_id": "c1", "person_ref": ref,
            "note": "vu sur photo"}  # fmt: skip
    done = client.post("/gate/entree/decide", data=form)
    assert done.status_code == 200 and "ENTRÉE AUTORISÉE" in done.text and "agent" in done.text
    with web.site.reader() as uow:
        events = uow.gate_events.recent("entree")
        audit = [e for e in uow.audit.entries() if e.action in ("gate.settle", "photo.read")]
    assert [(e.decision, e.decided_by) for e in events] == [
        (Decision.GRANT, "agent"), (Decision.REFER, "system")]  # fmt: skip
    assert {e.action for e in audit} == {"gate.settle", "photo.read"}
    # the agent may not simulate presentations, nor open settings or devices
    assert client.post("/gate/entree/present", data={"csrf_token": csrf, "video": "obama.mp4"},
                       follow_redirects=False).status_code == 403  # fmt: skip
    assert client.get("/settings").status_code == 403
    assert client.get("/devices").status_code == 403


def test_a_passage_without_an_opening_is_an_alert_not_a_call(screens: Screens) -> None:
    """A counter saw someone go through with no opening: nobody waits to be let in, so
    the screen raises the alert, offers no let-in/refuse and points to the incident."""
    web = screens.web
    site = web.site
    at = web.clock.now()
    alert = unauthorised_passage("entree", "porte-1", 1, at, SiteMode.NORMAL)
    assert alert is not None
    signal = signal_from_lane_alert(alert, site.settings.site.id)
    assert signal is not None and site.incidents.receive(signal) is not None
    site.gate_desk.feed(GateDecision("entree", at, Decision.REFER,
                                     ReferReason.UNAUTHORISED_PASSAGE))  # fmt: skip
    web.add("agent", Role.GATE_AGENT)
    client, _ = screens.login("agent", PASSWORD + "!")
    page = client.get("/gate/entree").text
    now = page.split('aria-labelledby="h-now"', 1)[1].split("</section>", 1)[0]
    assert "ALERTE" in now and "À VÉRIFIER" not in now
    assert ("Passage sans ouverture : une personne est passée sans badge ni autorisation."
            in now) and 'role="alert"' in now  # fmt: skip
    assert "Laisser entrer" not in page and "Refuser" not in page and "/decide" not in page
    assert "enrol-photo" not in page
    assert 'class="now decision-refer gate-alert"' in page
    assert 'href="/incidents"' in now
    board = client.get("/incidents").text
    assert "porte forcée" in board and "porte-1" in board
    # the same decision, once an ordinary REFER follows, gives the agent's call back
    ref = screens.person()
    site.gate_desk.feed(GateDecision("entree", web.clock.now(), Decision.REFER,
                                     ReferReason.NON_BIOMETRIC, person_ref=ref))  # fmt: skip
    page = client.get("/gate/entree").text
    assert "Laisser entrer" in page and "gate-alert" in page  # the alert stays in the list
    english = client.get("/lang/en?next=/gate/entree").text
    assert "passage without an opening" in english


def test_an_alert_does_not_hide_the_person_still_waiting(screens: Screens) -> None:
    """A pupil is referred (e.g. during confinement every case is), then a counter
    raises a passage with no opening: the alert is on top, and the pupil's call (photo,
    let in / refuse with her ids) is still there until the agent settles it."""
    web = screens.web
    site = web.site
    ref = screens.person()
    site.gate_desk.feed(GateDecision("entree", web.clock.now(), Decision.REFER,
                                     ReferReason.NON_BIOMETRIC, credential_id="c9",
                                     person_ref=ref))  # fmt: skip
    site.gate_desk.feed(GateDecision("entree", web.clock.now(), Decision.REFER,
                                     ReferReason.UNAUTHORISED_PASSAGE))  # fmt: skip
    web.add("agent", Role.GATE_AGENT)
    client, csrf = screens.login("agent", PASSWORD + "!")
    page = client.get("/gate/entree").text
    now = page.split('aria-labelledby="h-now"', 1)[1].split("</section>", 1)[0]
    assert "Passage sans ouverture" in now and "Toujours en attente de votre décision" in now
    assert "MARTIN Léa" in now and f'src="/gate/entree/photo/{ref}"' in now
    assert 'name="credential_id" value="c9"' in now and f'name="person_ref" value="{ref}"' in now
    form = {"csrf_token": csrf, "action": "let_in", "credential_id": "c9", "person_ref": ref}
    assert client.post("/gate/entree/decide", data=form).status_code == 200
    page = client.get("/gate/entree").text
    assert "Toujours en attente" not in page and "Laisser entrer" not in page  # settled


def test_demo_presentation_uses_the_wallet_card(screens: Screens) -> None:
    web = screens.web
    client, csrf = screens.login()
    person = web.site.people.create("admin", PersonKind.PUPIL, "Roux", "Tom")
    card = client.post(f"/people/{person.ref}/credentials", data={"csrf_token": csrf})
    assert card.url.path.endswith("/card")
    [(credential_id, text)] = screens.runtime.demo_wallet.items()  # type: ignore[union-attr]
    devices = client.get("/devices")
    assert "Tom" in devices.text and credential_id in devices.text
    form = {"csrf_token": csrf, "video": "obama.mp4", "credential": credential_id}
    assert client.post("/gate/entree/present", data=form).status_code == 200
    form_none = {"csrf_token": csrf, "video": "obama.mp4", "credential": ""}
    assert client.post("/gate/entree/present", data=form_none).status_code == 200
    unknown = {"csrf_token": csrf, "video": "nope.mp4", "credential": ""}
    assert client.post("/gate/entree/present", data=unknown).status_code == 409
    forged = {"csrf_token": csrf, "video": "obama.mp4", "credential": "ffff"}
    assert client.post("/gate/entree/present", data=forged).status_code == 409
    assert screens.presenter.calls == [(text, "obama.mp4"), (None, "obama.mp4")]


def test_a_demo_gate_without_its_videos_says_so_and_presents_nothing(screens: Screens) -> None:
    client, csrf = screens.login()
    page = client.get("/gate/entree")
    assert 'value="obama.mp4"' in page.text and "Rien à présenter" not in page.text
    assert 'data-liveness="on"' in page.text and "Contrôle du vivant : actif" in page.text
    screens.runtime.gate_videos = {"entree": ["real2"]}  # its videos, absent here
    page = client.get("/gate/entree")
    assert "Rien à présenter à ce portique" in page.text and 'name="video"' not in page.text
    form = {"csrf_token": csrf, "video": "obama.mp4", "credential": ""}
    assert client.post("/gate/entree/present", data=form).status_code == 409
    assert screens.presenter.calls == []


def test_incident_board_lifecycle_and_ppms_confirmation(screens: Screens) -> None:
    web = screens.web
    client, csrf = screens.login()
    empty = client.get("/incidents")
    assert "Aucun incident en cours" in empty.text and "Bouton panique (loge)" in empty.text
    pressed = client.post("/demo/devices/demo-panic-1/trigger", data={"csrf_token": csrf})
    assert pressed.status_code == 200 and "alerte panique" in pressed.text
    incident_id = re.search(r'data-incident="([^"]+)"', pressed.text).group(1)  # type: ignore[union-attr]
    client.post(f"/incidents/{incident_id}/acknowledge", data={"csrf_token": csrf})
    client.post(f"/incidents/{incident_id}/escalate", data={"csrf_token": csrf})
    blank = client.post(f"/incidents/{incident_id}/resolve", data={"csrf_token": csrf,
                                                                    "note": "   "})  # fmt: skip
    assert blank.status_code == 409
    incident = web.site.incidents.get(incident_id)
    assert incident.status.value == "escalated" and incident.acknowledged_by == "admin"
    resolved = client.post(f"/incidents/{incident_id}/resolve",
                           data={"csrf_token": csrf, "note": "fausse alerte, élève"})  # fmt: skip
    assert "Aucun incident en cours" in resolved.text
    detail = client.get(f"/incidents/{incident_id}")
    assert "fausse alerte" in detail.text and "clôture" in detail.text
    # PPMS: the first post only shows the confirmation; nothing changes before it
    ask = client.post("/ppms", data={"csrf_token": csrf, "mode": "confinement"})
    assert ask.url.path == "/ppms/confirm" and "Confirmez-vous le CONFINEMENT" in ask.text
    assert web.site.ppms.current().mode.value == "normal"
    no_reason = client.post("/ppms", data={"csrf_token": csrf, "mode": "confinement",
                                           "confirmed": "yes"})  # fmt: skip
    assert no_reason.status_code == 409 and web.site.ppms.current().mode.value == "normal"
    client.post("/ppms", data={"csrf_token": csrf, "mode": "confinement", "confirmed": "yes",
                               "reason": "exercice"})  # fmt: skip
    assert web.site.ppms.current().mode.value == "confinement"
    assert "PPMS : confinement" in client.get("/incidents").text
    assert "PPMS : confinement" in client.get("/gate/entree").text
    client.post("/ppms", data={"csrf_token": csrf, "mode": "normal", "confirmed": "yes"})
    assert web.site.ppms.current().mode.value == "normal"
    assert client.post("/ppms", data={"csrf_token": csrf, "mode": "party"}).status_code == 409


def test_confirmed_intrusion_starts_the_confinement(screens: Screens) -> None:
    web = screens.web
    client, csrf = screens.login()
    page = client.post("/demo/devices/demo-alarm-1/trigger", data={"csrf_token": csrf})
    assert "Intrusion à confirmer" in page.text
    incident_id = re.search(r'data-incident="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    client.post(f"/incidents/{incident_id}/confirm", data={"csrf_token": csrf})
    assert web.site.ppms.current().mode.value == "confinement"
    assert client.post("/demo/devices/nothing/trigger",
                       data={"csrf_token": csrf}).status_code == 404  # fmt: skip


def test_regional_operator_sees_no_names_and_cannot_act(screens: Screens) -> None:
    web = screens.web
    admin, csrf = screens.login()
    admin.post("/demo/devices/demo-panic-1/trigger", data={"csrf_token": csrf})
    [incident] = web.site.incidents.search(IncidentQuery(unresolved=True))
    web.site.incidents.acknowledge(incident.id, "mme.dupont")
    web.add("region", Role.REGIONAL_OPERATOR)
    client, op_csrf = screens.login("region", PASSWORD + "!")
    board = client.get("/incidents")
    assert board.status_code == 200 and "alerte panique" in board.text
    assert "mme.dupont" not in board.text and "Acquitter" not in board.text
    assert "Bouton panique" not in board.text  # no demo buttons for a read-only role
    assert "mme.dupont" not in client.get(f"/incidents/{incident.id}").text
    assert client.get("/devices").status_code == 200
    assert client.get("/gate/entree").status_code == 403
    refused = client.post(f"/incidents/{incident.id}/acknowledge",
                          data={"csrf_token": op_csrf}, follow_redirects=False)  # fmt: skip
    assert refused.status_code == 403


def test_devices_and_settings_pages(screens: Screens) -> None:
    web = screens.web
    web.add("tech", Role.TECHNICIAN)
    client, csrf = screens.login("tech", PASSWORD + "!")
    devices = client.get("/devices")
    assert devices.status_code == 200 and "en service" in devices.text
    assert "vérification (1:1)" in devices.text and "<dd>verification</dd>" not in devices.text
    assert "Présenter" in devices.text  # the technician runs the demo camera
    settings = client.get("/settings")
    assert settings.status_code == 200
    assert "0.0001" in settings.text and "60.0 → 120.0 → 180.0" in settings.text
    assert "inactive" in settings.text
    client.post("/settings/heightened", data={"csrf_token": csrf, "enabled": "on"})
    assert screens.runtime.heightened is not None and screens.runtime.heightened()
    bad = client.post("/settings/heightened", data={"csrf_token": csrf, "enabled": "maybe"})
    assert bad.status_code == 409 and screens.runtime.heightened()
    with web.site.reader() as uow:
        assert [e.actor for e in uow.audit.entries() if e.action == "settings.heightened"] == [
            "tech"]  # fmt: skip


def _token(web: Web, *scopes: Permission) -> dict[str, str]:
    admin = web.accounts.login("admin", PASSWORD).account
    created = web.accounts.create_token(admin, "tests", scopes or list(Permission))
    return {"Authorization": f"Bearer {created.secret}"}


def test_api_incidents_ppms_gate_events(screens: Screens) -> None:
    web = screens.web
    client = web.client()
    auth = _token(web)
    for n in range(3):
        web.clock.advance(minutes=10)
        web.site.incidents.receive(Signal(f"btn-{n}", "0830042X", f"zone-{n}", "panic", "{}",
                                          web.clock.now(), IncidentType.PANIC))  # fmt: skip
    page = client.get("/api/v1/incidents?open=true&limit=2", headers=auth).json()
    assert page["total"] == 3 and len(page["items"]) == 2
    second = client.get("/api/v1/incidents?open=true&limit=2&offset=2", headers=auth).json()
    assert len(second["items"]) == 1
    incident_id = page["items"][0]["id"]
    assert client.get(f"/api/v1/incidents/{incident_id}", headers=auth).json()["zone"]
    missing = client.get("/api/v1/incidents/I-NONE", headers=auth)
    assert missing.status_code == 404 and missing.headers["content-type"] == (
        "application/problem+json")  # fmt: skip
    acked = client.post(f"/api/v1/incidents/{incident_id}/acknowledge", headers=auth).json()
    assert acked["status"] == "acknowledged" and acked["acknowledged_by"] == "admin"
    twice = client.post(f"/api/v1/incidents/{incident_id}/acknowledge", headers=auth)
    assert twice.status_code == 409 and twice.json()["code"] == "conflict"
    blank = client.post(f"/api/v1/incidents/{incident_id}/resolve", headers=auth,
                        json={"note": "  "})  # fmt: skip
    assert blank.status_code == 422
    done = client.post(f"/api/v1/incidents/{incident_id}/resolve", headers=auth,
                       json={"note": "vérifié"})  # fmt: skip
    assert done.json()["status"] == "resolved"
    assert client.get("/api/v1/ppms", headers=auth).json()["mode"] == "normal"
    no_reason = client.put("/api/v1/ppms", headers=auth, json={"mode": "evacuation"})
    assert no_reason.status_code == 409
    moved = client.put("/api/v1/ppms", headers=auth,
                       json={"mode": "evacuation", "reason": "exercice"}).json()  # fmt: skip
    assert moved["state"]["mode"] == "evacuation" and moved["changed"] is True
    client.put("/api/v1/ppms", headers=auth, json={"mode": "normal"})
    for n in range(5):
        web.site.gate_desk.feed(GateDecision("entree" if n % 2 else "cour",
                                             web.clock.now() + timedelta(seconds=n),
                                             Decision.DENY, DenyReason.EXPIRED))  # fmt: skip
    events = client.get("/api/v1/gate-events?limit=2&offset=1", headers=auth).json()
    assert events["total"] == 5 and len(events["items"]) == 2
    gate = client.get("/api/v1/gate-events?gate_id=entree", headers=auth).json()
    assert gate["total"] == 2 and {e["gate_id"] for e in gate["items"]} == {"entree"}
    first = client.get("/api/v1/gate-events?limit=3", headers=auth).json()
    assert first["total"] == 5 and first["next"]
    rest = client.get(f"/api/v1/gate-events?limit=3&after={first['next']}", headers=auth).json()
    assert rest["total"] is None and rest["next"] is None and len(rest["items"]) == 2
    assert [e["at"] for e in first["items"] + rest["items"]] == sorted(
        (e["at"] for e in first["items"] + rest["items"]), reverse=True)  # fmt: skip
    for cursor in ("1;drop", "9" * 40, "1." + "9" * 40):
        bad = client.get(f"/api/v1/gate-events?after={cursor}", headers=auth)
        assert bad.status_code == 422, cursor
    viewer = _token(web, Permission.VIEW_INCIDENTS)
    assert client.get("/api/v1/gate-events", headers=viewer).status_code == 403
    assert client.put("/api/v1/ppms", headers=viewer, json={"mode": "normal"}).status_code == 403


def test_device_routes_use_device_tokens_not_sessions(screens: Screens) -> None:
    web = screens.web
    client = web.client()
    good = {"Authorization": f"Bearer {DEVICE_TOKEN}", "Content-Type": "application/json"}
    sent = client.post("/api/v1/devices/borne-hall/signal", headers=good,
                       content=b'{"type": "panic"}')  # fmt: skip
    assert sent.status_code == 202, sent.text
    [incident] = web.site.incidents.search(IncidentQuery(unresolved=True))
    assert incident.zone == "hall"
    forged = {**good, "Authorization": "Bearer nope"}
    wrong = client.post("/api/v1/devices/borne-hall/signal", headers=forged, content=b"{}")
    assert wrong.status_code == 401 and wrong.json()["code"] == "authentication_failed"
    garbage = client.post("/api/v1/devices/borne-hall/signal", headers=good, content=b"{{")
    assert garbage.status_code == 422
    assert len(web.site.incidents.search(IncidentQuery(unresolved=True))) == 1  # nothing lost/added
    reader = {"Authorization": f"Bearer {READER_TOKEN}"}
    badge = client.post("/api/v1/gates/entree/badge", headers=reader, content=b'{"number": "123"}')
    assert badge.status_code == 202 and badge.json()["code"] == "queued"
    assert screens.inbox.take() == "123"
    refused = client.post("/api/v1/gates/entree/badge", headers={"Authorization": "Bearer x"},
                          content=b'{"number": "123"}')  # fmt: skip
    assert refused.status_code == 401
    unknown = client.post("/api/v1/gates/cour/badge", headers=reader, content=b'{"number": "1"}')
    assert unknown.status_code == 404
    big = client.post("/api/v1/gates/entree/badge", headers=reader, content=b"1" * 70_000)
    assert big.status_code == 413
    # no running site: every device is unknown
    bare = create_app(web.site, web.accounts)
    none = TestClient(bare).post("/api/v1/devices/borne-hall/signal", headers=good,
                                 content=b'{"type": "panic"}')  # fmt: skip
    assert none.status_code == 404


def test_pages_speak_words_not_raw_values_in_paris_time(screens: Screens) -> None:
    """Incident states, severities, health keys in French (English with the switch),
    ``None`` as a dash, times in Europe/Paris (the test clock: 08:00 UTC = 10:00 CEST)."""
    client, csrf = screens.login()
    client.post("/demo/devices/demo-panic-1/trigger", data={"csrf_token": csrf})
    board = client.get("/incidents").text
    row = board[board.index("data-incident=") :]
    row = row[: row.index("</tr>")]
    assert "ouvert" in row and "critique" in row and 'class="sev"' in row
    assert ">10:00<" in row and ">08:00<" not in row
    incident_id = re.search(r'data-incident="([^"]+)"', board).group(1)  # type: ignore[union-attr]
    client.post(f"/incidents/{incident_id}/acknowledge", data={"csrf_token": csrf})
    assert "acquitté" in client.get("/incidents").text
    detail = client.get(f"/incidents/{incident_id}").text
    assert "06/10/2025 10:00:00" in detail and "UTC" not in detail
    gate = client.get("/gate/entree").text
    health = gate[gate.index('id="h-health"') :]
    assert "<dt>état</dt><dd>en service</dd>" in health
    assert "<dt>images reçues</dt><dd>42</dd>" in health
    assert "<dt>dernière erreur</dt><dd>—</dd>" in health and "None" not in health
    client.cookies.set("lang", "en")
    english = client.get("/gate/entree").text
    assert "<dt>state</dt><dd>streaming</dd>" in english
    assert "acknowledged" in client.get("/incidents").text
    assert "critical" in client.get("/incidents").text


def test_hub_messages_and_a_regional_alert_on_the_board(screens: Screens) -> None:
    """The regional centre's acknowledgement, a mediator assignment and a region-wide
    alert (stored in the site's inbox by the hub link) show on the board, in French,
    the alert as a banner; staff names only for roles that see people."""
    web = screens.web
    now = web.clock.now()
    messages = [
        HubMessage(1, MessageKind.ACK, "0830042X", now, {"incident_id": "I20251006-AAAAAA",
                   "state": "acknowledged", "by": "M. Régional"}),
        HubMessage(2, MessageKind.ASSIGNMENT, "0830042X", now, {"incident_id": "I20251006-AAAAAA",
                   "assignment": 7, "mediator": "Mme Médiatrice", "state": "on_site"}),
        HubMessage(3, MessageKind.ALERT, "*", now, {"title": "Confinement conseillé",
                   "text": "Secteur Toulon centre", "town": "Toulon"}),
    ]  # fmt: skip
    with web.site.uow() as uow:
        assert uow.hub_inbox.add(messages, now) == 3
        uow.commit()
    client, _ = screens.login()
    board = client.get("/incidents").text
    banner = board[board.index('class="hub-alert"') :]
    banner = banner[: banner.index("</div>")]
    assert "Alerte régionale : Confinement conseillé" in banner and "10:00" in banner
    hub = board[board.index('id="h-hub"') :]
    assert "pris en compte par le centre régional" in hub and "M. Régional" in hub
    assert "médiateur sur place" in hub and "Mme Médiatrice" in hub
    assert 'href="/incidents/I20251006-AAAAAA"' in hub
    web.add("region", Role.REGIONAL_OPERATOR)
    operator, _ = screens.login("region", PASSWORD + "!")
    seen = operator.get("/incidents").text
    assert "Confinement conseillé" in seen and "médiateur sur place" in seen
    assert "Mme Médiatrice" not in seen and "M. Régional" not in seen
