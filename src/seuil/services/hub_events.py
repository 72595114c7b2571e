"""What the use cases queue for the regional hub, in their own unit of work.

Called right after the change is written (same transaction): an incident opened, each
new step of its history, a PPMS mode change; and the audit chain's head (its anchor,
kept off the site so a rewritten chain shows), read in the transaction that queues it.
The bodies come from the protocol's builders (the allow-list); people only as the
outbox's pseudonyms; the free-text notes and reasons stay on the site. Without a hub
link the outbox is disabled: nothing is done.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from seuil.domain.devices import Device, DeviceKind
from seuil.domain.hub import (
    Envelope,
    EventKind,
    audit_anchor_body,
    device_health_body,
    incident_opened_body,
    incident_transition_body,
    ppms_mode_body,
)
from seuil.domain.incidents import Incident
from seuil.domain.ppms import PpmsState
from seuil.ports.hub_link import Outbox
from seuil.ports.storage import AuditLog


def report_incident(outbox: Outbox, before: Incident | None, after: Incident) -> None:
    """Queue the opening (when ``before`` is None) and every transition ``after`` has
    that ``before`` had not."""
    if not outbox.enabled:
        return
    if before is None:
        outbox.add(EventKind.INCIDENT_OPENED, after.opened_at, incident_opened_body(after))
    known = 1 if before is None else len(before.history)
    for step in after.history[known:]:
        body = incident_transition_body(after, step, outbox.pseudonym)
        outbox.add(EventKind.INCIDENT_TRANSITION, step.at, body)


def report_mode(outbox: Outbox, before: PpmsState, after: PpmsState) -> None:
    if not outbox.enabled or before.mode is after.mode:
        return
    body = ppms_mode_body(after.mode.value, before.mode.value, after.by, outbox.pseudonym)
    outbox.add(EventKind.PPMS_MODE, after.since, body)


def report_audit_anchor(
    outbox: Outbox, audit: AuditLog, at: datetime, unless_seq: int | None = None
) -> Envelope | None:
    """Queue the audit chain's head (seq, hash, entries kept): hashes and a count only.

    Nothing is queued when the head is still at ``unless_seq`` (the last one sent: a
    quiet night adds nothing to anchor)."""
    if not outbox.enabled:
        return None
    head = audit.head()
    if unless_seq is not None and head.seq == unless_seq:
        return None
    return outbox.add(EventKind.AUDIT_ANCHOR, at,
                      audit_anchor_body(head.seq, head.hash, head.entries, at))  # fmt: skip


def device_health(devices: Iterable[Device]) -> dict[str, Any]:
    """The site's device health for the board: cameras online out of total (a camera is
    online unless reported silent or faulty), alarm panels and the silent ones."""
    cameras = [d for d in devices if d.kind is DeviceKind.CAMERA]
    panels = [d for d in devices if d.kind is DeviceKind.ALARM_PANEL]
    online = sum(1 for d in cameras if d.silent_since is None and not d.health)
    silent = [d.id[:64] for d in panels if d.silent_since is not None][:500]
    return device_health_body(online, len(cameras), len(panels), silent)
