"""The site configuration file: the documented example loads; mistakes are named."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from seuil.domain.credentials import TemplateStorage
from seuil.domain.errors import ConfigurationError
from seuil.domain.gate import GateMode
from seuil.site_config import (
    CounterMqttReader,
    HttpDoorConfig,
    MqttDoorConfig,
    RtspCamera,
    Secret,
    SecretUrl,
    SiteConfig,
    load_site_config,
    parse_site_config,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "site.example.toml"
ENV = {
    "CAM_ENTREE_USER": "viewer",
    "CAM_ENTREE_PASSWORD": "cam-pass-123",
    "BADGE_SAS_TOKEN": "badge-token-456",
    "RELAIS_ENTREE_PASSWORD": "relay-pass-789",
    "BORNE_PARVIS_TOKEN": "borne-token-321",
    "BADGE_PERSONNEL_TOKEN": "badge-token-654",
}


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """The documented example beside the secret files it refers to."""
    path = tmp_path / "site.toml"
    shutil.copy(EXAMPLE, path)
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "cam-sas.url").write_text("http://192.0.2.11/mjpeg?token=mjpeg-secret\n")
    (secrets / "mqtt-password").write_text("mqtt-pass-000\n")
    return path


def test_the_documented_example_loads(example):
    config = load_site_config(example, environ=ENV)
    assert [g.id for g in config.gates] == [
        "entree-principale", "sas-administration", "portail-demo", "porte-personnel",
    ]  # fmt: skip
    main = config.gate("entree-principale")
    assert main.mode is GateMode.VERIFICATION and main.door == "portillon-entree"
    assert (main.accept_fmr, main.refer_fmr) == (1e-4, 1e-2)
    sas = config.gate("sas-administration")
    assert sas.airlock == "sas-administration" and sas.active_challenge == "blink"
    assert sas.storage == [TemplateStorage.SITE_DATABASE, TemplateStorage.NONE]
    assert config.gate("portail-demo").mode is GateMode.CREDENTIAL_ONLY
    lock = config.airlock("sas-administration")
    assert (lock.outer, lock.inner) == ("sas-exterieur", "sas-interieur")
    devices = config.devices
    assert devices.mqtt is not None and devices.sia is not None
    assert [p.account for p in devices.sia.panels] == ["1234"]
    assert [d.id for d in devices.devices] == ["bouton-accueil", "borne-parvis"]


def test_secrets_are_resolved_but_never_shown(example):
    config = load_site_config(example, environ=ENV)
    camera = config.camera("cam-entree")
    assert isinstance(camera, RtspCamera)
    assert camera.url.get_secret_value() == (
        "rtsp://viewer:cam-pass-123@192.0.2.10:554/Streaming/Channels/101"
    )
    mjpeg = config.camera("cam-sas")
    assert mjpeg.url.get_secret_value() == "http://192.0.2.11/mjpeg?token=mjpeg-secret"  # type: ignore[union-attr]
    relay = config.door("portillon-entree")
    assert isinstance(relay, HttpDoorConfig) and relay.auth is not None
    assert relay.auth.password.get_secret_value() == "relay-pass-789"  # type: ignore[union-attr]
    assert relay.reports_state
    broker = config.door("sas-exterieur")
    assert isinstance(broker, MqttDoorConfig) and broker.password is not None
    assert broker.password.get_secret_value() == "mqtt-pass-000"
    shown = repr(config) + str(config.model_dump()) + config.model_dump_json()
    for secret in [*ENV.values(), "mjpeg-secret", "mqtt-pass-000"]:
        assert secret not in shown
    assert "${CAM_ENTREE_PASSWORD}" in shown and "file:secrets/mqtt-password" in shown


def _refused(text: str, *fragments: str, environ: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigurationError) as err:
        parse_site_config(text, environ=ENV if environ is None else environ)
    message = err.value.message
    for fragment in fragments:
        assert fragment in message, message
    return message


MINIMAL = """
[[doors]]
id = "porte"
kind = "simulated"

[[cameras]]
id = "cam"
kind = "webcam"

[[readers]]
id = "qr"
kind = "qr-camera"
camera = "cam"

