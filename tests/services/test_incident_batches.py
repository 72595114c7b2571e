"""``IncidentService.receive_many``: one transaction for many signals, with exactly the
outcome of as many calls of ``receive`` (real sites, SQLite and PostgreSQL)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from tests.services.incident_fakes import T0, FakeDoors, ManualClock, RecordingBus

from seuil.adapters.storage import verify_audit
from seuil.bootstrap import Site, build_site
from seuil.domain.errors import StorageUnavailableError
from seuil.domain.incidents import (
    EscalationLevel,
    EscalationPolicy,
    Incident,
    IncidentType,
    Severity,
    Signal,
    SignalKind,
)
from seuil.domain.ppms import PpmsMode
from seuil.ports.storage import IncidentQuery
from seuil.services.incidents import IncidentService
from seuil.services.ppms import PpmsService
from seuil.settings import HubLinkSettings, KeySettings, Settings, SiteSettings, StorageSettings

SITE = "0830042X"
POLICY = EscalationPolicy(by_severity={Severity.CRITICAL: (10, 20, 30), Severity.HIGH: (60,)})
RECIPIENTS = {
    EscalationLevel.GATE_AGENT: [("live", "loge"), ("email", "accueil@lycee.fr")],
    EscalationLevel.VIE_SCOLAIRE: [("email", "cpe@lycee.fr")],
}


def sig(seconds: float, source: str = "btn-hall", zone: str = "hall", code: str = "PA",
        type: IncidentType = IncidentType.PANIC, kind: SignalKind = SignalKind.EVENT,
        raw: str | None = None) -> Signal:  # fmt: skip
    at = T0 + timedelta(seconds=seconds)
    return Signal(source, SITE, zone, code, raw or f"{source}/{code} t={seconds}", at, type, kind)


# A morning of a real site, in arrival order: repeats, correlation, restores, supervision,
# a fire, an unknown code, replays from a disk buffer, a device heard out of order.
PREFIX = [sig(0), sig(2, source="sia:1000", zone="cdi", code="BA", type=IncidentType.INTRUSION)]
MIXED = [
    sig(3),  # the same button again: deduplicated into the first incident
    sig(3),  # handed twice in the same batch: a replay
    PREFIX[0],  # a replay of a signal stored before the batch
    sig(30, source="porte-hall", code="DF", type=IncidentType.DOOR_FORCED),  # correlated
    sig(
        31,
        source="sia:1000",
        zone="cdi",
        code="BR",
        type=IncidentType.INTRUSION,
        kind=SignalKind.RESTORE,
    ),
    sig(
        32,
        source="sia:2000",
        zone="gymnase",
        code="BR",
        type=IncidentType.INTRUSION,
        kind=SignalKind.RESTORE,
    ),  # a restore without incident: opens nothing
    sig(33, source="sia:3000", zone="", code="RP", type=IncidentType.PERIODIC_TEST),
    sig(40, source="sia:1000", zone="cdi", code="TA", type=IncidentType.TAMPER),  # correlated
    sig(41, source="sia:4000", zone="cantine", code="FA", type=IncidentType.FIRE),
    sig(42, source="sia:4000", zone="cantine", code="FA", type=IncidentType.FIRE),
    sig(20, source="sia:3000", zone="", code="RP", type=IncidentType.PERIODIC_TEST),  # late
    sig(50, source="sia:5000", zone="", code="ZZ", type=IncidentType.UNKNOWN),
    sig(60, source="btn-cdi", zone="cdi", code="DU", type=IncidentType.DURESS),  # worse
    sig(400),  # the same button, past the dedup and correlation windows: a new incident
    sig(401, source="porte-hall", code="DF", type=IncidentType.DOOR_FORCED),
    sig(3),  # replayed again, after the batch stored it
]


def _settings(folder: Path, url: str | None) -> Settings:
    return Settings(
        site=SiteSettings(id=SITE, name="Lycée test"),
        database=StorageSettings(url=url or f"sqlite:///{folder / 'site.sqlite3'}"),
        keys=KeySettings(dir=folder.parent / "keys"),  # the same pseudonyms for both
        hub_link=HubLinkSettings(url="http://127.0.0.1:9"),  # the hub outbox too
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def two_sites(request, tmp_path, monkeypatch) -> Iterator[tuple[Site, Site]]:  # type: ignore[no-untyped-def]
    """Two fresh sites on the same back-end (PostgreSQL: two throwaway schemas)."""
    monkeypatch.delenv("SEUIL_SITE_KEY", raising=False)
    made: list[tuple[Site, str | None]] = []
    schemas = request.getfixturevalue("postgres") if request.param == "postgresql" else None
    for name in ("one-by-one", "batched"):
        folder = tmp_path / name
        folder.mkdir()
        schema = url = None
        if schemas is not None:
            schema, url = schemas.create()
        made.append((build_site(_settings(folder, url)), schema))
    yield made[0][0], made[1][0]
    for site, schema in made:
        site.close()
        if schema is not None and schemas is not None:
            schemas.drop(schema)


class Wired:
    """The engine on one site, with deterministic incident ids and a fixed clock."""

    def __init__(self, site: Site, new_id: Callable[[datetime], str] | None = None) -> None:
        self.site = site
        self.clock = ManualClock(T0 + timedelta(seconds=5))
        self.bus = RecordingBus()
        self.doors = FakeDoors()
        self.ppms = PpmsService(site.uow, self.clock, self.doors, self.bus)
        counter = itertools.count(1)
        self.incidents = IncidentService(
            site.uow, self.clock, policy=POLICY, recipients=RECIPIENTS, bus=self.bus,
            ppms=self.ppms, site_id=SITE, reader=site.reader,
            new_id=new_id or (lambda at: f"I{at:%Y%m%d}-{next(counter):06d}"),
        )  # fmt: skip

    def state(self) -> dict[str, Any]:
        """Everything the engine stored or said, minus random row ids."""
        with self.site.reader() as uow:
            incidents = uow.incidents.search(IncidentQuery(limit=1000))
            audit = [(e.seq, e.at, e.actor, e.action, e.target, e.reason, e.details, e.hash)
                     for e in uow.audit.entries()]  # fmt: skip
            devices = uow.devices.all()
            ppms = uow.site_state.ppms()
        with self.site.uow() as uow:
            notes = [(n.incident_id, n.channel, n.recipient, n.subject, n.body, n.status)
                     for n in uow.notifications.recent(1000)]  # fmt: skip
            hub = [(e.seq, e.kind, e.occurred_at, e.body) for e in uow.outbox.pending(1000)]
        return {
            "incidents": sorted(incidents, key=lambda i: i.id), "audit": audit,
            "devices": devices, "ppms": (ppms.mode, ppms.by),
            "notifications": sorted(notes),  # one clock time: their stored order is random
            "hub": hub, "bus": list(self.bus.messages), "doors": list(self.doors.commands),
        }  # fmt: skip


def test_a_batch_has_the_outcome_of_as_many_receive_calls(two_sites: tuple[Site, Site]) -> None:
    one, batched = Wired(two_sites[0]), Wired(two_sites[1])
    for signal in PREFIX:
        one.incidents.receive(signal)
        batched.incidents.receive(signal)
    returned_one: list[Incident | None] = [one.incidents.receive(s) for s in MIXED]
    returned_batch = batched.incidents.receive_many(MIXED)
    assert returned_batch == returned_one
    expected, got = one.state(), batched.state()
    assert expected["incidents"] and expected["hub"] and expected["notifications"]  # not vacuous
    assert expected["ppms"][0] is PpmsMode.EVACUATION and ("release", "hall") in expected["doors"]
    for part in expected:
        assert got[part] == expected[part], part
    with batched.site.reader() as uow:
        assert verify_audit(uow).ok
    # A second batch of the same signals is all replays: nothing changes, nothing is said.
    again = batched.incidents.receive_many(MIXED)
    assert [i and i.id for i in again] == [i and i.id for i in returned_batch]
    assert batched.state() == got


def test_a_batch_applies_all_or_nothing(two_sites: tuple[Site, Site]) -> None:
    calls = itertools.count(1)

    def new_id(at: datetime) -> str:
        n = next(calls)
        if n == 3:  # a failure in the middle of the batch, after two incidents opened
            raise RuntimeError("id generator broke")
        return f"I{at:%Y%m%d}-{n:06d}"

    engine = Wired(two_sites[1], new_id)
    before = engine.state()
    with pytest.raises(RuntimeError):
        engine.incidents.receive_many(MIXED)
    after = engine.state()
    assert after == before and engine.incidents.count(IncidentQuery()) == 0
    assert engine.bus.messages == [] and engine.doors.commands == []  # nothing told


def test_a_batch_while_the_database_is_down_applies_nothing_but_releases_egress(
    two_sites: tuple[Site, Site],
) -> None:
    from tests.services.incident_fakes import failing_uow

    site = two_sites[0]
    down = [True]
    engine = Wired(site)
    engine.incidents = IncidentService(
        failing_uow(site.uow, lambda: down[0]), engine.clock, bus=engine.bus,  # type: ignore[arg-type]
        ppms=engine.ppms, site_id=SITE,
    )  # fmt: skip
    with pytest.raises(StorageUnavailableError):
        engine.incidents.receive_many(MIXED)
    assert all(engine.doors.state_of(d) == "release" for d in engine.doors.doors)
    down[0] = False
    assert engine.incidents.count(IncidentQuery()) == 0  # nothing applied
    assert engine.incidents.receive_many([]) == []
    stored = engine.incidents.receive_many(MIXED)  # the buffer hands them over again
    assert any(i is not None and i.type is IncidentType.FIRE for i in stored)
