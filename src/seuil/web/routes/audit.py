"""The audit trail: a filterable list, and the chain verification result."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from seuil.domain.audit_actions import AuditAction
from seuil.domain.permissions import Permission
from seuil.services.accounts import Identity
from seuil.web.audit_view import read_audit, verify
from seuil.web.auth import requires
from seuil.web.routes.people import site_of
from seuil.web.templating import render

P = Permission
router = APIRouter(include_in_schema=False)


@router.get("/audit")
def audit_page(
    request: Request, action: str = "", actor: str = "", target: str = "", limit: int = 200,
    identity: Identity = requires(P.VIEW_AUDIT),
) -> Response:  # fmt: skip
    site = site_of(request)
    entries = read_audit(site, identity.account.username, action=action, actor=actor,
                         target=target, limit=limit)  # fmt: skip
    return render(request, "audit.html", entries=entries, action=action, actor=actor,
                  target=target, limit=limit, verdict=None, anchors=None,
                  actions=list(AuditAction))  # fmt: skip


@router.get("/audit/verify")
def audit_verify(request: Request, identity: Identity = requires(P.VIEW_AUDIT)) -> Response:
    verdict, anchors = verify(site_of(request), identity.account.username)
    return render(request, "audit.html", entries=[], action="", actor="", target="", limit=200,
                  verdict=verdict, anchors=anchors, actions=list(AuditAction))  # fmt: skip
