"""The incident and PPMS use cases queue what the hub must know in their own transaction
(real site, SQLite and PostgreSQL): openings, each transition, mode changes; people as
pseudonyms only; notes and reasons stay on the site. No hub link: nothing is queued."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from tests.services.conftest import make_settings

from seuil.bootstrap import Site, build_site
from seuil.domain.errors import ConflictError
from seuil.domain.hub import EventKind
from seuil.domain.incidents import IncidentType, Signal
from seuil.domain.ppms import PpmsMode
from seuil.settings import HubLinkSettings

NOTE = "Zoë Durand retrouvée au CDI"


def _signal(site: Site) -> Signal:
    return Signal(
        "button:hall",
        site.settings.site.id,
        "hall A",
        "PA",
        "raw",
        datetime.now(UTC),
        IncidentType.PANIC,
    )


def _queued(site: Site) -> list[tuple[EventKind, dict]]:
    with site.uow() as uow:
        return [(e.kind, dict(e.body)) for e in uow.outbox.pending(100)]


@pytest.fixture(params=["sqlite", "postgresql"])
def linked_site(request, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.delenv("SEUIL_SITE_KEY", raising=False)
    schema = url = None
    if request.param == "postgresql":
        schemas = request.getfixturevalue("postgres")
        schema, url = schemas.create()
    settings = make_settings(tmp_path, url=url).model_copy(
        update={"hub_link": HubLinkSettings(url="http://127.0.0.1:9")}
    )
    site = build_site(settings)
    yield site
    site.close()
    if schema is not None:
        schemas.drop(schema)


def test_incident_steps_and_ppms_changes_are_queued(linked_site: Site) -> None:
    site = linked_site
    incident = site.incidents.receive(_signal(site))
    assert incident is not None
    site.incidents.acknowledge(incident.id, "mme.durand")
    site.incidents.resolve(incident.id, "mme.durand", NOTE)
    site.ppms.enter(PpmsMode.CONFINEMENT, "m.leroy", "intrusion signalée par Zoë Durand")
    site.ppms.end_alert("m.leroy", "fin")
    queued = _queued(site)
    assert [k for k, _ in queued] == [
        EventKind.INCIDENT_OPENED,
        EventKind.INCIDENT_TRANSITION,
        EventKind.INCIDENT_TRANSITION,
        EventKind.PPMS_MODE,
        EventKind.PPMS_MODE,
    ]
    opened, ack, resolved, lockdown, normal = (b for _, b in queued)
    assert (opened["incident_id"], opened["type"], opened["severity"]) == (incident.id, "panic", 4)
    assert (ack["action"], ack["status"]) == ("acknowledge", "acknowledged")
    assert (resolved["action"], resolved["status"]) == ("resolve", "resolved")
    assert ack["actor"].startswith("ps_") and ack["actor"] == resolved["actor"]
    assert (lockdown["mode"], lockdown["previous"], normal["mode"]) == (
        "confinement",
        "normal",
        "normal",
    )
    text = json.dumps(queued, default=str, ensure_ascii=False)
    for private in ("mme.durand", "m.leroy", "Zoë", "Durand", NOTE, "raw"):
        assert private not in text


def test_a_refused_step_queues_nothing(linked_site: Site) -> None:
    site = linked_site
    incident = site.incidents.receive(_signal(site))
    assert incident is not None
    before = len(_queued(site))
    with pytest.raises(ConflictError, match="needs no confirmation"):
        site.incidents.confirm(incident.id, "mme.durand")  # a panic needs no confirmation
    assert len(_queued(site)) == before


def test_without_a_hub_link_nothing_is_queued(site: Site) -> None:
    incident = site.incidents.receive(_signal(site))
    assert incident is not None
    site.incidents.acknowledge(incident.id, "mme.durand")
    assert _queued(site) == []
