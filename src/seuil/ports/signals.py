"""Where device signals go: the incident engine, or a buffer in front of it.

A :class:`SignalSink` takes one :class:`~seuil.domain.incidents.Signal` and stores it
durably before returning. It raises
:class:`~seuil.domain.errors.StorageUnavailableError` when it cannot (database down):
the caller then keeps the signal (on disk) and hands it over again later, so a signal
received during an outage is never lost. Handing the same signal twice is harmless:
deduplication folds it into the incident it already joined.
"""

from __future__ import annotations

from typing import Protocol

from seuil.domain.incidents import Signal


class SignalSink(Protocol):
    # ``object``: a sink may return something (the engine returns the incident the
    # signal opened or joined); callers ignore it.
    def receive(self, signal: Signal) -> object: ...
