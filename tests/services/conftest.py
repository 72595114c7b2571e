"""A real site (database, key directory, real crypto) per test, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from tests.storage.conftest import postgres  # noqa: F401 (fixture: one schema per test)

from seuil.bootstrap import Site, build_site
from seuil.settings import KeySettings, Settings, SiteSettings, StorageSettings


def make_settings(tmp_path, site_id="0830042X", url=None):  # type: ignore[no-untyped-def]
    return Settings(
        site=SiteSettings(id=site_id, name="Lycée test"),
        database=StorageSettings(url=url or f"sqlite:///{tmp_path / 'site.sqlite3'}"),
        keys=KeySettings(dir=tmp_path / "keys"),
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def site(request, tmp_path, monkeypatch) -> Site:  # type: ignore[no-untyped-def]
    """The same use cases on both back-ends (PostgreSQL: a throwaway schema)."""
    monkeypatch.delenv("SEUIL_SITE_KEY", raising=False)
    schema = None
    url = None
    if request.param == "postgresql":
        schemas = request.getfixturevalue("postgres")
        schema, url = schemas.create()
    s = build_site(make_settings(tmp_path, url=url))
    yield s
    s.close()
    if schema is not None:
        schemas.drop(schema)


@pytest.fixture
def sqlite_site(tmp_path, monkeypatch) -> Site:  # type: ignore[no-untyped-def]
    """For checks that read the SQLite file itself."""
    monkeypatch.delenv("SEUIL_SITE_KEY", raising=False)
    s = build_site(make_settings(tmp_path))
    yield s
    s.close()
