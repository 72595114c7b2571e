"""The site -> hub link over real HTTP, and a WAN outage in the middle of a run.

A real site (its database, its outbox written with each gate denial) runs its forwarder
against a real hub (uvicorn, on SQLite and on PostgreSQL) through a TCP proxy the test
cuts. While cut, the site goes on recording (nothing blocks, nothing is lost) and
queues; when the link returns every event reaches the hub in order, each exactly once:
checked on the hub's database against the site's outbox, key by key.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from tests.gateway.tcp_proxy import TcpProxy
from tests.hub.conftest import HubEnv
from tests.hub.servers import serving, wait_until
from tests.services.conftest import make_settings

from seuil.adapters.storage import tables as t
from seuil.bootstrap import Site, build_site
from seuil.domain.gate import Decision, DenyReason, GateDecision
from seuil.domain.hub import EventKind
from seuil.settings import HubLinkSettings

SITE = "0830042X"


@pytest.fixture
def linked(
    env: HubEnv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Site, TcpProxy]]:
    monkeypatch.delenv("SEUIL_SITE_KEY", raising=False)
    with serving(env.app) as (host, port):
        proxy = TcpProxy((host, port))
        token_file = tmp_path / "hub.token"
        token_file.write_text(env.tokens[SITE] + "\n")
        link = HubLinkSettings(
            url=f"http://127.0.0.1:{proxy.port}",
            token_file=token_file,
            batch_size=50,
            timeout_s=2,
            backoff_initial_s=0.05,
            backoff_max_s=0.4,
            idle_poll_s=0.05,
            heartbeat_s=3600,
        )
        settings = make_settings(tmp_path, site_id=SITE).model_copy(update={"hub_link": link})
        site = build_site(settings)
        try:
            yield site, proxy
        finally:
            proxy.close()
            site.close()


_counter = itertools.count()


def _deny(site: Site) -> None:
    n = next(_counter)
    site.gate_access.record(
        GateDecision(
            "gate-nord",
            site.clock.now(),
            Decision.DENY,
            DenyReason.REVOKED,
            person_ref=f"P-{n % 40}",
            credential_id=f"C-{n}",
        )
    )


def _site_outbox(site: Site) -> list[tuple[int, str]]:
    with site.db.connect() as conn:
        rows = conn.execute(
            sa.select(t.hub_outbox.c.seq, t.hub_outbox.c.key).order_by(t.hub_outbox.c.seq)
        )
        return [(r.seq, r.key) for r in rows]


def test_a_wan_outage_loses_nothing_and_doubles_nothing(
    env: HubEnv, linked: tuple[Site, TcpProxy]
) -> None:
    site, proxy = linked
    forwarder = site.hub_forwarder()
    forwarder.start()
    try:
        for _ in range(60):
            _deny(site)
        assert wait_until(lambda: len(env.stored(SITE)) >= 62)  # 60 denials, a heartbeat, an anchor
        proxy.cut()  # the WAN goes down
        for _ in range(240):  # the site keeps working: every decision is recorded at once
            _deny(site)
        assert wait_until(lambda: forwarder.status.consecutive_failures >= 3, timeout=10)
        assert "unreachable" in forwarder.status.last_error
        with site.uow() as uow:
            assert uow.outbox.backlog() >= 240  # queued on the site, not lost
        stored_during = len(env.stored(SITE))
        assert stored_during <= 62 + 50  # at most the batch in flight when the link was cut
        proxy.restore()  # the link returns
        expected = _site_outbox(site)
        assert len(expected) >= 301
        assert wait_until(lambda: len(env.stored(SITE)) == len(expected), timeout=30)
        assert wait_until(lambda: _backlog(site) == 0, timeout=10)
    finally:
        forwarder.stop()
    stored = env.stored(SITE)
    assert [(s, k) for s, k, _ in stored] == expected  # every event, in order, exactly once
    assert [s for s, _, _ in stored] == list(range(1, len(expected) + 1))
    kinds = [k for _, _, k in stored]
    assert kinds.count(EventKind.GATE_DENIAL.value) == 300
    assert kinds.count(EventKind.HEARTBEAT.value) == 1
    assert kinds.count(EventKind.AUDIT_ANCHOR.value) == 1  # at the start, like the heartbeat
    assert set(kinds) <= {"gate.denial", "heartbeat", "gate.counts", "audit.anchor"}
    with env.hub.uow() as uow:
        record = uow.hub.get_site(SITE)
    assert record is not None and record.high_water == len(expected) == record.events
    assert forwarder.status.sent >= len(expected) - 1


def _backlog(site: Site) -> int:
    with site.uow() as uow:
        return uow.outbox.backlog()


def test_messages_from_the_hub_reach_the_site_inbox(
    env: HubEnv, linked: tuple[Site, TcpProxy]
) -> None:
    site, _ = linked
    admin = env.account("admin")
    env.hub.service.send_alert(admin, "Confinement conseillé", "Secteur Toulon centre", "Toulon")
    forwarder = site.hub_forwarder()
    _deny(site)
    assert forwarder.drain(timeout=10) >= 1  # then polls for messages
    with site.uow() as uow:
        [alert] = uow.hub_inbox.recent()
    assert alert.kind.value == "alert" and alert.body["title"] == "Confinement conseillé"
    # stored, then published on the site's live bus: the incidents board shows it at once
    [event] = site.bus.recent("hub.message")
    assert event.payload["id"] == alert.id and event.payload["kind"] == "alert"
    forwarder.stop()


def test_a_revoked_site_keeps_its_queue(env: HubEnv, linked: tuple[Site, TcpProxy]) -> None:
    site, _ = linked
    env.hub.service.revoke_site(SITE)
    forwarder = site.hub_forwarder()
    _deny(site)
    from seuil.adapters.hub_link import LinkError

    with pytest.raises(LinkError, match="refused the site's credential") as error:
        forwarder.send_once()
    assert error.value.permanent
    assert _backlog(site) >= 1 and env.stored(SITE) == []
    forwarder.stop()


def test_backoff_grows_exponentially_with_jitter(
    env: HubEnv, linked: tuple[Site, TcpProxy]
) -> None:
    forwarder = linked[0].hub_forwarder()
    waits = [forwarder.backoff_s(n) for n in range(1, 6)]
    for n, wait in enumerate(waits, start=1):
        base = min(0.4, 0.05 * 2 ** (n - 1))
        assert 0.8 * base <= wait <= 1.2 * base
    assert forwarder.backoff_s(50) <= 0.4 * 1.2
    forwarder.stop()


def test_a_site_incident_reaches_the_board_and_the_regions_ack_comes_back(
    env: HubEnv, linked: tuple[Site, TcpProxy]
) -> None:
    from datetime import UTC, datetime

    from seuil.domain.incidents import IncidentType, Signal

    site, _ = linked
    incident = site.incidents.receive(
        Signal("button:hall", SITE, "hall A", "PA", "", datetime.now(UTC), IncidentType.PANIC)
    )
    assert incident is not None
    forwarder = site.hub_forwarder()
    forwarder.drain(timeout=10)
    operator = env.account("admin")
    board = env.hub.service.board(operator)
    row = next(r for r in board.rows if r.site.id == SITE)
    assert row.status.value == "incident" and row.open_by_severity == {4: 1}
    env.hub.service.acknowledge(operator, SITE, incident.id)
    site.incidents.acknowledge(incident.id, "mme.durand")
    forwarder.drain(timeout=10)
    with env.hub.uow() as uow:
        on_hub = uow.hub.incident(SITE, incident.id)
    assert on_hub is not None and on_hub.site_status == "acknowledged"
    with site.uow() as uow:
        [ack] = uow.hub_inbox.recent()
    assert (ack.kind.value, ack.body["incident_id"], ack.body["state"]) == (
        "ack",
        incident.id,
        "acknowledged",
    )
    forwarder.stop()


def test_device_health_reaches_the_board(env: HubEnv, linked: tuple[Site, TcpProxy]) -> None:
    from datetime import UTC, datetime

    from seuil.domain.devices import Device, DeviceKind

    site, _ = linked
    now = datetime.now(UTC)
    with site.uow() as uow:
        uow.devices.upsert(Device("cam-1", DeviceKind.CAMERA, registered_at=now))
        uow.devices.upsert(Device("cam-2", DeviceKind.CAMERA, registered_at=now, silent_since=now))
        uow.devices.upsert(
            Device("sia:0042", DeviceKind.ALARM_PANEL, registered_at=now, silent_since=now)
        )
        uow.commit()
    forwarder = site.hub_forwarder()
    forwarder.drain(timeout=10)
    with env.hub.uow() as uow:
        record = uow.hub.get_site(SITE)
    assert record is not None
    assert (record.cameras_online, record.cameras_total, record.panels_total) == (1, 2, 1)
    assert record.panels_silent == ("sia:0042",)
    forwarder.stop()


def test_the_site_process_runs_its_hub_link(
    env: HubEnv, linked: tuple[Site, TcpProxy], tmp_path: Path
) -> None:
    from datetime import UTC, datetime

    from seuil.adapters.auth import Argon2Hasher, TotpCodes
    from seuil.domain.incidents import IncidentType, Signal
    from seuil.runtime.site_process import build_runtime
    from seuil.services.accounts import AccountService

    site, _ = linked
    accounts = AccountService(site.uow, site.clock, Argon2Hasher(fast=True), TotpCodes())
    runtime = build_runtime(site, None, accounts=accounts, data_dir=tmp_path / "data")
    assert runtime.hub_link is not None
    runtime.start_background()
    try:
        incident = site.incidents.receive(
            Signal("button:hall", SITE, "hall", "PA", "", datetime.now(UTC), IncidentType.PANIC)
        )
        assert incident is not None

        def on_board() -> bool:
            with env.hub.uow() as uow:
                return uow.hub.incident(SITE, incident.id) is not None

        assert wait_until(on_board, timeout=15)
    finally:
        runtime.stop()


def test_a_site_without_its_token_runs_without_the_link(
    env: HubEnv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from seuil.adapters.auth import Argon2Hasher, TotpCodes
    from seuil.runtime.site_process import build_runtime
    from seuil.services.accounts import AccountService

    monkeypatch.delenv("SEUIL_SITE_KEY", raising=False)
    monkeypatch.delenv("SEUIL_HUB_TOKEN", raising=False)
    settings = make_settings(tmp_path, site_id=SITE).model_copy(
        update={"hub_link": HubLinkSettings(url="http://127.0.0.1:9")}
    )
    site = build_site(settings)
    accounts = AccountService(site.uow, site.clock, Argon2Hasher(fast=True), TotpCodes())
    runtime = build_runtime(site, None, accounts=accounts, data_dir=tmp_path / "data")
    assert runtime.hub_link is None
    assert "hub link not started: no hub token" in caplog.text
    site.close()
