"""What the use cases queue for the regional hub, in their own unit of work.

Called right after the change is written (same transaction): an incident opened, each
new step of its history, a PPMS mode change. The bodies come from the protocol's
builders (the allow-list); people only as the outbox's pseudonyms; the free-text notes
and reasons stay on the site. Without a hub link the outbox is disabled: nothing is done.
"""

from __future__ import annotations

from seuil.domain.hub import (
    EventKind,
    incident_opened_body,
    incident_transition_body,
    ppms_mode_body,
)
from seuil.domain.incidents import Incident
from seuil.domain.ppms import PpmsState
from seuil.ports.hub_link import Outbox


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