[[gates]]
id = "entree"
camera = "cam"
readers = ["qr"]
door = "porte"
"""


def test_minimal_configuration_and_defaults():
    config = parse_site_config(MINIMAL, environ={})
    gate = config.gate("entree")
    assert gate.mode is GateMode.VERIFICATION and gate.storage == list(TemplateStorage)
    assert gate.active_challenge == "off"
    door = config.door("porte")
    assert (door.pulse_s, door.held_open_s) == (3.0, 30.0)


def test_unknown_key_is_refused_with_its_path():
    text = MINIMAL.replace('kind = "simulated"', 'kind = "simulated"\npulse_seconds = 5')
    _refused(text, "doors[0] (porte).pulse_seconds: unknown key "
             "(allowed: held_open_s, id, kind, pulse_s)")  # fmt: skip
    _refused(MINIMAL + "\n[extra]\nx = 1\n", "extra: unknown key (allowed: airlocks, cameras")
    _refused(MINIMAL.replace('door = "porte"', 'door = "porte"\nmodee = "x"'),
             "gates[0] (entree).modee: unknown key")  # fmt: skip


def test_missing_secret_environment_variable():
    text = MINIMAL.replace(
        'kind = "webcam"', 'kind = "rtsp"\nurl = "rtsp://u:${CAM_PW}@192.0.2.1/s"'
    )
    _refused(text, "cameras[0] (cam).url", "environment variable CAM_PW is not set", environ={})
    parse_site_config(text, environ={"CAM_PW": "x"})


def test_inline_secrets_are_refused():
    text = MINIMAL.replace('kind = "webcam"', 'kind = "rtsp"\nurl = "rtsp://u:hunter2@192.0.2.1/s"')
    message = _refused(text, "cameras[0] (cam).url", "password inline")
    assert "hunter2" not in message
    relay = MINIMAL.replace(
        'kind = "simulated"',
        'kind = "http"\npulse_url = "http://192.0.2.2/p"\n'
        'auth = { kind = "bearer", token = "plain-token" }',
    )
    message = _refused(relay, "doors[0] (porte).auth.token", "never inline")
    assert "plain-token" not in message


def test_missing_secret_file(tmp_path):
    path = tmp_path / "site.toml"
    path.write_text(
        MINIMAL.replace(
            'kind = "simulated"',
            'kind = "mqtt"\nusername = "seuil"\npassword = "file:nope/mqtt"',
        )
    )
    with pytest.raises(ConfigurationError, match=r"doors\[0\] \(porte\)\.password: secret file"):
        load_site_config(path, environ={})


def test_identification_needs_an_impact_assessment():
    text = MINIMAL.replace('door = "porte"', 'door = "porte"\nmode = "identification"')
    _refused(text, "gates[0] (entree)", "identification (1:N) is refused without an impact "
             "assessment", "impact_assessment_ref")  # fmt: skip
    blank = text + 'impact_assessment_ref = "  "\n'
    _refused(blank, "impact_assessment_ref")
    ok = parse_site_config(text + 'impact_assessment_ref = "AIPD-2025-07"\n', environ={})
    assert ok.gate("entree").mode is GateMode.IDENTIFICATION
    no_db = text + 'impact_assessment_ref = "AIPD-2025-07"\nstorage = ["on_credential"]\n'
    _refused(no_db, "identification needs storage 'site_database'")


def test_duplicate_gate_ids():
    text = (
        MINIMAL
        + """
[[gates]]
id = "entree"
camera = "cam"
readers = ["qr"]
door = "porte"
"""
    )
    _refused(text, "gates: duplicate id 'entree'")


def test_gate_referencing_an_unknown_door():
    _refused(MINIMAL.replace('door = "porte"', 'door = "porte-x"'),
             "gate 'entree': unknown door 'porte-x'")  # fmt: skip


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (('camera = "cam"\nreaders', 'camera = "cam-x"\nreaders'), "unknown camera 'cam-x'"),
        (('readers = ["qr"]', 'readers = ["qr", "badge"]'), "unknown reader 'badge'"),
        (('door = "porte"', 'door = "porte"\nairlock = "sas"'), "exactly one of door or airlock"),
        (('door = "porte"', ""), "exactly one of door or airlock"),
        (('kind = "simulated"', 'kind = "simulated"\npulse_s = 60'), "pulse_s"),
        (('kind = "simulated"', 'kind = "relay"'), "does not match any of the expected tags"),
        (
            ('door = "porte"', 'door = "porte"\naccept_fmr = "1e-2"\nrefer_fmr = "1e-4"'),
            "must be looser",
        ),
        (
            ('door = "porte"', 'door = "porte"\naccept_fmr = "often"'),
            "cannot read an operating point",
        ),
        (('door = "porte"', 'door = "porte"\naccept_fmr = 2'), "between 0 and 1"),
        (('id = "entree"', 'id = "Entrée"'), "gates[0] (Entrée).id"),
        (
            ('camera = "cam"\nreaders', "readers"),
            "mode 'verification' is impossible without a camera",
        ),
        (('door = "porte"', 'door = "porte"\nmode = "walk-through"'), "gates[0] (entree).mode"),
    ],
)
def test_mistakes_are_named(change, fragment):
    old, new = change
    assert old in MINIMAL
    _refused(MINIMAL.replace(old, new, 1), fragment)


AIRLOCK = """
[[cameras]]
id = "cam"
kind = "webcam"

