"""The retention purge: remove what is past its period, by data kind, audited by counts.

One run is one transaction: everything past its period goes, or nothing does. Then the
store is compacted so removed rows are gone from the database files too (SQLite's
secure delete and WAL truncation; PostgreSQL ``VACUUM FULL``). ``dry_run`` counts and
changes nothing. :class:`PurgeScheduler` runs the purge in the site process.

Gate events are removed in two steps: after ``gate_event_identified`` days they lose
the person and the credential (a random pseudonym stands in, for counts), after
``gate_event_statistics`` days they are deleted.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from seuil.domain.audit import AuditEvent
from seuil.domain.audit_actions import AuditAction
from seuil.domain.retention import DataKind, RetentionPolicy
from seuil.ports.clock import Clock
from seuil.ports.storage import UnitOfWork
from seuil.services.subject_requests import erase_person, open_incidents_naming

logger = logging.getLogger(__name__)

ACTOR = "system:retention"


class StorageCompactor(Protocol):
    """Makes removed rows unrecoverable from the files of the store; returns the kinds
    it could not finish (busy tables, rows still visible to a running transaction)."""

    def __call__(self, kinds: Collection[DataKind]) -> set[DataKind]: ...


@dataclass(frozen=True, slots=True)
class PurgeReport:
    at: datetime
    dry_run: bool
    counts: dict[str, int]  # what was (or would be) removed, by kind and step
    kept: dict[str, int] = field(default_factory=dict)  # legal exceptions, by reason

    @property
    def total(self) -> int:
        return sum(self.counts.values())


class PurgeService:
    def __init__(
        self,
        uow: Callable[[], UnitOfWork],
        clock: Clock,
        policy: RetentionPolicy,
        compactor: StorageCompactor | None = None,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self.policy = policy
        self._compactor = compactor
        self.pending_compaction: set[DataKind] = set()  # retried by the next run

    def run(self, dry_run: bool = False, actor: str = ACTOR) -> PurgeReport:
        now = self._clock.now()
        cut = self.policy.cutoff
        counts: dict[str, int] = {}
        kept: dict[str, int] = {}
        touched: set[DataKind] = set()
        with self._uow() as uow:
            store = uow.retention
            templates = store.templates_unused_since(cut(DataKind.TEMPLATE, now))
            photos = store.photos_unused_since(cut(DataKind.ENROLMENT_PHOTO, now))
            departed = store.departed_before(cut(DataKind.DEPARTED_PERSON, now).date())
            identified = cut(DataKind.GATE_EVENT_IDENTIFIED, now)
            statistics = cut(DataKind.GATE_EVENT_STATISTICS, now)
            audit_cutoff = cut(DataKind.AUDIT_ENTRY, now)
            incidents = store.resolved_incidents_before(cut(DataKind.INCIDENT, now))
            device_cutoff = cut(DataKind.DEVICE_LOG, now)
            if dry_run:
                counts[DataKind.INCIDENT] = len(incidents)
                counts[DataKind.DEVICE_LOG] = store.site_messages_before(
                    device_cutoff, delete=False
                )
                counts[DataKind.TEMPLATE] = len(templates)
                counts[DataKind.ENROLMENT_PHOTO] = len(photos)
                counts["gate_event_deleted"] = store.gate_events_before(statistics)
                counts["gate_event_pseudonymised"] = store.identified_gate_events(
                    identified
                ) - store.identified_gate_events(statistics)
                counts[DataKind.AUDIT_ENTRY] = uow.audit.purgeable(audit_cutoff)[0]
                counts[DataKind.DEPARTED_PERSON] = len(departed)
                uow.rollback()
                return PurgeReport(now, True, _named(counts))
            counts[DataKind.TEMPLATE] = sum(uow.templates.erase(ref) for ref in templates)
            counts[DataKind.ENROLMENT_PHOTO] = sum(uow.photos.erase(ref) for ref in photos)
            counts[DataKind.DEPARTED_PERSON] = 0
            counts[DataKind.INCIDENT] = store.delete_incidents(incidents)
            counts[DataKind.DEVICE_LOG] = store.site_messages_before(device_cutoff, delete=True)
            for ref in departed:
                person = uow.people.get(ref)
                if person is None or open_incidents_naming(uow, person):
                    kept["open_incidents"] = kept.get("open_incidents", 0) + 1
                    continue  # kept until the incident naming them is resolved
                erase_person(uow, ref, now, actor, "retention")
                counts[DataKind.DEPARTED_PERSON] += 1
            counts["gate_event_deleted"] = store.delete_gate_events(statistics)
            counts["gate_event_pseudonymised"] = store.pseudonymise_gate_events(identified)
            counts[DataKind.AUDIT_ENTRY] = uow.audit.purge_before(audit_cutoff, actor, now)
            named = _named(counts)
            uow.audit.append(
                AuditEvent(actor, AuditAction.RETENTION_PURGE, "",
                           "scheduled" if actor == ACTOR else "",
                           {"counts": named, "kept": kept,
                            "periods": {k.value: d for k, d in self.policy.days.items()}}),
                now,
            )  # fmt: skip
            uow.commit()
        touched = {kind for kind in DataKind if named.get(kind.value)}
        if named["gate_event_deleted"] or named["gate_event_pseudonymised"]:
            touched.add(DataKind.GATE_EVENT_STATISTICS)
        touched |= self.pending_compaction
        if touched and self._compactor is not None:
            self.pending_compaction = self._compactor(touched)
        logger.info("retention purge: %s", named)  # counts only
        return PurgeReport(now, False, named, kept)


def _named(counts: dict[str, int]) -> dict[str, int]:
    return {str(getattr(kind, "value", kind)): int(n) for kind, n in counts.items()}


class PurgeScheduler:
    """Runs ``service.run()`` at start and then every ``interval_s`` seconds, on a daemon
    thread, until :meth:`stop`. A failed run is logged (its error type, no data) and
    retried at the next interval; the site process keeps serving."""

    def __init__(self, service: PurgeService, clock: Clock, interval_s: float) -> None:
        if interval_s <= 0:
            raise ValueError("the purge interval must be positive")
        self._service = service
        self._clock = clock
        self._interval = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.runs = 0
        self.failures = 0
        self.last_report: PurgeReport | None = None
        self.last_run_at: datetime | None = None

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the purge scheduler is already running")
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="seuil-purge", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.run_once()
            self._stop.wait(self._interval)

    def run_once(self) -> None:
        self.last_run_at = self._clock.now()
        try:
            self.last_report = self._service.run()
        except Exception as error:  # the schedule survives one bad run
            self.failures += 1
            logger.warning("retention purge failed (%s); retried next interval",
                           type(error).__name__)  # fmt: skip
        finally:
            self.runs += 1
