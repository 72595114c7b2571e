"""A site file's devices, wired by the site process: a real SIA panel over TCP, a real
MQTT button through Mosquitto, and a webhook device, each opening an incident."""

from __future__ import annotations

import asyncio
import json
import socket
import uuid

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from tests.gateway.conftest import broker  # noqa: F401 (fixture: the real Mosquitto)
from tests.gateway.helpers import wait_until
from tests.services.conftest import make_settings

from seuil.adapters.auth import Argon2Hasher, TotpCodes
from seuil.bootstrap import build_site
from seuil.cli.sia_sender import make_body, make_frame
from seuil.domain.incidents import IncidentType
from seuil.ports.storage import IncidentQuery
from seuil.runtime.site_process import build_runtime
from seuil.services.accounts import AccountService
from seuil.site_config import parse_site_config


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_panel_button_and_webhook_each_open_an_incident(tmp_path, monkeypatch, broker):  # noqa: F811
    monkeypatch.delenv("SEUIL_SITE_KEY", raising=False)
    site_id = "T" + uuid.uuid4().hex[:10].upper()
    sia_port = _free_port()
    host, mqtt_port = broker
    config = parse_site_config(
        f"""
[[cameras]]
id = "cam"
kind = "presentation"
[[readers]]
id = "qr"
kind = "qr-camera"
camera = "cam"
[[doors]]
id = "porte"
kind = "simulated"
[[gates]]
id = "entree"
camera = "cam"
readers = ["qr"]
door = "porte"
liveness = false

[devices.mqtt]
host = "{host}"
port = {mqtt_port}

[devices.sia]
host = "127.0.0.1"
port = {sia_port}
udp = false
panels = [{{ account = "5678", zone = "Bâtiment B", supervision_s = 3600 }}]

[[devices.devices]]
id = "bouton-hall"
kind = "panic_button"
zone = "Hall"

[[devices.devices]]
id = "borne-parvis"
kind = "call_post"
zone = "Parvis"
webhook_token = "${{BORNE}}"
""",
        environ={"BORNE": "s3cret-borne-token"},
    )
    site = build_site(make_settings(tmp_path, site_id=site_id))
    accounts = AccountService(site.uow, site.clock, Argon2Hasher(fast=True), TotpCodes())
    rt = build_runtime(site, config, accounts=accounts, data_dir=tmp_path / "data")
    rt.lanes = []  # devices only: no camera thread needed here

    def incident_types() -> set[IncidentType]:
        return {i.type for i in site.incidents.search(IncidentQuery(unresolved=True))}

    async def scenario() -> None:
        rt.start_background()
        tasks = await rt.start_async()
        try:
            # an intrusion from the alarm panel (Contact ID 130, new event), ACKed
            frame = make_frame(make_body("ADM-CID", "#5678|1130 01 003", account="5678",
                                         at=site.clock.now()))  # fmt: skip
            reader, writer = await asyncio.open_connection("127.0.0.1", sia_port)
            writer.write(frame)
            await writer.drain()
            answer = await asyncio.wait_for(reader.readuntil(b"\r"), 5)
            assert b'"ACK"' in answer
            writer.close()
            # a panic button press over MQTT
            client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"btn-{site_id}")
            client.connect(host, mqtt_port)
            client.loop_start()
            topic = f"seuil/{site_id}/devices/bouton-hall/event"
            client.publish(topic, json.dumps({"type": "panic"}), qos=1).wait_for_publish(5)
            # a call post that can only call a URL
            assert rt.web.webhook is not None
            body = json.dumps({"type": "call"}).encode()
            reply = rt.web.webhook("borne-parvis", "s3cret-borne-token", body, "application/json")
            assert reply.status == 202, reply
            refused = rt.web.webhook("borne-parvis", "wrong", b"{}", "application/json")
            assert refused.status == 401
            await asyncio.to_thread(
                wait_until,
                lambda: {IncidentType.INTRUSION, IncidentType.PANIC} <= incident_types(),
                15, "the incidents of the panel, the button and the call post",
            )  # fmt: skip
            client.loop_stop()
            client.disconnect()
        finally:
            rt.stop_event.set()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    try:
        asyncio.run(scenario())
        opened = site.incidents.search(IncidentQuery(unresolved=True))
        sources = {s.source for i in opened for s in i.signals}
        assert {"sia:5678", "mqtt:bouton-hall", "webhook:borne-parvis"} <= sources, sources
        with site.reader() as uow:
            panel = uow.devices.get("sia:5678")
        assert panel is not None and panel.last_seen is not None
    finally:
        rt.stop()


def test_a_sia_port_already_taken_is_reported_not_fatal(tmp_path, monkeypatch, caplog):
    monkeypatch.delenv("SEUIL_SITE_KEY", raising=False)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        config = parse_site_config(f"""
[[cameras]]
id = "cam"
kind = "presentation"
[[readers]]
id = "qr"
kind = "qr-camera"
camera = "cam"
[[doors]]
id = "porte"
kind = "simulated"
[[gates]]
id = "entree"
camera = "cam"
readers = ["qr"]
door = "porte"
liveness = false
[devices.sia]
host = "127.0.0.1"
port = {busy}
udp = false
panels = [{{ account = "9999" }}]
""")
        site = build_site(make_settings(tmp_path))
        accounts = AccountService(site.uow, site.clock, Argon2Hasher(fast=True), TotpCodes())
        rt = build_runtime(site, config, accounts=accounts, data_dir=tmp_path / "data")

        async def start() -> None:
            tasks = await rt.start_async()
            rt.stop_event.set()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        try:
            asyncio.run(start())
        finally:
            rt.stop()
    assert any("SIA receiver cannot listen" in r.message for r in caplog.records)
