"""Committed incidents kept in memory, keyed by (id, version), for the signal path.

Every signal is matched against the unresolved incidents (deduplication, correlation),
so each one used to reload every signal of every open incident: a panel that repeats
one alarm a thousand times made each new signal slower than the last. An incident row
carries a ``version`` that every update bumps, and a stored incident never changes
without it; so an :class:`~seuil.domain.incidents.Incident` read or written at a given
version, once *committed*, is that version's content for good. Only committed content
enters the cache (a transaction's own writes wait for its commit: a rolled-back write
must never be served), and a miss simply reads the database.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict

import sqlalchemy as sa

from seuil.domain.incidents import Incident

_MAX_ENTRIES = 4096


class IncidentCache:
    def __init__(self, max_entries: int = _MAX_ENTRIES) -> None:
        self._items: OrderedDict[tuple[str, int], Incident] = OrderedDict()
        self._lock = threading.Lock()
        self._max = max_entries
        self.hits = 0
        self.misses = 0

    def get(self, incident_id: str, version: int) -> Incident | None:
        with self._lock:
            found = self._items.get((incident_id, version))
            if found is None:
                self.misses += 1
                return None
            self._items.move_to_end((incident_id, version))
            self.hits += 1
            return found

    def put(self, incident: Incident, version: int) -> None:
        with self._lock:
            self._items[(incident.id, version)] = incident
            self._items.move_to_end((incident.id, version))
            while len(self._items) > self._max:
                self._items.popitem(last=False)


_CACHES: weakref.WeakKeyDictionary[sa.Engine, IncidentCache] = weakref.WeakKeyDictionary()
_CACHES_LOCK = threading.Lock()


def cache_for(engine: sa.Engine) -> IncidentCache:
    """One cache per database engine (a process serves one site database)."""
    with _CACHES_LOCK:
        cache = _CACHES.get(engine)
        if cache is None:
            cache = _CACHES[engine] = IncidentCache()
        return cache
