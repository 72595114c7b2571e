"""An unreachable or unusable database gives a clear StorageUnavailableError, quickly."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from seuil.adapters.storage import SqlUnitOfWork, create_storage_engine, upgrade
from seuil.cli.audit_cmd import audit_app
from seuil.domain.errors import ConfigurationError, StorageUnavailableError
from seuil.domain.people import Person
from seuil.ports.storage import PeopleQuery


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again when the block ends


def _use(url: str, **engine_options: float) -> None:
    engine = create_storage_engine(url, **engine_options)
    try:
        with SqlUnitOfWork(engine) as uow:
            uow.people.count(PeopleQuery())
    finally:
        engine.dispose()


def test_closed_postgresql_port_is_a_clear_error_not_a_traceback() -> None:
    port = _closed_port()
    url = f"postgresql+psycopg://seuil:hunter2@127.0.0.1:{port}/seuil"
    started = time.monotonic()
    with pytest.raises(StorageUnavailableError) as caught:
        _use(url)
    assert time.monotonic() - started < 5
    message = caught.value.message
    assert f"127.0.0.1:{port}" in message
    assert "hunter2" not in message and "***" in message
    assert "refused" in message.lower() or "connect" in message.lower()
    assert "Traceback" not in message and "\n" not in message
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_an_unanswering_host_times_out() -> None:
    # 192.0.2.0/24 is TEST-NET-1: never routed. Either the network says so at once or
    # the connect timeout (1 s here) ends the wait; it never hangs.
    started = time.monotonic()
    with pytest.raises(StorageUnavailableError, match=r"192\.0\.2\.1"):
        _use("postgresql+psycopg://postgres@192.0.2.1:5432/test", connect_timeout=1)
    assert time.monotonic() - started < 10


def test_upgrade_and_cli_on_an_unreachable_server() -> None:
    url = f"postgresql+psycopg://postgres@127.0.0.1:{_closed_port()}/test"
    with pytest.raises(StorageUnavailableError):
        upgrade(url)
    result = CliRunner().invoke(audit_app, ["verify", "--url", url])
    assert isinstance(result.exception, StorageUnavailableError)  # main() maps it to exit 9
    assert result.exception.exit_code == 9


def test_sqlite_in_an_impossible_place(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(StorageUnavailableError, match="cannot create the folder"):
        create_storage_engine(f"sqlite:///{blocker / 'sub' / 'seuil.sqlite3'}")


def test_sqlite_file_that_is_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "garbage.sqlite3"
    path.write_bytes(b"this is not a database file at all" * 200)
    with pytest.raises(StorageUnavailableError, match="not a database"):
        _use(f"sqlite:///{path}")


def test_missing_schema_says_to_upgrade(empty_url: str) -> None:
    with pytest.raises(StorageUnavailableError, match="seuil db upgrade"):
        _use(empty_url)


@pytest.mark.parametrize(
    "url", ["not a url", "mysql://localhost/seuil", "postgresql+nodriver://localhost/x"]
)
def test_bad_urls_are_configuration_errors(url: str) -> None:
    with pytest.raises(ConfigurationError):
        create_storage_engine(url)


def test_a_busy_sqlite_writer_gives_up_after_the_busy_timeout(
    tmp_path: Path, make_person: Callable[..., Person]
) -> None:
    from seuil.adapters.storage.tables import metadata

    url = f"sqlite:///{tmp_path / 'busy.sqlite3'}"
    holder = create_storage_engine(url)
    metadata.create_all(holder)
    impatient = create_storage_engine(url, busy_timeout=0.2)
    try:
        with SqlUnitOfWork(holder) as writer:
            writer.people.add(make_person())
            started = time.monotonic()
            with pytest.raises(StorageUnavailableError, match="locked"), SqlUnitOfWork(impatient):
                pass
            assert time.monotonic() - started < 3
            with SqlUnitOfWork(impatient, read_only=True) as reader:  # readers never wait
                assert reader.people.count(PeopleQuery()) == 0
            writer.commit()
    finally:
        holder.dispose()
        impatient.dispose()


def test_postgresql_connection_killed_mid_unit(
    postgres_engine: sa.Engine, make_person: Callable[..., Person]
) -> None:
    engine = postgres_engine
    person = make_person()
    with pytest.raises(StorageUnavailableError), SqlUnitOfWork(engine) as uow:
        uow.people.add(person)
        pid = uow._db._conn().exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
        killer = threading.Thread(target=_terminate, args=(engine, pid))
        killer.start()
        killer.join()
        uow.people.get(person.ref)
    with SqlUnitOfWork(engine) as uow:  # the pool recovers; nothing was applied
        assert uow.people.get(person.ref) is None


def _terminate(engine: sa.Engine, pid: int) -> None:
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        conn.commit()
