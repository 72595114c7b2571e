"""The gate screens: one per gate (tablet-sized), the photo check, the agent's call,
and the demonstration's "simulate a presentation"."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from seuil.domain.errors import ConflictError, NotFoundError
from seuil.domain.gate import DenyReason, GateMode
from seuil.domain.permissions import Permission
from seuil.services.accounts import Identity
from seuil.services.gate_desk import AGENT_DENY_REASONS
from seuil.web.auth import requires
from seuil.web.demo_view import presentation_choices
from seuil.web.gate_labels import reason_words
from seuil.web.gate_view import decision_view
from seuil.web.i18n import language, tr
from seuil.web.routes._forms import safe_next, see_other
from seuil.web.site_access import gate_of, runtime_of, site_of
from seuil.web.templating import render

P = Permission
router = APIRouter(include_in_schema=False)
RECENT = 12


@router.get("/gate")
def gate_list(request: Request, identity: Identity = requires(P.VIEW_GATE_SCREEN)) -> Response:
    return render(request, "gates.html", gates=runtime_of(request).gates)


def gate_health(request: Request, gate_id: str) -> dict[str, object]:
    health = runtime_of(request).gate_health
    if health is None:
        return {}
    try:
        return dict(health(gate_id))
    except Exception as error:  # a lane that cannot answer is itself a fact to show
        return {"state": "unknown", "error": type(error).__name__}


@router.get("/gate/{gate_id}")
def gate_screen(
    request: Request, gate_id: str, identity: Identity = requires(P.VIEW_GATE_SCREEN)
) -> Response:
    gate = gate_of(request, gate_id)
    site = site_of(request)
    runtime = runtime_of(request)
    lang = language(request)
    desk = site.gate_desk
    views = []
    for decision in desk.recent(gate_id, RECENT):
        holder = desk.who(decision.person_ref) if decision.person_ref else None
        views.append(decision_view(decision.to_dict(), lang, holder))
    # The person waiting for the agent's call: the newest decision that is not an
    # alert, if it asks for one. An alert raised meanwhile (a passage with no opening)
    # is shown on top but must not hide the pupil still waiting at the gate.
    waiting = next((v for v in views if not v["alert"]), None)
    if waiting is not None and not waiting["check"]:
        waiting = None
    demo = None
    if identity.can(P.MANAGE_DEVICES) and gate_id in runtime.presenters:
        demo = presentation_choices(request, identity)
    return render(
        request, "gate.html", gate=gate, latest=views[0] if views else None,
        recent=views, waiting=waiting,
        waiting_behind=waiting is not None and waiting is not views[0],
        ppms=site.ppms.current(), health=gate_health(request, gate_id),
        reasons=[(r.value, reason_words(r.value, lang)) for r in AGENT_DENY_REASONS],
        demo=demo, heightened=runtime.heightened() if runtime.heightened else False,
    )  # fmt: skip


@router.get("/gate/{gate_id}/photo/{ref}")
async def holder_photo(
    request: Request, gate_id: str, ref: str, identity: Identity = requires(P.VIEW_GATE_SCREEN)
) -> Response:
    """The enrolment photo for the visual check: decrypted here, never cached."""
    gate_of(request, gate_id)
    desk = site_of(request).gate_desk
    data = await run_in_threadpool(desk.photo, identity.account.username, ref, gate_id)
    if data is None:
        raise NotFoundError(tr(request, "Aucune photo d'enrôlement pour cette personne.",
                               "No enrolment photo for this person."))  # fmt: skip
    never = {"Cache-Control": "no-store, private", "Pragma": "no-cache"}
    return Response(data, media_type="image/jpeg", headers=never)


@router.post("/gate/{gate_id}/decide")
def agent_decision(
    request: Request, gate_id: str, action: str = Form(max_length=16),
    reason: str = Form("", max_length=32), note: str = Form("", max_length=500),
    credential_id: str = Form("", max_length=64), person_ref: str = Form("", max_length=64),
    identity: Identity = requires(P.DECIDE_AT_GATE),
) -> Response:  # fmt: skip
    gate = gate_of(request, gate_id)
    if action not in ("let_in", "refuse"):
        raise ConflictError("action: let_in ou refuse (let_in or refuse)")
    chosen = None
    if action == "refuse":
        try:
            chosen = DenyReason(reason)
        except ValueError:
            raise ConflictError(tr(request, "Choisissez le motif du refus.",
                                   "Choose the reason of the refusal.")) from None  # fmt: skip
    try:
        mode = GateMode(gate.mode)
    except ValueError:
        mode = GateMode.VERIFICATION
    site_of(request).gate_desk.settle(
        identity.account.username, gate_id, action == "let_in", reason=chosen, note=note,
        credential_id=credential_id or None, person_ref=person_ref or None, mode=mode,
    )  # fmt: skip
    return see_other(f"/gate/{gate_id}")


@router.post("/gate/{gate_id}/present")
def simulate_presentation(
    request: Request, gate_id: str, video: str = Form(max_length=200),
    credential: str = Form("", max_length=64), next: str = Form("", max_length=500),
    identity: Identity = requires(P.MANAGE_DEVICES),
) -> Response:  # fmt: skip
    """Demonstration: someone walks up to the gate's camera with a card (or none)."""
    gate_of(request, gate_id)
    runtime = runtime_of(request)
    present = runtime.presenters.get(gate_id)
    if present is None:
        raise ConflictError(tr(request, "Ce portique n'a pas de caméra de démonstration.",
                               "This gate has no demonstration camera."))  # fmt: skip
    if video not in runtime.videos_for(gate_id):
        raise ConflictError(tr(request, f"Vidéo inconnue : {video}", f"Unknown video: {video}"))
    text = None
    if credential:
        wallet = runtime.demo_wallet or {}
        text = wallet.get(credential)
        if text is None:
            raise ConflictError(tr(request, "Carte inconnue de la démonstration.",
                                   "Card unknown to the demonstration."))  # fmt: skip
    if not present(text, video):
        raise ConflictError(tr(request, "Le portique est occupé : réessayez dans un instant.",
                               "The gate is busy: try again in a moment."))  # fmt: skip
    return see_other(safe_next(next or f"/devices#gate-{gate_id}"))
