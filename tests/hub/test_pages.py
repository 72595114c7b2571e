"""The hub's pages with real accounts: board and map, incident handling from ack to
close (each step goes back to the site as a message), the mediator's phone page, and
each role kept to its permissions. French first."""

from __future__ import annotations

import pytest
from tests.hub.conftest import OTHER, SITE, HubEnv, batch, csrf_of, envelope

from seuil.domain.accounts import Role
from seuil.domain.hub import EventKind

INCIDENT = "I-20250901-0001"


@pytest.fixture
def staffed(env: HubEnv) -> HubEnv:
    env.add_account("operateur", Role.REGIONAL_OPERATOR)
    env.add_account("superviseur", Role.REGIONAL_SUPERVISOR)
    env.add_account("mediateur", Role.MEDIATOR)
    opened = envelope(1, EventKind.INCIDENT_OPENED)
    ppms = envelope(1, EventKind.PPMS_MODE, site=OTHER)
    health = envelope(2, EventKind.DEVICE_HEALTH)
    assert env.post(SITE, batch([opened, health])).status_code == 200
    assert env.post(OTHER, batch([ppms], site=OTHER)).status_code == 200
    return env


def test_the_board_shows_every_school_its_status_devices_and_the_map(staffed: HubEnv) -> None:
    page = staffed.login("operateur").get("/board")
    assert page.status_code == 200
    html = page.text
    assert "Tableau régional" in html and '<html lang="fr">' in html
    assert "Lycée Dumont d&#39;Urville" in html and "Lycée Rouvière" in html
    assert "PPMS confinement" in html  # OTHER is in confinement
    assert "1 critique" in html  # the open intrusion, by severity
    assert "9/10" in html and "sia:0042" in html  # cameras online, silent panel
    assert html.count('<circle class="dot dot-') == 2  # both schools on the SVG plan
    assert "dot-ppms" in html and "dot-incident" in html
    assert "tile" not in html.lower() and "http://" not in html.split("<svg")[1].split("</svg>")[
        0
    ].replace("http://www.w3.org/2000/svg", "")
    english = staffed.login("operateur")
    english.cookies.set("lang", "en")
    assert "Regional board" in english.get("/board").text


def test_an_incident_from_ack_to_close_and_the_site_is_told(staffed: HubEnv) -> None:
    client = staffed.login("operateur")
    page = client.get(f"/incidents/{SITE}/{INCIDENT}")
    assert page.status_code == 200 and "intrusion" in page.text
    csrf = csrf_of(page.text)
    mediator = staffed.account("mediateur")
    base = f"/incidents/{SITE}/{INCIDENT}"
    assert client.post(f"{base}/ack", data={"csrf_token": csrf}).status_code == 200
    assert (
        client.post(
            f"{base}/assign", data={"csrf_token": csrf, "mediator_id": mediator.id}
        ).status_code
        == 200
    )
    assert (
        client.post(f"{base}/police", data={"csrf_token": csrf, "number": "17"}).status_code == 200
    )
    assert (
        client.post(f"{base}/police", data={"csrf_token": csrf, "number": "18"}).status_code == 409
    )
    detail = client.get(base).text
    assert "17 appelé par operateur" in detail and "Mediateur : assigné" in detail
    assert (
        client.post(f"{base}/close", data={"csrf_token": csrf, "note": "fausse alerte"}).status_code
        == 200
    )
    assert client.post(f"{base}/ack", data={"csrf_token": csrf}).status_code == 409  # closed
    incident = staffed.hub.service.incident(staffed.account("operateur"), SITE, INCIDENT)
    assert (incident.hub_status.value, incident.ack_by, incident.police_number) == (
        "closed",
        "operateur",
        "17",
    )
    assert incident.police_by == "operateur" and incident.police_at is not None
    assert incident.closed_by == "operateur" and incident.close_note == "fausse alerte"
    # Every step went back to the site, on its next ack.
    answer = staffed.post(SITE, batch([envelope(3)])).json()
    states = [(m["kind"], m["body"].get("state")) for m in answer["messages"]]
    assert states == [
        ("ack", "acknowledged"),
        ("assignment", "assigned"),
        ("ack", "police_17"),
        ("ack", "closed_by_region"),
    ]
    # A request without the CSRF token changes nothing.
    assert client.post(f"{base}/ack").status_code == 403


def test_the_mediator_phone_page_accept_on_site_done(staffed: HubEnv) -> None:
    operator = staffed.account("operateur")
    mediator = staffed.account("mediateur")
    staffed.hub.service.assign(operator, SITE, INCIDENT, mediator)
    phone = staffed.login("mediateur")
    page = phone.get("/mediator")
    assert page.status_code == 200 and "Mes missions" in page.text and "Accepter" in page.text
    csrf = csrf_of(page.text)
    [(assignment, _)] = staffed.hub.service.my_assignments(mediator)
    url = f"/mediator/assignments/{assignment.id}"
    assert (
        phone.post(url, data={"csrf_token": csrf, "state": "on_site"}).status_code == 409
    )  # not yet
    for state, button in (
        ("accepted", "Je suis sur place"),
        ("on_site", "Terminé"),
        ("done", None),
    ):
        after = phone.post(url, data={"csrf_token": csrf, "state": state})
        assert after.status_code == 200
        if button:
            assert button in after.text
    assert (
        phone.post(
            "/mediator/availability", data={"csrf_token": csrf, "availability": "off"}
        ).status_code
        == 200
    )
    assert dict((a.username, v.value) for a, v in staffed.hub.service.mediators(operator)) == {
        "mediateur": "off"
    }
    # Another mediator cannot move this assignment.
    staffed.add_account("autre", Role.MEDIATOR)
    other = staffed.login("autre")
    assert (
        other.post(
            url, data={"csrf_token": csrf_of(other.get("/mediator").text), "state": "done"}
        ).status_code
        == 404
    )


@pytest.mark.parametrize(
    ("username", "path", "status"),
    [
        ("mediateur", "/board", 403),
        ("mediateur", "/incidents", 403),
        ("operateur", "/mediator", 403),
        ("operateur", "/alerts", 403),
        ("operateur", "/sites", 403),
        ("operateur", "/accounts", 403),
        ("superviseur", "/alerts", 200),
        ("superviseur", "/sites", 200),
        ("admin", "/accounts", 200),
    ],
)
def test_each_role_keeps_to_its_pages(
    staffed: HubEnv, username: str, path: str, status: int
) -> None:
    assert staffed.login(username).get(path).status_code == status


def test_the_supervisor_sends_a_town_alert_and_hub_roles_only_exist_here(staffed: HubEnv) -> None:
    client = staffed.login("superviseur")
    csrf = csrf_of(client.get("/alerts").text)
    sent = client.post(
        "/alerts", data={"csrf_token": csrf, "title": "Confinement conseillé", "town": "Toulon"}
    )
    assert sent.status_code == 200 and "Confinement conseillé" in sent.text
    assert (
        client.post("/alerts", data={"csrf_token": csrf, "title": "x", "town": "Brest"}).status_code
        == 404
    )
    admin = staffed.account("admin")
    from seuil.domain.errors import ConflictError

    with pytest.raises(ConflictError, match="role cpe"):
        staffed.hub.accounts.create_account(
            admin, "cpe1", "CPE", Role.CPE, "a long enough password"
        )


def test_signed_out_visitors_go_to_the_login_page(env: HubEnv) -> None:
    page = env.client().get("/board")
    assert page.url.path == "/login"
    assert 'name="password"' in page.text
    assert env.client().get("/hub/api/v1/board").status_code == 401
