"""Server-sent events over real HTTP (uvicorn): a gate decision reaches a connected gate
screen, filtered to its gate; the incidents stream strips names for a role that sees
no people; a reconnecting screen resumes from its Last-Event-ID; idle streams carry
keep-alives; a stream needs a signed-in account with the right permission."""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from tests.web.conftest import PASSWORD, Web
from tests.web.live_server import serving

from seuil.domain.accounts import Role
from seuil.domain.gate import Decision, DenyReason, GateDecision, ReferReason
from seuil.domain.incidents import IncidentType, Signal
from seuil.domain.people import PersonKind
from seuil.domain.ppms import PpmsMode
from seuil.web import WebOptions, create_app
from seuil.web.auth import SESSION_COOKIE
from seuil.web.runtime import GateInfo, WebRuntime

Event = dict[str, object]


class Reader:
    """Reads one SSE stream on a thread; events (and comments) land in a queue."""

    def __init__(self, url: str, cookie: str, last_id: str | None = None) -> None:
        self.events: queue.Queue[Event] = queue.Queue()
        self.status = 0
        self._stop = threading.Event()
        headers = {"Last-Event-ID": last_id} if last_id is not None else {}
        self._thread = threading.Thread(target=self._run, args=(url, cookie, headers),
                                        daemon=True)  # fmt: skip
        self._thread.start()

    def _run(self, url: str, cookie: str, headers: dict[str, str]) -> None:
        cookies = {SESSION_COOKIE: cookie}
        with httpx.Client(timeout=10, cookies=cookies) as client, client.stream(
            "GET", url, headers=headers) as response:  # fmt: skip
            self.status = response.status_code
            event: Event = {}
            for line in response.iter_lines():
                if self._stop.is_set():
                    return
                if line.startswith(":"):
                    self.events.put({"comment": line[1:].strip()})
                elif line.startswith("id: "):
                    event["id"] = line[4:]
                elif line.startswith("event: "):
                    event["event"] = line[7:]
                elif line.startswith("data: "):
                    event["data"] = json.loads(line[6:])
                elif not line and event:
                    self.events.put(event)
                    event = {}

    def next(self, kind: str | None = None, timeout: float = 5.0) -> Event:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                item = self.events.get(timeout=max(0.01, end - time.monotonic()))
            except queue.Empty:
                break
            if kind is None or item.get("event") == kind:
                return item
        raise AssertionError(f"no {kind or 'event'} within {timeout} s")

    def event(self, timeout: float = 5.0) -> Event:
        """The next event of any kind (comments skipped)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                item = self.events.get(timeout=max(0.01, end - time.monotonic()))
            except queue.Empty:
                break
            if "comment" not in item:
                return item
        raise AssertionError(f"no event within {timeout} s")

    def close(self) -> None:
        self._stop.set()


@pytest.fixture
def served(web: Web) -> Iterator[tuple[Web, str]]:
    runtime = WebRuntime(gates=[GateInfo("entree", "Entrée", "verification"),
                                GateInfo("cour", "Cour", "verification")])  # fmt: skip
    app = create_app(web.site, web.accounts, WebOptions(sse_keepalive_s=0.3), runtime)
    with serving(app) as base:
        yield web, base


def _cookie(web: Web, username: str, password: str) -> str:
    return web.accounts.login(username, password).token


def test_gate_decision_reaches_its_gate_screen_only(served: tuple[Web, str]) -> None:
    web, base = served
    person = web.site.people.create("cpe", PersonKind.PUPIL, "Martin", "Léa", group="2NDE1")
    web.add("agent", Role.GATE_AGENT)
    cookie = _cookie(web, "agent", PASSWORD + "!")
    reader = Reader(f"{base}/events/gate/entree", cookie)
    try:
        reader.next(None)  # the stream's opening comment: subscribed
        desk = web.site.gate_desk
        desk.feed(GateDecision("cour", web.clock.now(), Decision.GRANT))
        started = time.monotonic()
        desk.feed(GateDecision("entree", web.clock.now(), Decision.REFER,
                               ReferReason.NON_BIOMETRIC, person_ref=person.ref))  # fmt: skip
        event = reader.next("gate.decision")
        assert time.monotonic() - started < 1.0
        data = event["data"]
        assert isinstance(data, dict) and data["gate_id"] == "entree"
        assert data["words"] == "À VÉRIFIER" and data["holder"]["name"] == "MARTIN Léa"
        assert reader.status == 200
        web.site.ppms.enter(PpmsMode.CONFINEMENT, "chef", "exercice")
        ppms = reader.next("ppms")
        assert ppms["data"]["mode"] == "confinement"  # type: ignore[index]
        assert "by" not in ppms["data"]  # type: ignore[operator]
        assert reader.next(None)["comment"] == "keep-alive"
    finally:
        reader.close()


def test_a_passage_without_an_opening_reaches_the_screen_as_an_alert(
    served: tuple[Web, str],
) -> None:
    web, base = served
    web.add("agent", Role.GATE_AGENT)
    reader = Reader(f"{base}/events/gate/entree", _cookie(web, "agent", PASSWORD + "!"))
    try:
        reader.next(None)  # subscribed
        web.site.gate_desk.feed(GateDecision("entree", web.clock.now(), Decision.REFER,
                                             ReferReason.UNAUTHORISED_PASSAGE))  # fmt: skip
        data = reader.next("gate.decision")["data"]
        assert isinstance(data, dict)
        assert data["words"] == "ALERTE" and data["check"] is False and data["photo"] is False
        assert data["alert"] == ("Passage sans ouverture : une personne est passée sans "
                                 "badge ni autorisation.")  # fmt: skip
        assert data["holder"] is None and data["credential_id"] is None
    finally:
        reader.close()


def test_incident_stream_without_names_and_resume(served: tuple[Web, str]) -> None:
    web, base = served
    web.add("region", Role.REGIONAL_OPERATOR)
    cookie = _cookie(web, "region", PASSWORD + "!")
    reader = Reader(f"{base}/events/incidents", cookie)
    try:
        reader.next(None)  # subscribed
        panic = Signal("btn-1", "0830042X", "hall", "panic", "{}", web.clock.now(),
                       IncidentType.PANIC)  # fmt: skip
        incident = web.site.incidents.receive(panic)
        assert incident is not None
        opened = reader.next("incident")
        web.clock.advance(seconds=5)
        web.site.incidents.acknowledge(incident.id, "mme.dupont")
        acked = reader.next("incident")
        assert acked["data"]["status"] == "acknowledged"  # type: ignore[index]
        assert "acknowledged_by" not in acked["data"]  # type: ignore[operator]
    finally:
        reader.close()
    # a new connection with Last-Event-ID gets what came after it, from the history
    web.clock.advance(seconds=5)
    web.site.incidents.resolve(incident.id, "mme.dupont", "ok")
    again = Reader(f"{base}/events/incidents", cookie, last_id=str(opened["id"]))
    try:
        first, second = again.event(), again.event()
        assert first["event"] == "incident" and first["id"] == acked["id"]
        assert second["event"] == "incident" and second["data"]["status"] == "resolved"  # type: ignore[index]
        origin, number = str(acked["id"]).split("-")
        assert second["id"] == f"{origin}-{int(number) + 1}"
    finally:
        again.close()


def test_an_id_this_process_never_issued_gets_a_resync_not_a_replay(
    served: tuple[Web, str],
) -> None:
    """A browser reconnecting to another worker (or to a restarted site) sends an id from
    another numbering: the stream says ``resync`` (the page re-reads) and replays nothing;
    from the resync's id it then resumes here like any other."""
    web, base = served
    web.add("agent", Role.GATE_AGENT)
    cookie = _cookie(web, "agent", PASSWORD + "!")
    desk, origin = web.site.gate_desk, web.site.bus.origin
    for _ in range(3):
        desk.feed(GateDecision("entree", web.clock.now(), Decision.GRANT))
    position = web.site.bus.recent()[-1].id
    foreign = "0" * 8 if origin != "0" * 8 else "1" * 8
    for seen in (f"{foreign}-1", "1", f"{origin}-{position + 1000}", "n'importe quoi"):
        reader = Reader(f"{base}/events/gate/entree", cookie, last_id=seen)
        try:
            resync = reader.event()
            assert resync == {"id": f"{origin}-{position}", "event": "resync",
                              "data": {"resync": True}}, seen  # fmt: skip
            desk.feed(GateDecision("entree", web.clock.now(), Decision.DENY, DenyReason.REVOKED))
            position += 1
            fresh = reader.event()  # the new decision, not the three before the reconnection
            assert fresh["event"] == "gate.decision" and fresh["id"] == f"{origin}-{position}"
            assert fresh["data"]["decision"] == "deny"  # type: ignore[index]
        finally:
            reader.close()
    again = Reader(f"{base}/events/gate/entree", cookie, last_id=f"{origin}-{position}")
    try:
        assert again.next(None)["comment"] == "seuil"
        assert again.next(None)["comment"] == "keep-alive"  # caught up: no resync, no replay
    finally:
        again.close()


def test_streams_need_the_permission(served: tuple[Web, str]) -> None:
    web, base = served
    web.add("tech", Role.TECHNICIAN)
    cookie = _cookie(web, "tech", PASSWORD + "!")
    with httpx.Client(cookies={SESSION_COOKIE: cookie}, timeout=5) as client:
        assert client.get(f"{base}/events/gate/entree").status_code == 403
        assert client.get(f"{base}/events/gate/nowhere").status_code == 403
    with httpx.Client(timeout=5) as anonymous:
        response = anonymous.get(f"{base}/events/incidents", follow_redirects=False)
        assert response.status_code == 303
    admin = _cookie(web, "admin", PASSWORD)
    with httpx.Client(cookies={SESSION_COOKIE: admin}, timeout=5) as client:
        assert client.get(f"{base}/events/gate/nowhere").status_code == 404
