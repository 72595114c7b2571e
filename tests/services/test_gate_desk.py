"""The gate desk on both back-ends: the pipeline's sink (stored, published, incident
signal), the agent's call (event + audit), the audited photo read, paged gate events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from seuil.bootstrap import Site, build_gate_feed
from seuil.domain.errors import ConflictError
from seuil.domain.gate import Decision, DenyReason, GateDecision, ReferReason
from seuil.domain.incidents import IncidentType
from seuil.domain.people import PersonKind
from seuil.ports.storage import IncidentQuery
from seuil.services.enrolment import PHOTO

AT = datetime(2025, 10, 6, 8, 0, tzinfo=UTC)


def _person_with_photo(site: Site) -> str:
    person = site.people.create("cpe", PersonKind.PUPIL, "Martin", "Léa", group="2NDE1")
    with site.uow() as uow:
        uow.photos.put(person.ref, site.cipher.seal(b"\xff\xd8jpeg", person.ref, PHOTO), AT)
        uow.commit()
    return person.ref


def test_feed_stores_publishes_and_raises_the_incident_signal(site: Site) -> None:
    desk = build_gate_feed(site, site.incidents)
    seen: list[tuple[str, dict[str, object]]] = []
    site.bus.listen(lambda topic, payload: seen.append((topic, dict(payload))))
    ref = _person_with_photo(site)
    desk.feed(GateDecision("entree", AT, Decision.GRANT, person_ref=ref, credential_id="c1"))
    desk.feed(GateDecision("entree", AT + timedelta(seconds=5), Decision.DENY,
                           DenyReason.REVOKED, credential_id="c2"))  # fmt: skip
    gate_topics = [(t, p["decision"]) for t, p in seen if t == "gate.decision"]
    assert gate_topics == [("gate.decision", "grant"), ("gate.decision", "deny")]
    assert all("name" not in p and "photo" not in p for _, p in seen)
    with site.reader() as uow:
        assert [d.decision for d in uow.gate_events.recent("entree")] == [
            Decision.DENY, Decision.GRANT]  # fmt: skip
    opened = site.incidents.search(IncidentQuery(unresolved=True))
    assert [i.type for i in opened] == [IncidentType.DENY_REVOKED]  # the GRANT raised none


def test_agent_call_is_an_event_and_an_audit_entry(site: Site) -> None:
    ref = _person_with_photo(site)
    desk = site.gate_desk
    desk.feed(GateDecision("entree", AT, Decision.REFER, ReferReason.NON_BIOMETRIC,
                           person_ref=ref, credential_id="c1"))  # fmt: skip
    with pytest.raises(ConflictError):
        desk.settle("agent", "entree", False)  # a refusal needs a reason
    with pytest.raises(ConflictError):
        desk.settle("agent", "entree", False, reason=DenyReason.FORGED)  # not the agent's
    settled = desk.settle("agent", "entree", True, note="vu", credential_id="c1", person_ref=ref)
    assert settled.decision is Decision.GRANT and settled.decided_by == "agent"
    with site.reader() as uow:
        assert uow.gate_events.count("entree") == 2  # the two refusals stored nothing
        assert [d.decided_by for d in uow.gate_events.recent("entree")] == ["agent", "system"]
        entries = [e for e in uow.audit.entries() if e.action == "gate.settle"]
    assert [(e.actor, e.target, e.reason) for e in entries] == [("agent", ref, "vu")]


def test_photo_read_is_audited_and_holder_known(site: Site) -> None:
    ref = _person_with_photo(site)
    desk = site.gate_desk
    assert desk.photo("agent", ref, "entree") == b"\xff\xd8jpeg"
    holder = desk.who(ref)
    assert holder is not None and holder.has_photo and holder.group == "2NDE1"
    assert desk.who("P-NOBODY") is None
    assert desk.photo("agent", "P-NOBODY", "entree") is None
    with site.reader() as uow:
        reads = [e for e in uow.audit.entries() if e.action == "photo.read"]
    assert [(e.actor, e.target) for e in reads] == [("agent", ref), ("agent", "P-NOBODY")]


def test_gate_events_pages(site: Site) -> None:
    desk = site.gate_desk
    for n in range(7):
        desk.feed(GateDecision("a" if n % 2 else "b", AT + timedelta(seconds=n), Decision.GRANT))
    with site.reader() as uow:
        assert uow.gate_events.count() == 7 and uow.gate_events.count("a") == 3
        first = uow.gate_events.recent(None, 3, 0)
        second = uow.gate_events.recent(None, 3, 3)
        by_gate = uow.gate_events.recent("b", 2, 1)
    assert [d.at.second for d in first + second] == [6, 5, 4, 3, 2, 1]
    assert [d.at.second for d in by_gate] == [4, 2]
