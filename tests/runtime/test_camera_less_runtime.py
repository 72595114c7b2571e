"""The whole site process with a camera-less staff door: its lane runs (no camera), a
badge posted to the site's badge entry is decided and stored, a revoked one is refused
and becomes an incident signal, and the gate's health says it has no camera."""

from __future__ import annotations

import json
import time

from tests.services.conftest import make_settings

from seuil.adapters.auth import Argon2Hasher, TotpCodes
from seuil.bootstrap import build_site
from seuil.domain.credentials import RevocationReason, TemplateStorage
from seuil.domain.gate import Decision, DenyReason, ReferReason
from seuil.domain.people import PersonKind
from seuil.runtime.site_process import build_runtime
from seuil.services.accounts import AccountService
from seuil.site_config import parse_site_config

SITE = """
[[readers]]
id = "badge-personnel"
kind = "wiegand-http"
token = "${TOKEN}"

[[doors]]
id = "porte-personnel"
kind = "simulated"

[[gates]]
id = "personnel"
name = "Porte du personnel"
mode = "credential_only"
readers = ["badge-personnel"]
door = "porte-personnel"
storage = ["site_database", "none"]
"""


def test_a_camera_less_gate_runs_in_the_site_process(tmp_path, monkeypatch):
    monkeypatch.delenv("SEUIL_SITE_KEY", raising=False)
    site = build_site(make_settings(tmp_path))
    accounts = AccountService(site.uow, site.clock, Argon2Hasher(fast=True), TotpCodes())
    config = parse_site_config(SITE, environ={"TOKEN": "tok"})
    rt = build_runtime(site, config, accounts=accounts, data_dir=tmp_path / "data")
    try:
        assert rt.skipped == [] and [lane.gate_id for lane in rt.lanes] == ["personnel"]
        assert rt.web.gate_health is not None and rt.web.badge is not None
        assert rt.web.gate_health("personnel") == {"state": "no_camera"}
        staff = site.people.create("cpe", PersonKind.STAFF, "Durand", "Claire", group="ADM")
        site.credentials.issue_badge("cpe", staff.ref, "51001", TemplateStorage.NONE)
        lost = site.credentials.issue_badge("cpe", staff.ref, "51002", TemplateStorage.NONE)
        site.credentials.revoke("cpe", lost.credential.id, RevocationReason.LOST)
        rt.start_background()  # the lanes' thread: this one ticks on its own
        for expected, number in enumerate(("51001", "51002"), start=1):
            body = json.dumps({"number": number}).encode()
            assert rt.web.badge("personnel", "Bearer tok", body).status == 202
            deadline = time.monotonic() + 10
            while len(site.gate_access.recent("personnel")) < expected:
                assert time.monotonic() < deadline, f"badge {expected} was not decided"
                time.sleep(0.05)
        decided = sorted(site.gate_access.recent("personnel"), key=lambda d: d.at)
        assert [(d.decision, d.reason) for d in decided] == [
            (Decision.REFER, ReferReason.NON_BIOMETRIC),
            (Decision.DENY, DenyReason.REVOKED),
        ]
    finally:
        rt.stop()