[[readers]]
id = "badge"
kind = "wiegand-http"
token = "${TOKEN}"

[[doors]]
id = "ext"
kind = "simulated"

[[doors]]
id = "int"
kind = "simulated"

[[airlocks]]
id = "sas"
outer = "ext"
inner = "int"

[[gates]]
id = "sas"
camera = "cam"
readers = ["badge"]
airlock = "sas"
storage = ["site_database", "none"]
"""


def test_airlock_configuration():
    config = parse_site_config(AIRLOCK, environ={"TOKEN": "t"})
    assert config.gate("sas").airlock == "sas"


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (('inner = "int"', 'inner = "ext"'), "the outer and inner doors must differ"),
        (('inner = "int"', 'inner = "int-x"'), "unknown inner door 'int-x'"),
        (('airlock = "sas"', 'airlock = "sas-x"'), "unknown airlock 'sas-x'"),
        (('airlock = "sas"', 'door = "ext"'), "door 'ext' belongs to airlock 'sas'"),
        (
            ('storage = ["site_database", "none"]', 'storage = ["on_credential"]'),
            "storage on_credential needs a qr-camera reader",
        ),
        (
            (
                'id = "int"\nkind = "simulated"',
                'id = "int"\nkind = "http"\npulse_url = "http://192.0.2.3/p"',
            ),
            "door 'int' must report its state",
        ),
        (
            (
                'token = "${TOKEN}"',
                'token = "${TOKEN}"\n\n[[readers]]\nid = "o"\nkind = "osdp"\nport = "/dev/ttyUSB0"',
            ),
            "kind 'osdp' is documented but not implemented",
        ),
    ],
)
def test_airlock_mistakes_are_named(change, fragment):
    old, new = change
    assert old in AIRLOCK
    _refused(AIRLOCK.replace(old, new, 1), fragment, environ={"TOKEN": "t"})


def test_one_reader_serves_one_gate():
    text = MINIMAL + '\n[[gates]]\nid = "bis"\ncamera = "cam"\nreaders = ["qr"]\ndoor = "porte"\n'
    _refused(text, "reader 'qr' already serves gate 'entree'")


def test_every_problem_is_listed_at_once():
    text = MINIMAL.replace('door = "porte"', 'door = "porte-x"').replace(
        'camera = "cam"\nreaders', 'camera = "cam-x"\nreaders'
    )
    _refused(text, "unknown door 'porte-x'", "unknown camera 'cam-x'")


def test_not_toml_and_missing_file(tmp_path):
    with pytest.raises(ConfigurationError, match="not valid TOML"):
        parse_site_config("gates = [", environ={})
    with pytest.raises(ConfigurationError, match="cannot read the site configuration"):
        load_site_config(tmp_path / "absent.toml")
    with pytest.raises(ConfigurationError, match="gates"):
        parse_site_config("", environ={})


def test_secret_objects():
    a, b = Secret("v", "${A}"), Secret("v", "${A}")
    assert a == b and hash(a) == hash(b) and str(a) == "${A}" and "v" not in repr(a)
    assert SecretUrl("http://x", "${U}") != Secret("http://x", "${U}")
    assert isinstance(SiteConfig.model_fields["gates"].annotation, object)


def test_identification_operating_point_must_be_stricter_than_verification():
    text = MINIMAL.replace('door = "porte"', 'door = "porte"\nmode = "identification"')
    text += 'impact_assessment_ref = "AIPD-2025-07"\n'
    _refused(text + 'accept_fmr = "1e-4"\nidentification_accept_fmr = "1e-3"\n',
             "identification_accept_fmr (0.001) must be at least as strict")  # fmt: skip
    ok = parse_site_config(text + "identification_margin = 0.05\n", environ={})
    assert ok.gates[0].identification_accept_fmr == 1e-5
    assert ok.gates[0].identification_margin == 0.05
    _refused(text + "identification_margin = 1.5\n", "identification_margin")


def test_liveness_is_off_only_for_a_replayed_camera():
    _refused(MINIMAL + "liveness = false\n", "liveness = false is only for a replayed camera")
    replayed = MINIMAL.replace('kind = "webcam"', 'kind = "presentation"')
    assert parse_site_config(replayed + "liveness = false\n", environ={}).gates[0].liveness is False
    assert parse_site_config(MINIMAL, environ={}).gates[0].liveness is True


def test_devices_section():
    text = (
        MINIMAL
        + """
