"""The 1:N gallery of an identification gate (opt-in, impact assessment required).

Only *site database* templates of people whose biometric consent is in force are
loaded; they are decrypted with the site key into one in-memory matrix (never written
anywhere). The matrix is reloaded when a credential was revoked since it was loaded
(a departure, an exclusion, a consent withdrawal all revoke), when :meth:`invalidate`
is called (a template erased or enrolled in this process), and at most ``max_age_s``
after the last load (new enrolments). Whatever the cache says, :meth:`confirm` checks
the best candidate again in the database before any decision: person admitted,
consent in force, template still there, a credential valid now. A stale cache can
therefore delay a new enrolment, never admit someone revoked.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt

from seuil.domain.consent import biometrics_allowed
from seuil.domain.credentials import CheckResult, TemplateStorage
from seuil.domain.errors import DecryptionError
from seuil.ports.clock import Clock
from seuil.ports.crypto import BlobCipher
from seuil.ports.storage import UnitOfWork
from seuil.services.credentials import CredentialCheck
from seuil.services.enrolment import TEMPLATE

__all__ = ["Candidates", "IdentificationGallery"]

logger = logging.getLogger(__name__)

Matrix = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class Candidates:
    """The best two gallery scores for a probe (``best_ref`` None: empty gallery)."""

    best_ref: str | None
    best: float
    second: float  # -1.0 when the gallery holds fewer than two templates

    @property
    def margin(self) -> float:
        return self.best - self.second


class IdentificationGallery:
    def __init__(
        self,
        reader: Callable[[], UnitOfWork],
        cipher: BlobCipher,
        clock: Clock,
        *,
        max_age_s: float = 60.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._read = reader
        self._cipher = cipher
        self._clock = clock
        self.max_age_s = max_age_s
        self._now = monotonic
        self._lock = threading.Lock()
        self._refs: list[str] = []
        self._matrix: Matrix | None = None
        self._loaded_at: datetime | None = None
        self._loaded_mono = 0.0
        self._known_revocations: set[tuple[str, datetime]] = set()
        self._stale = True
        self.loads = 0  # how many times the gallery was (re)loaded

    def invalidate(self) -> None:
        """Reload before the next search (call after an erasure or an enrolment)."""
        self._stale = True

    @property
    def size(self) -> int:
        return len(self._refs)

    def load_matrix(self, refs: list[str], matrix: Matrix) -> None:
        """Install a prepared gallery (benchmarks, tests); rows must be unit length."""
        with self._lock:
            self._install(refs, matrix)

    def search(self, probe: npt.ArrayLike) -> Candidates:
        """The two best cosine scores of a unit-length probe against the gallery."""
        with self._lock:
            self._refresh_if_needed()
            matrix, refs = self._matrix, self._refs
        vector = np.asarray(probe, dtype=np.float32).ravel()
        if matrix is None or not refs:
            return Candidates(None, -1.0, -1.0)
        if vector.shape[0] != matrix.shape[1]:
            raise ValueError(f"probe of {vector.shape[0]} numbers, gallery of {matrix.shape[1]}")
        scores = matrix @ vector
        if len(refs) == 1:
            return Candidates(refs[0], float(scores[0]), -1.0)
        top = np.argpartition(scores, -2)[-2:]
        first, second = (top[0], top[1]) if scores[top[0]] >= scores[top[1]] else (top[1], top[0])
        return Candidates(refs[int(first)], float(scores[first]), float(scores[second]))

    def confirm(self, person_ref: str) -> CredentialCheck:
        """The identified person checked again now: the decision rests on this, not the cache."""
        now = self._clock.now()
        with self._read() as uow:
            person = uow.people.get(person_ref)
            if person is None or not person.status.admits:
                return CredentialCheck(CheckResult.PERSON_INACTIVE)
            stored = uow.templates.get(person_ref)
            if (
                stored is None
                or stored.storage is not TemplateStorage.SITE_DATABASE
                or not biometrics_allowed(uow.consents.history(person_ref))
            ):
                self._stale = True
                return CredentialCheck(CheckResult.REVOKED)
            results = []
            for credential in uow.credentials.for_person(person_ref):
                window = credential.check_window(now)
                if window is CheckResult.VALID:
                    return CredentialCheck(
                        CheckResult.VALID, credential.id, person, TemplateStorage.SITE_DATABASE
                    )
                results.append(window)
        # No credential in force: the strictest reason seen (revoked before expired).
        for reason in (CheckResult.REVOKED, CheckResult.EXPIRED, CheckResult.NOT_YET_VALID):
            if reason in results:
                return CredentialCheck(reason)
        return CredentialCheck(CheckResult.REVOKED)

    # -- loading ------------------------------------------------------------------------
    def _refresh_if_needed(self) -> None:
        if self._stale or self._matrix is None:
            self._load()
            return
        if self._now() - self._loaded_mono >= self.max_age_s:
            self._load()
            return
        with self._read() as uow:
            revoked = set(uow.credentials.revoked_since(self._loaded_at))
        if revoked - self._known_revocations:
            self._load()

    def _load(self) -> None:
        loaded_at = self._clock.now()
        refs: list[str] = []
        rows: list[Matrix] = []
        with self._read() as uow:
            known = set(uow.credentials.revoked_since(loaded_at))
            for stored in uow.templates.all_site_templates():
                if stored.storage is not TemplateStorage.SITE_DATABASE:
                    continue
                ref = stored.person_ref
                person = uow.people.get(ref)
                if person is None or not person.status.admits:
                    continue
                if not biometrics_allowed(uow.consents.history(ref)):
                    continue
                try:
                    data = self._cipher.open(stored.blob, ref, TEMPLATE, None)
                except DecryptionError:
                    logger.warning("a site template cannot be opened; left out of the gallery")
                    continue
                rows.append(np.frombuffer(data, dtype="<f4").astype(np.float32))
                refs.append(ref)
        dims = {r.shape[0] for r in rows}
        if len(dims) > 1:
            raise ValueError("site templates of different sizes cannot share a gallery")
        matrix = np.stack(rows) if rows else np.zeros((0, 0), np.float32)
        if rows:
            matrix = matrix / np.linalg.norm(matrix, axis=1, keepdims=True)
        self._install(refs, matrix.astype(np.float32))
        self._loaded_at = loaded_at
        self._known_revocations = known
        logger.info("identification gallery loaded: %d template(s)", len(refs))

    def _install(self, refs: list[str], matrix: Matrix) -> None:
        if matrix.shape[0] != len(refs):
            raise ValueError("one template row per person reference")
        self._refs = list(refs)
        self._matrix = np.ascontiguousarray(matrix, dtype=np.float32)
        self._loaded_mono = self._now()
        self._loaded_at = self._loaded_at or self._clock.now()
        self._stale = False
        self.loads += 1
