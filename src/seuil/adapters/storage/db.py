"""The connection a unit of work lends to its repositories, with error translation."""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from seuil.adapters.storage.errors import storage_errors

if TYPE_CHECKING:
    from seuil.adapters.storage.incident_cache import IncidentCache
    from seuil.domain.incidents import Incident

# Letters NFKD does not decompose, spelled the way people type them.
_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae", "ø": "o", "ł": "l", "đ": "d", "ß": "ss"})


def search_key(text: str) -> str:
    """Case-, accent- and punctuation-insensitive form of a name: ``"Zoë D'Arc-Œil"`` ->
    ``"zoe d arc oeil"``. Stored beside the names and applied to search text alike."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_LIGATURES))
    kept = "".join(c if c.isalnum() else " " for c in decomposed if not unicodedata.combining(c))
    return " ".join(kept.split())


class Db:
    """Executes statements on the unit of work's current connection.

    Every driver error leaves as a seuil error (see :mod:`.errors`). Using a repository
    outside its ``with`` block is a programming error and says so.
    """

    def __init__(self) -> None:
        self.connection: sa.Connection | None = None
        # Set when a blob was erased or overwritten: the commit then truncates the WAL.
        self.erased_blobs = False
        # The audit head (seq, hash) once this transaction has locked it; see audit_log.
        self.audit_head: tuple[int, str] | None = None
        self.anchor_stale = False  # audit_head is ahead of the anchor row
        # The version of each incident read in this transaction (optimistic check).
        self.incident_versions: dict[str, int] = {}
        # (signals, transitions) stored for each incident read or written here.
        self.incident_lengths: dict[str, tuple[int, int]] = {}
        # Incidents this transaction wrote, for the cache once (and only if) it commits.
        self.incidents_written: dict[str, tuple[int, Incident]] = {}
        self.incident_cache: IncidentCache | None = None

    def end_transaction(self) -> None:
        """Forget what belonged to the transaction that just ended."""
        self.erased_blobs = False
        self.audit_head = None
        self.anchor_stale = False
        self.incident_versions = {}
        self.incident_lengths = {}
        self.incidents_written = {}

    @property
    def dialect(self) -> str:
        return self._conn().dialect.name

    def _conn(self) -> sa.Connection:
        if self.connection is None:
            raise RuntimeError("repositories are only usable inside `with unit_of_work:`")
        return self.connection

    def execute(
        self, statement: sa.Executable, parameters: list[dict[str, Any]] | None = None
    ) -> sa.CursorResult[Any]:
        """Run ``statement``; a list of ``parameters`` runs it for each (executemany)."""
        conn = self._conn()
        with storage_errors(conn.engine.url):
            if parameters is not None:
                return conn.execute(statement, parameters)
            return conn.execute(statement)