[devices.mqtt]
host = "127.0.0.1"

[devices.sia]
port = 12128
panels = [{ account = "1234", zone = "Bâtiment A", supervision_s = 3600 }]

[[devices.devices]]
id = "bouton-accueil"
kind = "panic_button"
zone = "Accueil"
webhook_token = "${BOUTON_TOKEN}"
"""
    )
    config = parse_site_config(text, environ={"BOUTON_TOKEN": "t0k3n"})
    assert config.devices.sia is not None and config.devices.sia.panels[0].account == "1234"
    assert config.devices.devices[0].webhook_token is not None
    assert "t0k3n" not in repr(config.devices.devices[0])
    _refused(text.replace('account = "1234"', 'account = "1234", key = "${K}"'),
             "AES key", environ={"BOUTON_TOKEN": "x", "K": "abcd"})  # fmt: skip
    _refused(text.replace('kind = "panic_button"', 'kind = "doorbell"'), "kind",
             environ={"BOUTON_TOKEN": "x"})  # fmt: skip


CAMERA_LESS = """
[[doors]]
id = "porte"
kind = "simulated"

[[readers]]
id = "badge"
kind = "wiegand-http"
token = "${T}"

[[readers]]
id = "compteur"
kind = "counter-mqtt"
port = 1884

[[gates]]
id = "personnel"
mode = "credential_only"
readers = ["badge", "compteur"]
door = "porte"
storage = ["site_database", "none"]
"""


def test_a_camera_less_gate_is_credential_only_with_a_badge_reader():
    config = parse_site_config(CAMERA_LESS, environ={"T": "tok"})
    gate = config.gate("personnel")
    assert gate.camera is None and gate.mode is GateMode.CREDENTIAL_ONLY
    counter = config.reader("compteur")
    assert isinstance(counter, CounterMqttReader) and (counter.host, counter.port) == (
        "127.0.0.1", 1884,
    )  # fmt: skip
    for mode in ("verification", "identification"):
        text = CAMERA_LESS.replace('mode = "credential_only"', f'mode = "{mode}"\n'
                                   'impact_assessment_ref = "AIPD-1"')  # fmt: skip
        message = _refused(text, f"mode '{mode}' is impossible without a camera",
                           'mode = "credential_only"', environ={"T": "tok"})  # fmt: skip
        assert "gates[0] (personnel)" in message


def test_camera_less_gate_needs_a_badge_reader_and_counters_watch_doors_and_airlocks():
    qr_only = CAMERA_LESS.replace('readers = ["badge", "compteur"]', 'readers = ["qr"]') + (
        '\n[[cameras]]\nid = "cam"\nkind = "webcam"\n\n'
        '[[readers]]\nid = "qr"\nkind = "qr-camera"\ncamera = "cam"\n'
    )
    _refused(qr_only, "reader 'qr' reads QR codes in a camera's frames",
             'camera = "cam"', environ={"T": "tok"})  # fmt: skip
    counter_only = CAMERA_LESS.replace('["badge", "compteur"]', '["compteur"]')
    _refused(counter_only, "no credential reader", environ={"T": "tok"})
    airlock = CAMERA_LESS.replace('door = "porte"', 'airlock = "sas"') + (
        '\n[[doors]]\nid = "ext"\nkind = "simulated"\n'
        '\n[[airlocks]]\nid = "sas"\nouter = "ext"\ninner = "porte"\n'
    )
    config = parse_site_config(airlock, environ={"T": "tok"})
    assert (
        config.gate("personnel").airlock == "sas" and "compteur" in config.gate("personnel").readers
    )


def test_a_counter_grace_is_validated():
    counter = parse_site_config(CAMERA_LESS, environ={"T": "tok"}).reader("compteur")
    assert isinstance(counter, CounterMqttReader) and counter.grace_s == 2.0
    late = CAMERA_LESS.replace("port = 1884", "port = 1884\ngrace_s = 0.5")
    counter = parse_site_config(late, environ={"T": "tok"}).reader("compteur")
    assert isinstance(counter, CounterMqttReader) and counter.grace_s == 0.5
    for bad in ("-1", "60", '"2 s"'):
        text = CAMERA_LESS.replace("port = 1884", f"port = 1884\ngrace_s = {bad}")
        assert "grace_s" in _refused(text, "readers[1]", environ={"T": "tok"})
    unknown = CAMERA_LESS.replace("port = 1884", "port = 1884\ngrace = 2")
    assert "grace" in _refused(unknown, "readers[1]", environ={"T": "tok"})
