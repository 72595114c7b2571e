"""The lanes built from a site file: a door lane, an airlock lane, badges, identification."""

from __future__ import annotations

import json

import pytest

from seuil.bootstrap import build_badge_endpoint, build_gate_lanes
from seuil.domain.accounts import Role
from seuil.domain.gate import GateMode
from seuil.gate.identification import GalleryIdentifier
from seuil.gate.lane_control import AirlockLane, DoorLane
from seuil.site_config import parse_site_config

SITE = """
[[cameras]]
id = "cam-a"
kind = "file"
path = "{video}"

[[cameras]]
id = "cam-b"
kind = "file"
path = "{video}"

[[readers]]
id = "qr-a"
kind = "qr-camera"
camera = "cam-a"

[[readers]]
id = "badge-b"
kind = "wiegand-http"
token = "${{BADGE_TOKEN}}"

[[doors]]
id = "porte-a"
kind = "simulated"

[[doors]]
id = "sas-ext"
kind = "simulated"

[[doors]]
id = "sas-int"
kind = "simulated"

[[airlocks]]
id = "sas"
outer = "sas-ext"
inner = "sas-int"

[[gates]]
id = "entree"
camera = "cam-a"
readers = ["qr-a"]
door = "porte-a"
mode = "identification"
impact_assessment_ref = "AIPD-2026-01"
storage = ["site_database"]
accept_fmr = "1e-4"

[[gates]]
id = "sas-admin"
camera = "cam-b"
readers = ["badge-b"]
airlock = "sas"
storage = ["site_database", "none"]
active_challenge = "blink"
"""


@pytest.mark.parametrize("site", ["sqlite"], indirect=True)
def test_lanes_from_the_site_file(site, shared):
    config = parse_site_config(SITE.format(video=shared / "video/obama.mp4"),
                               environ={"BADGE_TOKEN": "s3cret"})  # fmt: skip
    # identification starts only on the impact assessment the head of school recorded
    site.impact_assessments.record("proviseure", Role.HEAD_OF_SCHOOL, "AIPD-2026-01")
    lanes, skipped = build_gate_lanes(
        site, config, lambda d: None, site_mode=lambda: "normal", heightened=lambda: False
    )
    assert skipped == []
    entree, sas = lanes
    assert isinstance(entree.doors, DoorLane) and entree.pipeline._door is entree.doors
    assert entree.pipeline.options.mode is GateMode.IDENTIFICATION
    assert isinstance(entree.pipeline._identifier, GalleryIdentifier)
    assert entree.pipeline.badges is None
    assert isinstance(sas.doors, AirlockLane) and sas.pipeline._door is sas.doors
    assert sas.pipeline.badges is not None
    endpoint = build_badge_endpoint(config, lanes)
    body = json.dumps({"number": "4242"}).encode()
    assert endpoint.handle_badge("sas-admin", "Bearer s3cret", body).status == 202
    assert endpoint.handle_badge("entree", "Bearer s3cret", body).status == 404
    assert sas.pipeline.badges.take() == "4242"
