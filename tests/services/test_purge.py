"""Retention purge with an injected clock, on SQLite and PostgreSQL: data past its period
is gone from the database and from its files; the audit chain still verifies."""

from __future__ import annotations

import secrets
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.engine import make_url
from tests.services.conftest import make_settings
from tests.storage.conftest import POSTGRES_URL

from seuil.adapters.storage import tables as t
from seuil.adapters.storage import verify_audit
from seuil.bootstrap import Site
from seuil.domain.audit import AuditEvent
from seuil.domain.credentials import Credential, CredentialKind, TemplateStorage
from seuil.domain.errors import AuditChainBrokenError
from seuil.domain.gate import Decision, GateDecision
from seuil.domain.people import Person, PersonKind, PersonStatus, new_person_ref
from seuil.domain.retention import DataKind, RetentionPolicy
from seuil.ports.storage import StoredTemplate
from seuil.services.purge import PurgeScheduler
from seuil.settings import RetentionSettings, Settings

T0 = datetime(2025, 9, 1, 8, 0, tzinfo=UTC)


class Clock:
    def __init__(self, at: datetime = T0) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at

    def advance(self, days: float) -> None:
        self.at += timedelta(days=days)


@pytest.fixture(params=["sqlite", "postgresql"])
def site(request, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    """The site on SQLite, or on a PostgreSQL database of its own.

    Its own database, not a schema of the shared one: any transaction another client
    leaves open in the same database keeps old row versions alive (MVCC), and VACUUM
    rightly keeps them; here that would make the file checks depend on the neighbours.
    """
    from seuil.bootstrap import build_site

    monkeypatch.delenv("SEUIL_SITE_KEY", raising=False)
    url = name = None
    admin = None
    if request.param == "postgresql":
        admin = request.getfixturevalue("postgres").admin
        name = f"seuil_purge_{secrets.token_hex(4)}"
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    s = build_site(make_settings(tmp_path, url=url))
    yield s
    s.close()
    if admin is not None:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def clock(site: Site) -> Clock:
    c = Clock()
    site.set_clock(c)
    return c


def marker(label: str) -> str:
    """A unique text to look for in the database files afterwards."""
    return f"{label}{secrets.token_hex(6).upper()}"[:32]


def add_person(site: Site, clock: Clock, *, status: PersonStatus = PersonStatus.ACTIVE,
               leave: date | None = None, name: str = "Durand") -> str:  # fmt: skip
    ref = new_person_ref()
    person = Person(ref, PersonKind.PUPIL, name, "Zoé", external_id=secrets.token_hex(4),
                    status=status, leave_date=leave, updated_at=clock.now())  # fmt: skip
    with site.uow() as uow:
        uow.people.add(person)
        uow.commit()
    return ref


def add_biometrics(site: Site, ref: str, clock: Clock, blob: bytes, valid_days: int) -> None:
    now = clock.now()
    with site.uow() as uow:
        uow.credentials.add(Credential(
            secrets.token_hex(16), ref, "0830042X", CredentialKind.QR,
            TemplateStorage.SITE_DATABASE, now, now + timedelta(days=valid_days), now,
        ))  # fmt: skip
        uow.templates.put(StoredTemplate(ref, TemplateStorage.SITE_DATABASE, blob, "k1", now))
        uow.photos.put(ref, blob[::-1], now)
        uow.commit()


def add_event(site: Site, at: datetime, person_ref: str | None, credential: str | None) -> None:
    with site.uow() as uow:
        uow.gate_events.add(GateDecision("entree-nord", at, Decision.GRANT,
                                         credential_id=credential, person_ref=person_ref,
                                         match_score=0.91))  # fmt: skip
        uow.commit()


def audit(site: Site, at: datetime, reason: str) -> None:
    with site.uow() as uow:
        uow.audit.append(AuditEvent("cpe", "person.read", "P-TEST", reason), at)
        uow.commit()


def file_bytes(site: Site) -> bytes:
    """Every byte the database keeps on disk for seuil's tables, once the compaction the
    last purge could not finish (a busy table) has been retried, as the next run would."""
    for _ in range(20):
        if not site.purge.pending_compaction:
            break
        time.sleep(0.5)
        site.purge.pending_compaction = site.compact(site.purge.pending_compaction)
    assert not site.purge.pending_compaction, "compaction kept failing"
    with site.db.connect() as conn:
        if conn.dialect.name == "sqlite":
            path = Path(str(site.db.url.database))
            wal = path.with_name(path.name + "-wal")
            return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
        auto = conn.execution_options(isolation_level="AUTOCOMMIT")
        auto.exec_driver_sql("CHECKPOINT")  # the table files on disk, not the buffers
        # Every table and index file of the schema (no TOAST: these rows are small).
        paths = auto.execute(sa.text(
            "SELECT pg_relation_filepath(c.oid) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'i')"
        )).scalars()  # fmt: skip
        data = b""
        for path in list(paths):
            data += bytes(auto.execute(sa.text("SELECT pg_read_binary_file(:p)"),
                                       {"p": path}).scalar_one())  # fmt: skip
        return data


def test_biometrics_go_after_the_last_credential_ends(site: Site, clock: Clock) -> None:
    old, current = add_person(site, clock), add_person(site, clock)
    old_blob = marker("TPLOLD").encode() * 4
    add_biometrics(site, old, clock, old_blob, valid_days=10)
    add_biometrics(site, current, clock, marker("TPLNEW").encode() * 4, valid_days=300)
    assert old_blob in file_bytes(site)
    clock.advance(10 + 31)  # the card ended 31 days ago: past the 30-day default
    report = site.purge.run()
    assert report.counts["template"] == 1 and report.counts["enrolment_photo"] == 1
    with site.uow() as uow:
        assert uow.templates.get(old) is None and uow.photos.get(old) is None
        assert uow.templates.get(current) is not None and uow.photos.get(current) is not None
    data = file_bytes(site)
    assert old_blob not in data and old_blob[::-1] not in data


def test_gate_events_are_pseudonymised_then_deleted(site: Site, clock: Clock) -> None:
    person, credential = marker("PREF"), marker("CRED")
    start = clock.now()
    add_event(site, start, person, credential)  # will be deleted (past 365 days)
    add_event(site, start + timedelta(days=350), person, credential)  # pseudonymised
    add_event(site, start + timedelta(days=399), person, credential)  # kept as is
    assert person.encode() in file_bytes(site)
    clock.advance(400)
    dry = site.purge.run(dry_run=True)
    assert dry.dry_run and dry.counts["gate_event_deleted"] == 1
    assert dry.counts["gate_event_pseudonymised"] == 1
    with site.uow() as uow:
        assert len(uow.gate_events.for_person(person)) == 3  # the dry run changed nothing
    report = site.purge.run()
    assert report.counts["gate_event_deleted"] == 1
    assert report.counts["gate_event_pseudonymised"] == 1
    with site.uow() as uow:
        events = uow.gate_events.recent(limit=10)
        assert [e.person_ref == person for e in events] == [True, False]
        pseudonymised = events[1]
        assert pseudonymised.person_ref is not None and pseudonymised.person_ref.startswith("X-")
        assert pseudonymised.credential_id is None and pseudonymised.match_score == 0.91
    data = file_bytes(site)
    # Only the kept event (day 399) still names the person and its credential.
    assert data.count(person.encode()) <= 2 and data.count(credential.encode()) <= 1
    clock.advance(40)  # now the day-399 event is 41 days old too
    site.purge.run()
    data = file_bytes(site)
    assert person.encode() not in data and credential.encode() not in data


def test_audit_purge_keeps_the_chain_verifiable(site: Site, clock: Clock) -> None:
    old_reason = marker("OLDREASON")
    audit(site, clock.now(), old_reason)
    audit(site, clock.now(), old_reason)
    clock.advance(300)
    audit(site, clock.now(), "recent")
    assert old_reason.encode() in file_bytes(site)
    clock.advance(100)  # the first two are 400 days old, the third 100
    report = site.purge.run()
    assert report.counts["audit_entry"] == 2
    with site.reader() as uow:
        verdict = verify_audit(uow)
        assert verdict.ok, verdict
        checkpoint = uow.audit.checkpoint()
        assert checkpoint is not None and checkpoint.through_seq == 2
        actions = [e.action for e in uow.audit.entries()]
    assert actions == ["person.read", "audit.purge", "retention.purge"]
    assert old_reason.encode() not in file_bytes(site)
    # A second run later purges across the first checkpoint and still verifies.
    clock.advance(400)
    site.purge.run()
    with site.reader() as uow:
        assert verify_audit(uow).ok
        assert [e.action for e in uow.audit.entries()] == ["audit.purge", "retention.purge"]


def test_a_forged_checkpoint_or_a_deleted_entry_is_detected(site: Site, clock: Clock) -> None:
    for reason in ("a", "b", "c"):
        audit(site, clock.now(), reason)
    clock.advance(400)
    audit(site, clock.now(), "d")
    site.purge.run()
    with site.db.begin() as conn:  # someone deletes more, and moves the checkpoint to hide it
        first = conn.execute(sa.select(sa.func.min(t.audit_log.c.seq))).scalar_one()
        row = conn.execute(sa.select(t.audit_log).where(t.audit_log.c.seq == first)).one()
        conn.execute(sa.delete(t.audit_log).where(t.audit_log.c.seq == first))
        conn.execute(sa.update(t.audit_checkpoint).values(through_seq=first,
                                                          through_hash=row.hash))  # fmt: skip
    with site.reader() as uow:
        verdict = verify_audit(uow)
    assert not verdict.ok and "checkpoint" in verdict.problem


def test_a_broken_chain_is_never_purged_out_of_sight(site: Site, clock: Clock) -> None:
    audit(site, clock.now(), "one")
    audit(site, clock.now(), "two")
    with site.db.begin() as conn:
        conn.execute(sa.update(t.audit_log).where(t.audit_log.c.seq == 1).values(reason="edited"))
    clock.advance(400)
    with pytest.raises(AuditChainBrokenError, match="nothing was purged"):
        site.purge.run()
    with site.reader() as uow:
        assert len(uow.audit.entries()) == 2  # the run was rolled back whole


def test_departed_people_are_erased_after_their_period(site: Site, clock: Clock) -> None:
    name = marker("Departi")
    gone = add_person(site, clock, status=PersonStatus.LEFT, leave=T0.date(), name=name)
    recent = add_person(site, clock, status=PersonStatus.LEFT,
                        leave=(T0 + timedelta(days=200)).date())  # fmt: skip
    assert name.encode() in file_bytes(site)
    clock.advance(366)
    report = site.purge.run()
    assert report.counts["departed_person"] == 1
    with site.uow() as uow:
        assert uow.people.get(gone) is None and uow.people.get(recent) is not None
    assert name.encode() not in file_bytes(site)


def test_every_run_is_audited_with_counts_only(site: Site, clock: Clock) -> None:
    person = marker("PREF")
    add_event(site, clock.now(), person, None)
    clock.advance(400)
    site.purge.run()
    with site.reader() as uow:
        entry = uow.audit.latest(1, "retention.purge")[0]
    assert entry.details["counts"]["gate_event_deleted"] == 1
    assert entry.details["periods"]["gate_event_identified"] == 30
    assert person not in str(entry.details)


def test_the_periods_cannot_exceed_their_lawful_bounds(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError, match=r"exceeds the lawful maximum of 92 days"):
        RetentionSettings(gate_event_identified=120)
    with pytest.raises(ValidationError, match="cannot be shorter"):
        RetentionSettings(gate_event_identified=60, gate_event_statistics=30)
    monkeypatch.setenv("SEUIL_RETENTION__INCIDENT_SNAPSHOT", "45")
    with pytest.raises(ValidationError, match=r"L\. 252-5"):
        Settings()
    monkeypatch.setenv("SEUIL_RETENTION__INCIDENT_SNAPSHOT", "3")
    assert Settings().retention.policy().days[DataKind.INCIDENT_SNAPSHOT] == 3
    assert RetentionPolicy().period(DataKind.AUDIT_ENTRY) == timedelta(days=365)


def test_a_shorter_configured_period_is_applied(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from seuil.bootstrap import build_site

    monkeypatch.delenv("SEUIL_SITE_KEY", raising=False)
    settings = make_settings(tmp_path).model_copy(
        update={"retention": RetentionSettings(gate_event_identified=2, gate_event_statistics=5)}
    )
    site = build_site(settings)
    try:
        clock = Clock()
        site.set_clock(clock)
        add_event(site, clock.now(), "P-SHORT", None)
        clock.advance(6)
        assert site.purge.run().counts["gate_event_deleted"] == 1
    finally:
        site.close()


def test_the_scheduler_runs_in_the_background_and_stops(site: Site, clock: Clock) -> None:
    add_event(site, clock.now(), "P-SCHED", None)
    clock.advance(400)
    scheduler = PurgeScheduler(site.purge, clock, interval_s=0.05)
    scheduler.start()
    deadline = time.monotonic() + 20
    while scheduler.runs < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    scheduler.stop()
    assert scheduler.runs >= 2 and scheduler.failures == 0
    assert not any(th.name == "seuil-purge" for th in threading.enumerate())
    with site.reader() as uow:
        assert uow.gate_events.recent() == []


def test_a_failing_run_does_not_stop_the_schedule(site: Site, clock: Clock) -> None:
    class Failing:
        def run(self) -> None:
            raise RuntimeError("database down")

    scheduler = PurgeScheduler(Failing(), clock, interval_s=0.01)  # type: ignore[arg-type]
    scheduler.start()
    deadline = time.monotonic() + 20
    while scheduler.failures < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    scheduler.stop()
    assert scheduler.failures >= 2 and scheduler.last_report is None


def test_a_busy_table_is_not_waited_for_but_retried(site: Site, clock: Clock) -> None:
    """VACUUM FULL needs an exclusive lock: behind a long reader it gives up quickly (the
    gates must go on writing events) and the next run compacts it."""
    from seuil.adapters.storage.retention import compact_tables

    if site.db.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: SQLite's secure delete needs no table rewrite")
    add_event(site, clock.now(), marker("BUSY"), None)
    clock.advance(400)
    reader = site.db.connect()
    try:
        reader.execute(sa.select(sa.func.count()).select_from(t.gate_events))  # holds a lock
        started = time.monotonic()
        assert compact_tables(site.db, {DataKind.GATE_EVENT_STATISTICS}, lock_timeout_s=0.3) == {
            DataKind.GATE_EVENT_STATISTICS
        }
        assert time.monotonic() - started < 5
        site.purge._compactor = lambda kinds: compact_tables(site.db, kinds, lock_timeout_s=0.3)
        site.purge.run()
        assert site.purge.pending_compaction == {DataKind.GATE_EVENT_STATISTICS}
    finally:
        reader.close()
    clock.advance(1)
    report = site.purge.run()  # nothing new to remove, but the pending table is compacted
    assert report.total == 0 and site.purge.pending_compaction == set()


def test_resolved_incidents_and_site_messages_go_after_their_period(
    site: Site, clock: Clock
) -> None:
    from tests.services.test_subject_requests import open_incident

    from seuil.domain.notifications import Notification

    old_note = marker("OLDNOTE")
    resolved = open_incident(site, clock, "bouton hall", note=old_note)
    still_open = open_incident(site, clock, "bouton CDI")
    with site.uow() as uow:
        uow.notifications.add(Notification.new("", "email", "cpe@lycee.fr", "PPMS",
                                               marker("SITEMSG"), clock.now()))  # fmt: skip
        uow.commit()
    assert old_note.encode() in file_bytes(site)
    clock.advance(400)
    dry = site.purge.run(dry_run=True)
    assert dry.counts["incident"] == 1 and dry.counts["device_log"] == 1
    report = site.purge.run()
    assert report.counts["incident"] == 1 and report.counts["device_log"] == 1
    with site.reader() as uow:
        assert uow.incidents.get(resolved) is None and uow.incidents.get(still_open) is not None
        assert uow.notifications.recent() == []
    assert old_note.encode() not in file_bytes(site)


def test_a_departed_person_named_by_an_open_incident_is_kept(site: Site, clock: Clock) -> None:
    from tests.services.test_subject_requests import open_incident

    gone = add_person(site, clock, status=PersonStatus.LEFT, leave=T0.date())
    incident_id = open_incident(site, clock, f"tailgating person={gone}")
    clock.advance(400)
    report = site.purge.run()
    assert report.counts["departed_person"] == 0 and report.kept == {"open_incidents": 1}
    site.incidents.acknowledge(incident_id, "cpe")
    site.incidents.resolve(incident_id, "cpe", "réglé")
    assert site.purge.run().counts["departed_person"] == 1
