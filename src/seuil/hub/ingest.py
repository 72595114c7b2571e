"""Ingestion: a site's batch of events, stored exactly once per (site, seq).

Order of checks, each refusal logged (site, client, reason; never a body) and nothing
stored: the site's credential (unknown site, wrong or revoked token: 401), the batch's
shape and size (422), every event through the protocol's allow-list (422), events of
another site (403), a sequence number already stored under another idempotency key
(409). Then, in one transaction holding the site's row lock: new events inserted,
replays (same seq, same key) acknowledged again without storing, the board's
projections updated (each remembers the seq it came from, so reordered batches never
roll the state back), the site's contiguous high-water mark advanced, and the
messages for the site taken along in the answer.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from seuil.domain.accounts import secret_digest
from seuil.domain.errors import DataFormatError
from seuil.domain.hub import (
    MAX_BATCH_EVENTS,
    MAX_SEQ,
    AnchoredHead,
    Envelope,
    EventKind,
    HubMessage,
)
from seuil.hub.model import (
    BatchFormatError,
    ForeignEventsError,
    SequenceConflictError,
    SiteCredentialError,
)
from seuil.hub.service import TOPIC_BOARD, TOPIC_INCIDENT, TOPIC_PPMS, Publish
from seuil.hub.uow import HubUnitOfWork
from seuil.ports.clock import Clock

logger = logging.getLogger(__name__)

_REFUSED = "identifiant de site ou jeton refusé (site credential refused)"
_INCIDENT_KINDS = (EventKind.INCIDENT_OPENED, EventKind.INCIDENT_TRANSITION)


@dataclass(frozen=True, slots=True)
class IngestResult:
    accepted: list[int]  # stored now
    duplicates: list[int]  # already stored (same key): a replay
    high_water: int  # every seq up to this one is stored
    messages: list[HubMessage]

    def to_wire(self) -> dict[str, Any]:
        return {
            "accepted": len(self.accepted),
            "duplicates": len(self.duplicates),
            "acked": sorted(self.accepted + self.duplicates),
            "high_water": self.high_water,
            "messages": [m.to_wire() for m in self.messages],
        }


class HubIngest:
    def __init__(
        self, uow: Callable[[], HubUnitOfWork], clock: Clock, publish: Publish | None = None
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._publish = publish

    def authenticate(self, site_id: str, token: str, client: str = "") -> None:
        with self._uow() as uow:
            self._check(uow, site_id, token, client, lock=False)

    def _check(
        self, uow: HubUnitOfWork, site_id: str, token: str, client: str, *, lock: bool
    ) -> None:
        stored = uow.hub.site_credential(site_id, lock=lock) if len(site_id) <= 32 else None
        digest = secret_digest(token or "-")
        if stored is None or not hmac.compare_digest(stored[0], digest):
            logger.warning("hub ingest refused: bad credential for site %r from %s",
                           site_id[:32], client)  # fmt: skip
            raise SiteCredentialError(_REFUSED)
        if stored[1]:
            logger.warning("hub ingest refused: revoked credential of site %s from %s",
                           site_id, client)  # fmt: skip
            raise SiteCredentialError(_REFUSED)

    def messages(self, site_id: str, token: str, after: int, client: str = "") -> list[HubMessage]:
        with self._uow() as uow:
            self._check(uow, site_id, token, client, lock=False)
            found = uow.hub.messages_for(site_id, after)
            uow.hub.touch_site(site_id, self._clock.now())
            uow.commit()
        return found

    def anchors(
        self, site_id: str, token: str, after: int, limit: int, client: str = ""
    ) -> list[AnchoredHead]:
        """The site's own audit anchors (its token; never another site's)."""
        with self._uow() as uow:
            self._check(uow, site_id, token, client, lock=False)
            return uow.hub.anchors_of(site_id, after, limit)

    def ingest(self, site_id: str, token: str, payload: Any, client: str = "") -> IngestResult:
        self.authenticate(site_id, token, client)
        try:
            envelopes, after = _parse(site_id, payload)
        except (DataFormatError, ForeignEventsError) as exc:
            logger.warning("hub ingest refused for site %s from %s: %s", site_id, client,
                           exc.message)  # fmt: skip
            raise
        now = self._clock.now()
        with self._uow() as uow:
            self._check(uow, site_id, token, client, lock=True)  # serialises the site
            known = uow.hub.known_keys(site_id, [e.seq for e in envelopes])
            clashes = [e.seq for e in envelopes if e.seq in known and known[e.seq] != e.key]
            if clashes:
                logger.error("hub ingest refused for site %s: seq %s already stored with "
                             "another idempotency key", site_id, clashes[:5])  # fmt: skip
                raise SequenceConflictError(
                    f"numéros de séquence déjà reçus avec une autre clé (sequence numbers "
                    f"already stored under another key): {clashes[:10]}"
                )
            new = [e for e in envelopes if e.seq not in known]
            uow.hub.insert_events(new, now)
            _project(uow, new, now)
            site = uow.hub.get_site(site_id)
            high_water = site.high_water if site else 0
            for seq in uow.hub.seqs_above(site_id, high_water):
                if seq != high_water + 1:
                    break
                high_water = seq
            uow.hub.record_contact(site_id, now, high_water, len(new))
            messages = uow.hub.messages_for(site_id, after)
            uow.commit()
        if self._publish is not None:
            for topic, change in _changes(site_id, new):
                self._publish(topic, change)
        return IngestResult(
            accepted=[e.seq for e in new],
            duplicates=[e.seq for e in envelopes if e.seq in known],
            high_water=high_water,
            messages=messages,
        )


def _parse(site_id: str, payload: Any) -> tuple[list[Envelope], int]:
    if not isinstance(payload, dict):
        raise BatchFormatError("un lot est un objet JSON (a batch is a JSON object)")
    extra = set(payload) - {"site", "events", "messages_after"}
    if extra:
        raise BatchFormatError(f"champ inconnu (unknown field) {sorted(extra)[0]!r}")
    if payload.get("site") != site_id:
        raise ForeignEventsError("ce lot est celui d'un autre site (a batch of another site)")
    events = payload.get("events")
    if not isinstance(events, list) or not events:
        raise BatchFormatError("events : une liste non vide (a non-empty list)")
    if len(events) > MAX_BATCH_EVENTS:
        raise BatchFormatError(f"au plus {MAX_BATCH_EVENTS} événements par lot (at most "
                               f"{MAX_BATCH_EVENTS} events per batch)")  # fmt: skip
    after = payload.get("messages_after", 0)
    if isinstance(after, bool) or not isinstance(after, int) or not 0 <= after <= MAX_SEQ:
        raise BatchFormatError("messages_after : un entier positif (a non-negative integer)")
    envelopes: list[Envelope] = []
    for index, raw in enumerate(events):
        try:
            envelopes.append(Envelope.from_wire(raw))
        except DataFormatError as exc:
            raise BatchFormatError(f"événement {index} (event {index}) : {exc.message}") from None
    foreign = [e.site for e in envelopes if e.site != site_id]
    if foreign:
        raise ForeignEventsError(
            f"événements d'un autre site refusés (events of another site refused): {foreign[0]}"
        )
    keys: dict[int, str] = {}
    for env in envelopes:
        if keys.setdefault(env.seq, env.key) != env.key:
            raise BatchFormatError(f"seq {env.seq} deux fois avec deux clés (twice, two keys)")
    unique = {env.seq: env for env in envelopes}
    return sorted(unique.values(), key=lambda e: e.seq), after


def _project(uow: HubUnitOfWork, new: list[Envelope], now: Any) -> None:
    """Update the board from a batch: the site's state from the latest event of each
    kind, each incident from its events in order (one or two statements per incident,
    not one per event: a batch is mostly counts and heartbeats)."""
    latest: dict[EventKind, Envelope] = {}
    incidents: dict[str, list[Envelope]] = {}
    anchors: list[AnchoredHead] = []
    for env in new:  # in seq order
        if env.kind is EventKind.AUDIT_ANCHOR:
            anchors.append(AnchoredHead.of(env))
        elif env.kind in _INCIDENT_KINDS:
            incidents.setdefault(env.body["incident_id"], []).append(env)
        elif env.kind in (EventKind.PPMS_MODE, EventKind.DEVICE_HEALTH, EventKind.HEARTBEAT):
            latest[env.kind] = env
    for steps in incidents.values():
        opening = [e for e in steps if e.kind is EventKind.INCIDENT_OPENED]
        if opening and opening[0] is not steps[-1]:
            uow.hub.project_incident(opening[0], now)
        uow.hub.project_incident(steps[-1], now)
    if EventKind.PPMS_MODE in latest:
        uow.hub.project_mode(latest[EventKind.PPMS_MODE])
    if EventKind.DEVICE_HEALTH in latest:
        uow.hub.project_health(latest[EventKind.DEVICE_HEALTH])
    if EventKind.HEARTBEAT in latest:
        uow.hub.project_heartbeat(latest[EventKind.HEARTBEAT])
    if anchors:
        uow.hub.insert_anchors(new[0].site, anchors, now)


def _changes(site_id: str, new: list[Envelope]) -> list[tuple[str, Mapping[str, object]]]:
    """What the live pages must hear about a stored batch: each incident that moved
    (once), a PPMS mode, a change of devices' health. Counts and heartbeats are not
    announced (they change no line of the board but the link's, which the pages'
    slow refresh shows)."""
    out: list[tuple[str, Mapping[str, object]]] = []
    seen: set[str] = set()
    for env in reversed(new):  # the latest step of each incident
        if env.kind in _INCIDENT_KINDS and env.body["incident_id"] not in seen:
            seen.add(env.body["incident_id"])
            out.append((TOPIC_INCIDENT, {"site": site_id, "incident_id": env.body["incident_id"],
                                         "change": "site", "seq": env.seq}))  # fmt: skip
    out.reverse()
    kinds = {env.kind for env in new}
    if EventKind.PPMS_MODE in kinds:
        out.append((TOPIC_PPMS, {"site": site_id, "change": "mode"}))
    if EventKind.DEVICE_HEALTH in kinds:
        out.append((TOPIC_BOARD, {"site": site_id, "change": "health"}))
    return out
