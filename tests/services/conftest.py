"""A real site (SQLite file, key directory, real crypto) per test, in a temp folder."""

from __future__ import annotations

import pytest

from seuil.bootstrap import Site, build_site
from seuil.settings import KeySettings, Settings, SiteSettings, StorageSettings


def make_settings(tmp_path, site_id="0830042X", url=None):  # type: ignore[no-untyped-def]
    return Settings(
        site=SiteSettings(id=site_id, name="Lycée test"),
        database=StorageSettings(url=url or f"sqlite:///{tmp_path / 'site.sqlite3'}"),
        keys=KeySettings(dir=tmp_path / "keys"),
    )


@pytest.fixture
def site(tmp_path, monkeypatch) -> Site:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("SEUIL_SITE_KEY", raising=False)
    s = build_site(make_settings(tmp_path))
    yield s
    s.close()
