"""Gate tests use the same real site fixtures as the use-case tests."""

from tests.services.conftest import make_settings, postgres, site, sqlite_site  # noqa: F401
