"""Where device signals go: the incident engine, or a buffer in front of it.

A :class:`SignalSink` takes one :class:`~seuil.domain.incidents.Signal` and stores it
durably before returning. It raises
:class:`~seuil.domain.errors.StorageUnavailableError` when it cannot (database down):
the caller then keeps the signal (on disk) and hands it over again later, so a signal
received during an outage is never lost. Handing the same signal twice is harmless:
deduplication folds it into the incident it already joined.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from seuil.domain.incidents import Signal


class SignalSink(Protocol):
    # ``object``: a sink may return something (the engine returns the incident the
    # signal opened or joined); callers ignore it.
    def receive(self, signal: Signal) -> object: ...


@runtime_checkable
class BatchSignalSink(SignalSink, Protocol):
    """A sink that can also store many signals at once (the incident engine): the same
    outcome as handing them one by one, in order, all applied or none. A disk buffer
    replaying a backlog uses it to pay one transaction per batch, not per signal."""

    def receive_many(self, signals: Sequence[Signal]) -> Sequence[object]: ...
