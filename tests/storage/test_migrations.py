"""The packaged Alembic migrations build exactly ``tables.metadata``, on both back-ends."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from typer.testing import CliRunner

from seuil.adapters.storage import SqlUnitOfWork, create_storage_engine, upgrade, verify_audit
from seuil.adapters.storage.engine import default_database_url
from seuil.adapters.storage.migrate import MIGRATIONS_DIR, alembic_config, current_revision
from seuil.adapters.storage.tables import metadata
from seuil.cli.db_cmd import db_app
from seuil.domain.audit import GENESIS, AuditEvent


def _diff(engine: sa.Engine) -> list[object]:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))


def _head() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_upgrade_builds_exactly_the_tables(empty_url: str) -> None:
    upgrade(empty_url)
    engine = create_storage_engine(empty_url)
    try:
        assert _diff(engine) == []
        assert current_revision(engine) == _head() == "0005"
        names = set(sa.inspect(engine).get_table_names())
        assert names == set(metadata.tables) | {"alembic_version"}
    finally:
        engine.dispose()


def test_the_comparison_does_see_differences(empty_url: str) -> None:
    """Guard against a comparison that always says 'no diff'."""
    upgrade(empty_url)
    engine = create_storage_engine(empty_url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP INDEX ix_audit_log_target")
            conn.exec_driver_sql("CREATE TABLE stray (id INTEGER PRIMARY KEY)")
        kinds = sorted(str(d[0]) for d in _diff(engine) if isinstance(d, tuple))
        assert kinds == ["add_index", "remove_table"]
    finally:
        engine.dispose()


def test_upgrade_is_idempotent_and_ready_to_use(empty_url: str) -> None:
    upgrade(empty_url)
    upgrade(empty_url)
    engine = create_storage_engine(empty_url)
    try:
        with SqlUnitOfWork(engine) as uow:
            anchor = uow.audit.anchor()
            assert anchor is not None and (anchor.last_seq, anchor.last_hash) == (0, GENESIS)
            assert verify_audit(uow).ok
            from datetime import UTC, datetime

            uow.audit.append(AuditEvent("system", "db.upgrade"), datetime.now(UTC))
            uow.commit()
        with SqlUnitOfWork(engine, read_only=True) as uow:
            assert verify_audit(uow).entries == 1
    finally:
        engine.dispose()


def test_downgrade_to_base_removes_everything(empty_url: str) -> None:
    upgrade(empty_url)
    engine = create_storage_engine(empty_url)
    try:
        with engine.begin() as conn:
            command.downgrade(alembic_config(conn), "base")
        assert set(sa.inspect(engine).get_table_names()) <= {"alembic_version"}
        assert current_revision(engine) is None
    finally:
        engine.dispose()


def test_the_migration_scripts_ship_inside_the_package() -> None:
    assert (MIGRATIONS_DIR / "env.py").is_file()
    assert (MIGRATIONS_DIR / "script.py.mako").is_file()
    assert (MIGRATIONS_DIR / "versions" / "0001_initial.py").is_file()
    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    if pyproject.is_file():  # the package data declaration that ships them
        assert "migrations/versions/*.py" in pyproject.read_text(encoding="utf-8")


def test_cli_db_upgrade(empty_url: str) -> None:
    result = CliRunner().invoke(db_app, ["upgrade", "--url", empty_url], env={"SEUIL_LANG": "en"})
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Database up to date")
    engine = create_storage_engine(empty_url)
    try:
        assert current_revision(engine) == "0005"
    finally:
        engine.dispose()


def test_cli_db_upgrade_uses_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "folder" / "seuil.sqlite3"
    result = CliRunner().invoke(
        db_app, ["upgrade"], env={"SEUIL_DATABASE_URL": f"sqlite:///{path}", "SEUIL_LANG": "fr"}
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Base à jour")
    assert path.is_file()


def test_default_database_url() -> None:
    assert default_database_url({"SEUIL_DATABASE_URL": " postgresql+psycopg://h/db "}) == (
        "postgresql+psycopg://h/db"
    )
    default = default_database_url({})
    assert default.startswith("sqlite:///") and default.endswith("seuil.sqlite3")


@pytest.mark.parametrize("password", ["s3cr%t"])
def test_urls_are_shown_without_password(password: str) -> None:
    from seuil.adapters.storage import safe_url

    shown = safe_url(f"postgresql+psycopg://seuil:{password}@db.lycee.fr:5432/seuil")
    assert password not in shown and "***" in shown
