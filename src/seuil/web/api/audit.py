"""/audit: the latest entries (filterable) and the chain verification."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request

from seuil.domain.permissions import Permission
from seuil.services.accounts import Identity
from seuil.web.api.schemas import AnchorsOut, AuditEntryOut, AuditVerifyOut
from seuil.web.audit_view import read_audit, verify
from seuil.web.auth import requires
from seuil.web.routes.people import site_of

P = Permission
router = APIRouter(tags=["audit"])


@router.get("/audit", response_model=list[AuditEntryOut])
def list_audit(
    request: Request, action: str = Query("", max_length=100),
    actor: str = Query("", max_length=100), target: str = Query("", max_length=100),
    limit: int = Query(100, ge=1, le=1000), identity: Identity = requires(P.VIEW_AUDIT),
) -> list[AuditEntryOut]:  # fmt: skip
    entries = read_audit(site_of(request), identity.account.username, action=action,
                         actor=actor, target=target, limit=limit)  # fmt: skip
    return [AuditEntryOut.of(e) for e in entries]


@router.get("/audit/verify", response_model=AuditVerifyOut)
def verify_chain(request: Request, identity: Identity = requires(P.VIEW_AUDIT)) -> AuditVerifyOut:
    v, a = verify(site_of(request), identity.account.username)
    anchors = None
    if a is not None:
        anchors = AnchorsOut(checked=a.checked, purged=a.purged, rewritten_seq=a.rewritten_seq,
                             purged_too_early=a.purged_too_early,
                             unavailable=a.unavailable)  # fmt: skip
    return AuditVerifyOut(ok=v.ok and not (a and a.rewritten), entries=v.entries,
                          first_bad_seq=v.first_bad_seq, problem=v.problem,
                          anchors=anchors)  # fmt: skip
