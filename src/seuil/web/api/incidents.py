"""/incidents (list, get, acknowledge, resolve), /ppms (get, set), /gate-events (list)."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request

from seuil.domain.incidents import IncidentStatus, IncidentType
from seuil.domain.permissions import Permission
from seuil.domain.ppms import PpmsMode, PpmsState
from seuil.ports.storage import IncidentQuery
from seuil.services.accounts import Identity
from seuil.services.incidents import incident_payload
from seuil.web.api.schemas import (
    GateEventOut,
    GateEventsPage,
    IncidentOut,
    IncidentsPage,
    PpmsChangeOut,
    PpmsIn,
    PpmsOut,
    ResolveIn,
)
from seuil.web.auth import requires
from seuil.web.live import redact
from seuil.web.site_access import site_of

P = Permission
router = APIRouter(tags=["incidents"])
Id = str


def _out(incident: object, identity: Identity) -> IncidentOut:
    return IncidentOut.model_validate(redact(incident_payload(incident), identity))  # type: ignore[arg-type]


def _ppms(state: PpmsState, identity: Identity) -> PpmsOut:
    names = identity.can(P.VIEW_PEOPLE)
    return PpmsOut(mode=state.mode.value, label=state.mode.label, since=state.since,
                   by=state.by if names else None, reason=state.reason or None)  # fmt: skip


@router.get("/incidents", response_model=IncidentsPage)
def list_incidents(
    request: Request, status: IncidentStatus | None = None, type: IncidentType | None = None,
    open_only: bool = Query(False, alias="open"),
    limit: int = Query(50, ge=1, le=200), offset: int = Query(0, ge=0, le=1_000_000),
    identity: Identity = requires(P.VIEW_INCIDENTS),
) -> IncidentsPage:  # fmt: skip
    """Newest first; ``open=true`` for every unresolved incident."""
    engine = site_of(request).incidents
    query = IncidentQuery(status=None if open_only else status, type=type, unresolved=open_only,
                          limit=limit, offset=offset)  # fmt: skip
    found = engine.search(query)
    return IncidentsPage(items=[_out(i, identity) for i in found], total=engine.count(query),
                         limit=limit, offset=offset)  # fmt: skip


@router.get("/incidents/{incident_id}", response_model=IncidentOut)
def get_incident(
    request: Request, incident_id: Id, identity: Identity = requires(P.VIEW_INCIDENTS)
) -> IncidentOut:
    return _out(site_of(request).incidents.get(incident_id), identity)


@router.post("/incidents/{incident_id}/acknowledge", response_model=IncidentOut)
def acknowledge_incident(
    request: Request, incident_id: Id, identity: Identity = requires(P.HANDLE_INCIDENTS)
) -> IncidentOut:
    incident = site_of(request).incidents.acknowledge(incident_id, identity.account.username)
    return _out(incident, identity)


@router.post("/incidents/{incident_id}/resolve", response_model=IncidentOut)
def resolve_incident(
    request: Request, incident_id: Id, body: ResolveIn,
    identity: Identity = requires(P.HANDLE_INCIDENTS),
) -> IncidentOut:  # fmt: skip
    engine = site_of(request).incidents
    return _out(engine.resolve(incident_id, identity.account.username, body.note.strip()),
                identity)  # fmt: skip


@router.get("/ppms", response_model=PpmsOut)
def get_ppms(request: Request, identity: Identity = requires(P.VIEW_INCIDENTS)) -> PpmsOut:
    return _ppms(site_of(request).ppms.current(), identity)


@router.put("/ppms", response_model=PpmsChangeOut)
def set_ppms(
    request: Request, body: PpmsIn, identity: Identity = requires(P.CONTROL_PPMS)
) -> PpmsChangeOut:
    """Enter confinement or evacuation (a reason is required), or end the alert."""
    from seuil.domain.errors import ConflictError

    ppms = site_of(request).ppms
    mode = PpmsMode(body.mode)
    actor = identity.account.username
    if mode is PpmsMode.NORMAL:
        change = ppms.end_alert(actor, body.reason.strip())
    else:
        if not body.reason.strip():
            raise ConflictError("a PPMS alert needs a reason (indiquez la raison)")
        change = ppms.enter(mode, actor, body.reason.strip())
    return PpmsChangeOut(state=_ppms(change.state, identity), changed=change.changed,
                         failed_doors=[f.door for f in change.failures])  # fmt: skip


@router.get("/gate-events", response_model=GateEventsPage)
def list_gate_events(
    request: Request, gate_id: str | None = Query(None, max_length=48),
    limit: int = Query(50, ge=1, le=500), offset: int = Query(0, ge=0, le=1_000_000),
    after: str | None = Query(None, max_length=64, pattern=r"^[0-9]+(\.-?[0-9]+)?$"),
    identity: Identity = requires(P.VIEW_GATE_SCREEN),
) -> GateEventsPage:  # fmt: skip
    """Gate decisions, newest first (people by pseudonymous reference only).

    Page with ``next`` -> ``after`` (keyset: a deep page costs what the first does, and
    no event is skipped or repeated while new ones arrive); ``offset`` still works for
    short jumps. ``total`` is counted on the first page only (a full count per page
    was the largest fixed cost on PostgreSQL)."""
    with site_of(request).reader() as uow:
        if after is not None or offset == 0:
            found, cursor = uow.gate_events.page(gate_id, limit, after)
        else:
            found = uow.gate_events.recent(gate_id, limit, offset)
            cursor = None
        total = uow.gate_events.count(gate_id) if after is None else None
    return GateEventsPage(items=[GateEventOut.of(d) for d in found], total=total, limit=limit,
                          offset=offset if after is None else 0, next=cursor)  # fmt: skip
