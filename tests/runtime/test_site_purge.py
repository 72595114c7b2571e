"""The site process runs the retention purge by itself, and stops it with the site."""

from __future__ import annotations

import threading
import time

from tests.services.conftest import make_settings

from seuil.adapters.auth import Argon2Hasher, TotpCodes
from seuil.bootstrap import build_site
from seuil.runtime.site_process import build_runtime
from seuil.services.accounts import AccountService


def test_the_site_process_purges_on_its_own(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("SEUIL_SITE_KEY", raising=False)
    site = build_site(make_settings(tmp_path))
    accounts = AccountService(site.uow, site.clock, Argon2Hasher(fast=True), TotpCodes())
    runtime = build_runtime(site, None, accounts=accounts, data_dir=tmp_path / "data")
    runtime.start_background()
    try:
        assert runtime.purge is not None
        deadline = time.monotonic() + 30
        while runtime.purge.runs < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert runtime.purge.runs == 1 and runtime.purge.failures == 0  # then every 6 h
        with site.reader() as uow:
            assert uow.audit.latest(1, "retention.purge")[0].actor == "system:retention"
    finally:
        runtime.stop()
    assert not any(t.name == "seuil-purge" for t in threading.enumerate())
